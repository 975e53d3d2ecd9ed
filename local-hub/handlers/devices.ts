import { deviceNotFound } from "../errors/iotHubError";
import type { IdentityStore } from "../persistence/identityStore";
import type { Route } from "./route";

/** Device identities: PUT (create or replace), GET, DELETE, and the list (GET /devices/, at most 1,000). */
export function deviceRoutes(store: IdentityStore): Route[] {
  return [
    {
      method: "PUT",
      pattern: "/devices/:deviceId",
      right: "RegistryWrite",
      operationClass: "registry",
      handle: (request) => ({
        status: 200,
        body: store.putDevice(request.params.deviceId, request.body, request.headers["if-match"]),
      }),
    },
    {
      method: "GET",
      pattern: "/devices/:deviceId",
      right: "RegistryRead",
      operationClass: "registry",
      handle: (request) => {
        const device = store.getDevice(request.params.deviceId);
        if (!device) throw deviceNotFound(request.params.deviceId);
        return { status: 200, body: device };
      },
    },
    {
      method: "DELETE",
      pattern: "/devices/:deviceId",
      right: "RegistryWrite",
      operationClass: "registry",
      handle: (request) => {
        store.deleteDevice(request.params.deviceId, request.headers["if-match"]);
        return { status: 204 };
      },
    },
    {
      method: "GET",
      pattern: "/devices",
      right: "RegistryRead",
      operationClass: "registry",
      handle: (request) => {
        const top = Number(request.query.get("top") ?? 1000);
        return { status: 200, body: store.listDevices(Number.isInteger(top) ? top : 1000) };
      },
    },
  ];
}
