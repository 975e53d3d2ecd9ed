import { DATA_ACTIONS } from "../../lib/iothub/dataPlaneRoles";
import { checkDeviceId, LIMITS } from "../../lib/iothub/rules";
import { isPlainObject } from "../../lib/iothub/twin";
import { badRequest, IotHubError, throwIfViolations } from "../errors/iotHubError";
import type { DeviceOperation, EtagCondition } from "../persistence/identityModels";
import type { IdentityStore } from "../persistence/identityStore";
import { parseDeviceBody, parseIfMatch } from "./requestModels";
import type { Route } from "./route";

/** One entry's failure in a bulk answer (`errorStatus` is the error's text). */
export interface BulkError {
  deviceId: string;
  errorCode: string;
  errorStatus: string;
}

/** The answer of a bulk registry call, as the SDK hands it to the caller. */
export interface BulkResult {
  isSuccessful: boolean;
  errors: BulkError[];
  warnings: BulkError[];
}

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
      // One call creates, updates and deletes: IoT Hub asks for both.
      dataActions: [DATA_ACTIONS.devicesWrite, DATA_ACTIONS.devicesDelete],
      operationClass: "bulk",
      handle: (request) => ({ status: 200, body: runBulk(store, request.body) }),
    },
  ];
}

function runBulk(store: IdentityStore, body: unknown): BulkResult {
  if (!Array.isArray(body) || body.length === 0 || body.length > LIMITS.bulkMaxIdentities) {
    throw badRequest(
      `The request must list 1-${LIMITS.bulkMaxIdentities} identities (got ${Array.isArray(body) ? body.length : "no list"}).`,
    );
  }
  // Entries that do not parse fail on their own; the rest go to the store as one batch, in order.
  const seen = new Set<string>();
  const planned = body.map((entry: unknown) => {
    const deviceId = idOf(entry);
    try {
      if (seen.has(deviceId)) throw badRequest(`Device ${deviceId} appears more than once in the request.`);
      seen.add(deviceId);
      return { deviceId, operation: parseBulkEntry(deviceId, entry) };
    } catch (error) {
      if (!(error instanceof IotHubError)) throw error;
      return { deviceId, error };
    }
  });
  const operations = planned.flatMap((entry) => (entry.operation ? [entry.operation] : []));
  const outcomes = store.applyBatch(operations).values();
  const errors: BulkError[] = [];
  for (const entry of planned) {
    const error = entry.operation ? outcomes.next().value : entry.error;
    if (error) errors.push({ deviceId: entry.deviceId, errorCode: error.code, errorStatus: error.message });
  }
  return { isSuccessful: errors.length === 0, errors, warnings: [] };
}

function idOf(entry: unknown): string {
  const id = isPlainObject(entry) ? entry.id : undefined;
  if (typeof id === "string") return id;
  // No list or object names a device; String() of a list recurses, and overflows on a deeply nested one.
  return typeof id === "object" && id !== null ? "" : String(id ?? "");
}

/**
 * One entry in IoT Hub's import format: `id` (not `deviceId`), `importMode` (any case) and, for the IfMatchETag
 * modes, `eTag`; the rest is the device.
 */
export function parseBulkEntry(deviceId: string, entry: unknown): DeviceOperation {
  const fields = isPlainObject(entry) ? entry : {};
  const mode = typeof fields.importMode === "string" ? fields.importMode.toLowerCase() : "";
  // IoT Hub's import format says `eTag`; the SDK passes its Device objects through, which say `etag`.
  const { id: _id, importMode: _mode, eTag, etag, ...device } = fields;
  const givenEtag = [eTag, etag].find((value): value is string => typeof value === "string" && value !== "");
  // The same reading as an If-Match header (`*` = any), so a quoted eTag means what it does there.
  const entryEtag: EtagCondition | undefined = givenEtag === undefined ? undefined : parseIfMatch(givenEtag);
  const put = (condition: EtagCondition): DeviceOperation => ({
    kind: "put",
    identity: parseDeviceBody(deviceId, { ...device, deviceId }),
    condition,
  });
  // A delete names its device by IoT Hub's id rules too (puts check it in parseDeviceBody).
  const remove = (condition: EtagCondition): DeviceOperation => {
    throwIfViolations(checkDeviceId(deviceId));
    return { kind: "delete", deviceId, condition };
  };
  switch (mode) {
    case "create":
      return put("absent");
    case "update":
      return put("any");
    case "updateifmatchetag":
      if (!entryEtag) throw badRequest(`Device ${deviceId}: UpdateIfMatchETag needs eTag.`);
      return put(entryEtag);
    case "delete":
      return remove("any");
    case "deleteifmatchetag":
      if (!entryEtag) throw badRequest(`Device ${deviceId}: DeleteIfMatchETag needs eTag.`);
      return remove(entryEtag);
    default:
      throw badRequest(
        `Device ${deviceId}: importMode must be create, Update, UpdateIfMatchETag, Delete or DeleteIfMatchETag.`,
      );
  }
}
