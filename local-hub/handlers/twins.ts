import { isPlainObject, parseTwinUpdate, type TwinUpdate } from "../../lib/iothub/twin";
import { badRequest, throwIfViolations } from "../errors/iotHubError";
import type { IdentityRef } from "../events";
import type { IdentityStore } from "../persistence/identityStore";
import { parseIfMatch } from "./requestModels";
import type { HubRequest, Route } from "./route";

/** Device and module twins: GET, PATCH (merge; null deletes), PUT (replace tags and desired), with etags. */
export function twinRoutes(store: IdentityStore): Route[] {
  return ["/twins/:deviceId", "/twins/:deviceId/modules/:moduleId"].flatMap((pattern): Route[] => [
    {
      method: "GET",
      pattern,
      right: "ServiceConnect",
      operationClass: "twinRead",
      handle: (request) => ({ status: 200, body: store.getTwin(identityOf(request)) }),
    },
    {
      method: "PATCH",
      pattern,
      right: "ServiceConnect",
      operationClass: "twinUpdate",
      handle: (request) => ({
        status: 200,
        body: store.patchTwin(
          identityOf(request),
          twinUpdateOf(request.body, "patch"),
          parseIfMatch(request.headers["if-match"]),
        ),
      }),
    },
    {
      method: "PUT",
      pattern,
      right: "ServiceConnect",
      operationClass: "twinUpdate",
      handle: (request) => ({
        status: 200,
        body: store.replaceTwin(
          identityOf(request),
          twinUpdateOf(request.body, "replace"),
          parseIfMatch(request.headers["if-match"]),
        ),
      }),
    },
  ]);
}

function twinUpdateOf(body: unknown, kind: "patch" | "replace"): TwinUpdate {
  if (!isPlainObject(body)) throw badRequest("The request body must be a twin object.");
  const { update, violations } = parseTwinUpdate(body, kind);
  throwIfViolations(violations);
  return update;
}

function identityOf({ params }: HubRequest): IdentityRef {
  return params.moduleId === undefined
    ? { deviceId: params.deviceId }
    : { deviceId: params.deviceId, moduleId: params.moduleId };
}
