import type { ConfigurationStore } from "../persistence/configurationStore";
import type { IdentityStore } from "../persistence/identityStore";
import { bulkRoutes } from "./bulk";
import { configurationRoutes } from "./configurations";
import { deviceRoutes } from "./devices";
import { moduleRoutes } from "./modules";
import { queryRoutes } from "./query";
import type { Route } from "./route";
import { statisticsRoutes } from "./statistics";
import { twinRoutes } from "./twins";

export interface ServiceDeps {
  /** The hub's one identity store (it announces changes on the hub's event bus); the device API shares it. */
  store: IdentityStore;
  /** The ADM configurations and edge deployments (the ADM engine applies them). */
  configurations: ConfigurationStore;
  hostName: string;
}

/** The service API's registry, twin, bulk, query, statistics and configuration operations on the hub's stores. */
export function createServiceRoutes({ store, configurations }: ServiceDeps): Route[] {
  return [
    ...deviceRoutes(store),
    ...moduleRoutes(store),
    ...twinRoutes(store),
    ...bulkRoutes(store),
    ...queryRoutes(store),
    ...statisticsRoutes(store),
    ...configurationRoutes(configurations, store),
  ];
}
