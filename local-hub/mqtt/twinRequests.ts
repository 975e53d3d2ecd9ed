import { checkTwinSection } from "../../lib/iothub/rules";
import { isPlainObject, type TwinProperties } from "../../lib/iothub/twin";
import { badRequest, deviceNotFound, moduleNotFound, throwIfViolations } from "../errors/iotHubError";
import type { IdentityRef } from "../events";
import type { DeviceApiBackend } from "./backend";
import { deviceErrorAnswer } from "./deviceErrors";

/**
 * A device's twin requests over MQTT, answered as IoT Hub answers them: GET -> 200 with
 * `{desired, reported}`; reported PATCH -> 204 with the new `$version` in the response topic; any failure -> the
 * IoT Hub status with its MQTT error body. Which connection gets the answer is the caller's business.
 */
export interface TwinAnswer {
  status: number;
  body: string;
  /** The new reported $version (reported PATCH only). */
  version?: number;
}

export function answerTwinGet(backend: DeviceApiBackend, identity: IdentityRef): TwinAnswer {
  return answering(() => {
    const twin = backend.getDeviceSideTwin(identity);
    if (!twin) {
      throw identity.moduleId
        ? moduleNotFound(identity.deviceId, identity.moduleId)
        : deviceNotFound(identity.deviceId);
    }
    return { status: 200, body: JSON.stringify(twin) };
  });
}

export function answerReportedPatch(
  backend: DeviceApiBackend,
  identity: IdentityRef,
  body: Buffer,
): TwinAnswer {
  return answering(() => {
    const version = backend.patchReported(identity, parseReportedPatch(body));
    return { status: 204, body: "", version };
  });
}

/** The error answer for a request refused before it ran (quota, injected fault). */
export function answerFailure(error: unknown): TwinAnswer {
  const failure = deviceErrorAnswer(error);
  return { status: failure.status, body: JSON.stringify(failure.body) };
}

function answering(operation: () => TwinAnswer): TwinAnswer {
  try {
    return operation();
  } catch (error) {
    return answerFailure(error);
  }
}

/** The body of a reported PATCH: a JSON object within IoT Hub's twin rules (null deletes a property). */
function parseReportedPatch(body: Buffer): TwinProperties {
  let value: unknown;
  try {
    value = JSON.parse(body.toString("utf8"));
  } catch {
    value = undefined;
  }
  if (!isPlainObject(value)) throw badRequest("The reported properties patch must be a JSON object.");
  throwIfViolations(checkTwinSection("reported", value));
  return value;
}
