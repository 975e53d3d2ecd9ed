import { DATA_ACTIONS, findRole, rolesGrant } from "../../lib/iothub/dataPlaneRoles";
import { routeDataActions } from "../../local-hub/authentication/routeDataActions";
import { createServiceRoutes } from "../../local-hub/handlers";
import { createMethodRoutes } from "../../local-hub/handlers/methods";
import type { MethodInvoker } from "../../local-hub/handlers/methods";
import type { ConfigurationStore } from "../../local-hub/persistence/configurationStore";
import type { IdentityStore } from "../../local-hub/persistence/identityStore";

/** Every service-API operation's data action, as an Entra principal needs it (the handlers are never called). */
describe("the data actions of the service API's routes", () => {
  const routes = [
    ...createServiceRoutes({
      store: {} as IdentityStore,
      configurations: {} as ConfigurationStore,
      hostName: "hub.example",
    }),
    ...createMethodRoutes({} as MethodInvoker),
  ];
  const actionsOf = (method: string, pattern: string) => {
    const route = routes.find((r) => r.method === method && r.pattern === pattern);
    if (!route) throw new Error(`no route ${method} ${pattern}`);
    return routeDataActions(route);
  };

  it("maps each operation to IoT Hub's data action", () => {
    expect(actionsOf("PUT", "/devices/:deviceId")).toEqual([DATA_ACTIONS.devicesWrite]);
    expect(actionsOf("GET", "/devices/:deviceId")).toEqual([DATA_ACTIONS.devicesRead]);
    expect(actionsOf("DELETE", "/devices/:deviceId")).toEqual([DATA_ACTIONS.devicesDelete]);
    expect(actionsOf("GET", "/devices")).toEqual([DATA_ACTIONS.devicesRead]);
    expect(actionsOf("PUT", "/devices/:deviceId/modules/:moduleId")).toEqual([DATA_ACTIONS.devicesWrite]);
    expect(actionsOf("DELETE", "/devices/:deviceId/modules/:moduleId")).toEqual([DATA_ACTIONS.devicesDelete]);
    expect(actionsOf("GET", "/twins/:deviceId")).toEqual([DATA_ACTIONS.twinsRead]);
    expect(actionsOf("PATCH", "/twins/:deviceId/modules/:moduleId")).toEqual([DATA_ACTIONS.twinsWrite]);
    expect(actionsOf("PUT", "/twins/:deviceId")).toEqual([DATA_ACTIONS.twinsWrite]);
    expect(actionsOf("POST", "/devices")).toEqual([DATA_ACTIONS.devicesWrite, DATA_ACTIONS.devicesDelete]);
    expect(actionsOf("POST", "/devices/query")).toEqual([DATA_ACTIONS.twinsRead]);
    expect(actionsOf("GET", "/statistics/devices")).toEqual([DATA_ACTIONS.statisticsRead]);
    expect(actionsOf("PUT", "/configurations/:id")).toEqual([DATA_ACTIONS.configurationsWrite]);
    expect(actionsOf("POST", "/configurations/testQueries")).toEqual([
      DATA_ACTIONS.configurationsTestQueries,
    ]);
    expect(actionsOf("POST", "/devices/:deviceId/applyConfigurationContent")).toEqual([
      DATA_ACTIONS.configurationsApplyToEdgeDevice,
    ]);
    expect(actionsOf("POST", "/twins/:deviceId/methods")).toEqual([DATA_ACTIONS.directMethodsInvoke]);
  });

  it("gives every route a data action that IoT Hub Data Contributor grants, and no route none", () => {
    const contributor = findRole("IoT Hub Data Contributor")!;
    for (const route of routes) {
      const actions = routeDataActions(route);
      const name = `${route.method} ${route.pattern}`;
      expect([name, (actions ?? []).length > 0]).toEqual([name, true]);
      for (const action of actions!) expect(rolesGrant([contributor], action)).toBe(true);
    }
  });

  it("lets no principal call a route that takes the device right", () => {
    expect(routeDataActions({ method: "GET", right: "DeviceConnect" })).toBeUndefined();
  });
});
