import { DATA_ACTIONS, type DataAction } from "../../lib/iothub/dataPlaneRoles";
import type { Route } from "../handlers/route";

/**
 * The data actions a route needs of an Entra principal: what it declares (`dataActions`), else what its shared
 * access right and method say. RegistryRead reads identities, RegistryWrite writes them (DELETE deletes them),
 * ServiceConnect reads (GET) or writes twins. Routes whose right says too little (configurations, query,
 * statistics, direct methods, bulk) declare theirs. Undefined: no principal may call the route.
 */
export function routeDataActions(
  route: Pick<Route, "method" | "right" | "dataActions">,
): readonly DataAction[] | undefined {
  if (route.dataActions) return route.dataActions;
  switch (route.right) {
    case "RegistryRead":
      return [DATA_ACTIONS.devicesRead];
    case "RegistryWrite":
      return [route.method === "DELETE" ? DATA_ACTIONS.devicesDelete : DATA_ACTIONS.devicesWrite];
    case "ServiceConnect":
      return [route.method === "GET" ? DATA_ACTIONS.twinsRead : DATA_ACTIONS.twinsWrite];
    case "DeviceConnect":
      // The device API's right: devices never use Entra, so no data action stands for it and no principal has it.
      return undefined;
  }
}
