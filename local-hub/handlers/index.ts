import type { IdentityStore } from "../persistence/identityStore";
import { bulkRoutes } from "./bulk";
import { deviceRoutes } from "./devices";
import { moduleRoutes } from "./modules";
import { queryRoutes } from "./query";
import type { Route } from "./route";
import { statisticsRoutes } from "./statistics";
import { twinRoutes } from "./twins";

export interface ServiceDeps {
  /** The hub's one identity store (it announces changes on the hub's event bus); the device API shares it. */
  store: IdentityStore;
  hostName: string;
}

/** The service API's registry, twin, bulk, query and statistics operations on one identity store. */
export function createServiceRoutes({ store }: ServiceDeps): Route[] {
  return [
    ...deviceRoutes(store),
    ...moduleRoutes(store),
    ...twinRoutes(store),
    ...bulkRoutes(store),
    ...queryRoutes(store),
    ...statisticsRoutes(store),
  ];
}
