import { checkIdentityStatus, checkStatusReason, type IdentityStatus } from "../../lib/iothub/identity";
import {
  checkAuthenticationMechanism,
  registeredAuthentication,
  type AuthenticationMechanism,
  type RegisteredAuthentication,
} from "../../lib/iothub/identityAuthentication";
import { checkDeviceId, checkModuleId } from "../../lib/iothub/rules";
import { isPlainObject } from "../../lib/iothub/twin";
import { badRequest, throwIfViolations } from "../errors/iotHubError";
import type { DeviceIdentityModel, EtagCondition, ModuleIdentityModel } from "../persistence/identityModels";

/**
 * What the service handlers hand the store: If-Match as an etag condition, and registry bodies (PUT /devices/{d},
 * PUT /devices/{d}/modules/{m}, bulk entries) as identity models, with IoT Hub's rules and its 400 ArgumentInvalid
 * answers naming the field.
 */

/**
 * If-Match as the store takes it. The SDK always quotes the value (`"*"` is the wildcard); a weak `W/` prefix and
 * missing quotes are accepted too. An empty header counts as absent.
 */
export function parseIfMatch(value: string | undefined): EtagCondition {
  if (value === undefined || value.trim() === "") return "absent";
  const unquoted = value
    .trim()
    .replace(/^W\//, "")
    .replace(/^"(.*)"$/, "$1");
  return unquoted === "*" ? "any" : { etag: unquoted };
}

/** The device of a create or replace; the id in the path is the identity's, a different one in the body is refused. */
export function parseDeviceBody(deviceId: string, body: unknown): DeviceIdentityModel {
  throwIfViolations(checkDeviceId(deviceId));
  if (!isPlainObject(body)) throw badRequest("The request body must be a device object.");
  refuseOtherId("deviceId", body.deviceId, deviceId);
  const status = body.status ?? "enabled";
  // null is how some clients (the SDKs' Device objects) say "not set".
  const statusReason = body.statusReason ?? undefined;
  const deviceScope = body.deviceScope ?? undefined;
  throwIfViolations([
    ...checkIdentityStatus(status),
    ...checkStatusReason(statusReason),
    ...(deviceScope === undefined || typeof deviceScope === "string"
      ? []
      : [{ field: "deviceScope", rule: "must be a string" }]),
  ]);
  const capabilities = isPlainObject(body.capabilities) ? body.capabilities : {};
  const device: DeviceIdentityModel = {
    deviceId,
    status: status as IdentityStatus,
    authentication: parseAuthentication(body.authentication),
    capabilities: { iotEdge: capabilities.iotEdge === true },
  };
  if (typeof statusReason === "string") device.statusReason = statusReason;
  // Whether a scope may be set depends on the other devices: the store's rule (IdentityStore.putDevice).
  if (typeof deviceScope === "string" && deviceScope !== "") device.deviceScope = deviceScope;
  const parentScopes = body.parentScopes ?? undefined;
  if (parentScopes !== undefined) {
    if (!Array.isArray(parentScopes) || !parentScopes.every((scope) => typeof scope === "string")) {
      throwIfViolations([{ field: "parentScopes", rule: "must be a list of strings" }]);
    }
    device.parentScopes = parentScopes as string[];
  }
  return device;
}

export function parseModuleBody(deviceId: string, moduleId: string, body: unknown): ModuleIdentityModel {
  throwIfViolations([...checkDeviceId(deviceId), ...checkModuleId(moduleId)]);
  if (!isPlainObject(body)) throw badRequest("The request body must be a module object.");
  refuseOtherId("moduleId", body.moduleId, moduleId);
  refuseOtherId("deviceId", body.deviceId, deviceId);
  const module: ModuleIdentityModel = {
    deviceId,
    moduleId,
    authentication: parseAuthentication(body.authentication),
  };
  if (typeof body.managedBy === "string" && body.managedBy !== "") module.managedBy = body.managedBy;
  return module;
}

/** `authentication` checked with IoT Hub's rules, then filled in as the hub registers it (keys generated). */
function parseAuthentication(value: unknown): RegisteredAuthentication {
  throwIfViolations(checkAuthenticationMechanism(value));
  return registeredAuthentication(value as AuthenticationMechanism | null | undefined);
}

function refuseOtherId(field: "deviceId" | "moduleId", given: unknown, inPath: string): void {
  if (given === undefined || given === inPath) return;
  const what = field === "deviceId" ? "device" : "module";
  // Only a string is quoted back: String() of a list recurses, and overflows the stack on a deeply nested one.
  throw badRequest(
    typeof given === "string"
      ? `${field}: '${given}' does not match the ${what} id in the path '${inPath}'.`
      : `${field}: must be a string, the ${what} id in the path '${inPath}'.`,
  );
}
