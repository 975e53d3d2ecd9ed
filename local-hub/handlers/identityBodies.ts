import {
  checkAuthenticationMechanism,
  registeredAuthentication,
  type AuthenticationMechanism,
  type RegisteredAuthentication,
} from "../../lib/iothub/identityAuthentication";
import { checkDeviceId, checkModuleId } from "../../lib/iothub/rules";
import { isPlainObject } from "../../lib/iothub/twin";
import { badRequest, throwIfViolations } from "../errors/iotHubError";
import type { DeviceIdentityModel, ModuleIdentityModel } from "../persistence/identityModels";

/**
 * Registry request bodies (PUT /devices/{d}, PUT /devices/{d}/modules/{m}, bulk entries) turned into the models
 * the store takes, with IoT Hub's rules and its 400 ArgumentInvalid answers naming the field.
 */

/** The device of a create or replace; the id in the path is the identity's, a different one in the body is refused. */
export function parseDeviceBody(deviceId: string, body: unknown): DeviceIdentityModel {
  throwIfViolations(checkDeviceId(deviceId));
  if (!isPlainObject(body)) throw badRequest("The request body must be a device object.");
  refuseOtherId("deviceId", body.deviceId, deviceId);
  const status = body.status ?? "enabled";
  if (status !== "enabled" && status !== "disabled") throw badRequest("status: must be enabled or disabled");
  const capabilities = isPlainObject(body.capabilities) ? body.capabilities : {};
  const device: DeviceIdentityModel = {
    deviceId,
    status,
    authentication: parseAuthentication(body.authentication),
    capabilities: { iotEdge: capabilities.iotEdge === true },
  };
  if (typeof body.statusReason === "string") device.statusReason = body.statusReason;
  if (typeof body.deviceScope === "string" && body.deviceScope !== "") device.deviceScope = body.deviceScope;
  if (Array.isArray(body.parentScopes)) device.parentScopes = body.parentScopes.map(String);
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
  if (given !== undefined && given !== inPath) {
    throw badRequest(
      `${field}: '${String(given)}' does not match the ${
        field === "deviceId" ? "device" : "module"
      } id in the path '${inPath}'.`,
    );
  }
}
