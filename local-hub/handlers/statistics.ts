import { DATA_ACTIONS } from "../../lib/iothub/dataPlaneRoles";
import type { IdentityStore } from "../persistence/identityStore";
import type { Route } from "./route";

/** GET /statistics/devices: {totalDeviceCount, enabledDeviceCount, disabledDeviceCount}. */
export function statisticsRoutes(store: IdentityStore): Route[] {
  return [
    {
      method: "GET",
      pattern: "/statistics/devices",
      right: "RegistryRead",
      dataActions: [DATA_ACTIONS.statisticsRead],
      operationClass: "statistics",
      handle: () => ({ status: 200, body: store.statistics() }),
    },
  ];
}
