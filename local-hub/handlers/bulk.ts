import type { IdentityStore } from "../persistence/identityStore";
import type { Route } from "./route";

/**
 * Bulk registry operations (`addDevices`, `updateDevices`, `removeDevices`): POST /devices with 1-100 entries.
 * Per-entry failures come back in the result ({isSuccessful:false, errors:[...]}) with 200, so the SDK hands the
 * caller the result instead of a generic error.
 */
export function bulkRoutes(store: IdentityStore): Route[] {
  return [
    {
      method: "POST",
      pattern: "/devices",
      right: "RegistryWrite",
      operationClass: "bulk",
      handle: (request) => ({ status: 200, body: store.bulk(request.body) }),
    },
  ];
}
