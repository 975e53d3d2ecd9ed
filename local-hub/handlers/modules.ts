import type { IdentityStore } from "../persistence/identityStore";
import { parseIfMatch, parseModuleBody } from "./requestModels";
import type { Route } from "./route";

/** Module identities: PUT (create, or replace with If-Match), GET, DELETE, and the modules of a device. */
export function moduleRoutes(store: IdentityStore): Route[] {
  return [
    {
      method: "PUT",
      pattern: "/devices/:deviceId/modules/:moduleId",
      right: "RegistryWrite",
      operationClass: "registry",
      handle: ({ params, body, headers }) => ({
        status: 200,
        body: store.putModule(
          parseModuleBody(params.deviceId, params.moduleId, body),
          parseIfMatch(headers["if-match"]),
        ),
      }),
    },
    {
      method: "GET",
      pattern: "/devices/:deviceId/modules/:moduleId",
      right: "RegistryRead",
      operationClass: "registry",
      handle: ({ params }) => ({ status: 200, body: store.requireModule(params.deviceId, params.moduleId) }),
    },
    {
      method: "DELETE",
      pattern: "/devices/:deviceId/modules/:moduleId",
      right: "RegistryWrite",
      operationClass: "registry",
      handle: ({ params, headers }) => {
        store.deleteModule(params.deviceId, params.moduleId, parseIfMatch(headers["if-match"]));
        return { status: 204 };
      },
    },
    {
      method: "GET",
      pattern: "/devices/:deviceId/modules",
      right: "RegistryRead",
      operationClass: "registry",
      handle: ({ params }) => ({ status: 200, body: store.listModules(params.deviceId) }),
    },
  ];
}
