import type { DeviceRegistrationState } from "./enrollment";

/**
 * DPS's device registration over MQTT, as `azure-iot-provisioning-device-mqtt` speaks it (its dist/mqtt.js): one
 * definition for the local DPS's device endpoint and for whoever talks to it by hand (tests, verify).
 *
 * - CONNECT: clientId = the registration id; username `{idScope}/registrations/{registrationId}/api-version=...`;
 *   password a SAS token over `{idScope}/registrations/{registrationId}` with `skn=registration` (symmetric keys),
 *   or none with a TLS client certificate (X.509).
 * - SUBSCRIBE `$dps/registrations/res/#`.
 * - PUBLISH `$dps/registrations/PUT/iotdps-register/?$rid={rid}` with `{registrationId, payload?}`: answered
 *   `{operationId, status: "assigning"}`.
 * - PUBLISH `$dps/registrations/GET/iotdps-get-operationstatus/?$rid={rid}&operationId={id}`: answered with the
 *   operation's status and, once assigned, the registration state.
 * - Answers on `$dps/registrations/res/{status}/?$rid={rid}[&retry-after={seconds}]`; the SDK polls again after
 *   retry-after seconds while the status is `assigning`, and retries a status >= 429 as "not yet".
 */

export const DPS_RESPONSE_FILTER = "$dps/registrations/res/#";
const REGISTER_PREFIX = "$dps/registrations/PUT/iotdps-register/?";
const OPERATION_STATUS_PREFIX = "$dps/registrations/GET/iotdps-get-operationstatus/?";

/** The SAS key name a registering device's token carries. */
export const REGISTRATION_KEY_NAME = "registration";

/** What a device's PUBLISH asks for; undefined = a topic of no DPS request. */
export type DpsDeviceRequest =
  { kind: "register"; rid: string } | { kind: "operationStatus"; rid: string; operationId: string };

/** rids and operation ids are the SDK's UUIDs; anything up to this length is taken, longer is no request. */
const MAX_ID_LENGTH = 128;
const ID_PATTERN = /^[A-Za-z0-9._:-]+$/;

export function parseDpsDeviceTopic(topic: string): DpsDeviceRequest | undefined {
  const query = topic.startsWith(REGISTER_PREFIX)
    ? topic.slice(REGISTER_PREFIX.length)
    : topic.startsWith(OPERATION_STATUS_PREFIX)
      ? topic.slice(OPERATION_STATUS_PREFIX.length)
      : undefined;
  if (query === undefined) return undefined;
  const parameters = new Map<string, string>();
  for (const part of query.split("&")) {
    const eq = part.indexOf("=");
    if (eq <= 0) return undefined;
    const name = part.slice(0, eq);
    const value = part.slice(eq + 1);
    if (parameters.has(name) || !ID_PATTERN.test(value) || value.length > MAX_ID_LENGTH) return undefined;
    parameters.set(name, value);
  }
  const rid = parameters.get("$rid");
  if (!rid) return undefined;
  if (topic.startsWith(REGISTER_PREFIX)) {
    return parameters.size === 1 ? { kind: "register", rid } : undefined;
  }
  const operationId = parameters.get("operationId");
  return operationId && parameters.size === 2 ? { kind: "operationStatus", rid, operationId } : undefined;
}

export const dpsTopics = {
  register: (rid: string): string => `${REGISTER_PREFIX}$rid=${rid}`,
  operationStatus: (rid: string, operationId: string): string =>
    `${OPERATION_STATUS_PREFIX}$rid=${rid}&operationId=${operationId}`,
  response: (status: number, rid: string, retryAfterSeconds?: number): string =>
    `$dps/registrations/res/${status}/?$rid=${rid}` +
    (retryAfterSeconds === undefined ? "" : `&retry-after=${retryAfterSeconds}`),
};

/** The username's start: what follows (`api-version=...&ClientVersion=...`) is the SDK's business. */
export function registrationUsernamePrefix(idScope: string, registrationId: string): string {
  return `${idScope}/registrations/${registrationId}/`;
}

/** The resource a registering device's SAS token is signed over (sent URL-encoded or not; both are seen). */
export function registrationResource(idScope: string, registrationId: string): string {
  return `${idScope}/registrations/${registrationId}`;
}

/** The answer to a register request or an operation status query (DPS's `RegistrationOperationStatus`). */
export interface RegistrationOperationStatus {
  operationId: string;
  status: "assigning" | "assigned" | "failed" | "disabled";
  registrationState?: DeviceRegistrationState;
}

/** DPS's error body on the device endpoint, as on its service API. */
export interface DpsErrorBody {
  errorCode: number;
  trackingId: string;
  message: string;
  timestampUtc: string;
}
