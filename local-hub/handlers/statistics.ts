import type { IdentityStore } from "../persistence/identityStore";
import type { Route } from "./route";

/** GET /statistics/devices: {totalDeviceCount, enabledDeviceCount, disabledDeviceCount}. */
export function statisticsRoutes(store: IdentityStore): Route[] {
  return [
    {
      method: "GET",
      pattern: "/statistics/devices",
      right: "RegistryRead",
      operationClass: "statistics",
      handle: () => ({ status: 200, body: store.statistics() }),
    },
  ];
}
