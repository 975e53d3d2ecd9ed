import { deviceNotFound } from "../errors/iotHubError";
import type { IdentityStore } from "../persistence/identityStore";
import { parseDeviceBody, parseIfMatch } from "./requestModels";
import type { Route } from "./route";

/** IoT Hub lists at most 1,000 devices per call. */
const MAX_LIST = 1000;

/**
 * Device identities: PUT (no If-Match = create-only, 409; with If-Match = full replace), GET, DELETE, and the list
 * (GET /devices/?top=N, at most 1,000).
 */
export function deviceRoutes(store: IdentityStore): Route[] {
  return [
    {
      method: "PUT",
      pattern: "/devices/:deviceId",
      right: "RegistryWrite",
      operationClass: "registry",
      handle: ({ params, body, headers }) => ({
        status: 200,
        body: store.putDevice(parseDeviceBody(params.deviceId, body), parseIfMatch(headers["if-match"])),
      }),
    },
    {
      method: "GET",
      pattern: "/devices/:deviceId",
      right: "RegistryRead",
      operationClass: "registry",
      handle: ({ params }) => {
        const device = store.getDevice(params.deviceId);
        if (!device) throw deviceNotFound(params.deviceId);
        return { status: 200, body: device };
      },
    },
    {
      method: "DELETE",
      pattern: "/devices/:deviceId",
      right: "RegistryWrite",
      operationClass: "registry",
      handle: ({ params, headers }) => {
        store.deleteDevice(params.deviceId, parseIfMatch(headers["if-match"]));
        return { status: 204 };
      },
    },
    {
      method: "GET",
      pattern: "/devices",
      right: "RegistryRead",
      operationClass: "registry",
      handle: ({ query }) => {
        const top = Number(query.get("top") ?? MAX_LIST);
        const limit = Number.isInteger(top) ? Math.min(Math.max(top, 1), MAX_LIST) : MAX_LIST;
        return { status: 200, body: store.listDevices(limit) };
      },
    },
  ];
}
