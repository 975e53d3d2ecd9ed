import type { Database } from "better-sqlite3";
import type { HubEvents } from "../events";
import { IdentityStore } from "../persistence/identityStore";
import { bulkRoutes } from "./bulk";
import { deviceRoutes } from "./devices";
import { moduleRoutes } from "./modules";
import { queryRoutes } from "./query";
import type { Route } from "./route";
import { statisticsRoutes } from "./statistics";
import { twinRoutes } from "./twins";

export interface ServiceDeps {
  db: Database;
  events: HubEvents;
  hostName: string;
}

/** The service API's registry, twin, bulk, query and statistics operations on one identity store. */
export function createServiceRoutes(deps: ServiceDeps): Route[] {
  const store = new IdentityStore(deps.db, deps.events);
  return [
    ...deviceRoutes(store),
    ...moduleRoutes(store),
    ...twinRoutes(store),
    ...bulkRoutes(store),
    ...queryRoutes(store),
    ...statisticsRoutes(store),
  ];
}
