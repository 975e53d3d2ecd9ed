import type * as pulumi from "@pulumi/pulumi";
import { checkIdentityStatus, checkStatusReason, type IdentityStatus } from "../../lib/iothub/identity";
import { checkDeviceId, type RuleViolation } from "../../lib/iothub/rules";
import { authenticationBody, authenticationMatches, checkAuthentication } from "./authentication";
import type { IdentityBody } from "./client";
import type { DeviceIdentityArgs } from "./deviceIdentity";
import { checkHubConnection } from "./hubConnection";
import {
  IDENTITY_OUTPUTS,
  identityFromOutputs,
  identityOutputFields,
  identityProvider,
} from "./identityProvider";
import { plainOutput, type OutputsOf } from "./providerKit";
import { checkRotation } from "./rotation";

/** The inputs as the provider receives them. */
export type DeviceIdentityInputs = pulumi.Unwrap<DeviceIdentityArgs>;

/** The outputs besides the inputs: what the hub says about the device, and its settings as the hub holds them. */
export const DEVICE_IDENTITY_OUTPUTS = {
  ...IDENTITY_OUTPUTS,
  status: plainOutput<IdentityStatus>(),
  statusReason: plainOutput<string | undefined>(),
  edgeEnabled: plainOutput<boolean>(),
  parentScope: plainOutput<string | undefined>(),
  deviceScope: plainOutput<string | undefined>(),
};

/** The outputs kept in state: the inputs plus what the hub says. */
export type DeviceIdentityOutputs = OutputsOf<DeviceIdentityInputs, typeof DEVICE_IDENTITY_OUTPUTS>;

export function checkDeviceIdentity(inputs: Partial<DeviceIdentityInputs>): RuleViolation[] {
  const violations = [...checkHubConnection(inputs), ...checkDeviceId(inputs.deviceId)];
  violations.push(...checkAuthentication(inputs.authentication));
  violations.push(...checkRotation(inputs.rotation, inputs.authentication));
  violations.push(...checkIdentityStatus(inputs.status), ...checkStatusReason(inputs.statusReason));
  if (inputs.edgeEnabled !== undefined && typeof inputs.edgeEnabled !== "boolean") {
    violations.push({ field: "edgeEnabled", rule: "must be a boolean" });
  }
  if (
    inputs.parentScope !== undefined &&
    (typeof inputs.parentScope !== "string" || inputs.parentScope === "")
  ) {
    violations.push({
      field: "parentScope",
      rule: "must be a non-empty string (the parent edge device's deviceScope)",
    });
  }
  return violations;
}

/** The full device a PUT sends. `current` supplies what the program does not declare but must be kept (keys). */
function deviceBody(inputs: DeviceIdentityInputs, current?: IdentityBody): IdentityBody {
  return {
    deviceId: inputs.deviceId,
    status: inputs.status ?? "enabled",
    statusReason: inputs.statusReason,
    capabilities: { iotEdge: inputs.edgeEnabled ?? false },
    authentication: authenticationBody(inputs.authentication, current),
    deviceScope: current?.deviceScope,
    parentScopes: inputs.parentScope ? [inputs.parentScope] : [],
  };
}

/** True when the hub's device is as declared (so adopt or update has nothing to send). */
function deviceMatches(inputs: DeviceIdentityInputs, device: IdentityBody): boolean {
  return (
    (device.status ?? "enabled") === (inputs.status ?? "enabled") &&
    (device.statusReason ?? "") === (inputs.statusReason ?? "") &&
    (device.capabilities?.iotEdge ?? false) === (inputs.edgeEnabled ?? false) &&
    (device.parentScopes?.[0] ?? "") === (inputs.parentScope ?? "") &&
    authenticationMatches(inputs.authentication, device)
  );
}

function deviceOutputs(inputs: DeviceIdentityInputs, device: IdentityBody): DeviceIdentityOutputs {
  return {
    ...inputs,
    ...identityOutputFields(inputs, device, undefined),
    status: device.status ?? "enabled",
    statusReason: device.statusReason || undefined,
    edgeEnabled: device.capabilities?.iotEdge ?? false,
    parentScope: device.parentScopes?.[0] || undefined,
    deviceScope: device.deviceScope || undefined,
  };
}

/** The stored outputs seen as the hub's device: its settings, its scope and keys (to keep them in a full PUT). */
function deviceFromState(olds: DeviceIdentityOutputs): IdentityBody {
  return {
    ...identityFromOutputs(olds),
    status: olds.status,
    statusReason: olds.statusReason,
    capabilities: { iotEdge: olds.edgeEnabled },
    parentScopes: olds.parentScope ? [olds.parentScope] : [],
    deviceScope: olds.deviceScope,
  };
}

export const deviceIdentityProvider: pulumi.dynamic.ResourceProvider = identityProvider({
  target: "device",
  check: checkDeviceIdentity,
  body: deviceBody,
  matches: deviceMatches,
  outputs: deviceOutputs,
  fromState: deviceFromState,
  get: (client, inputs) => client.getDevice(inputs.deviceId),
  create: (client, device) => client.createDevice(device),
  update: (client, device, etag) => client.updateDevice(device, etag),
  remove: (client, inputs) => client.deleteDevice(inputs.deviceId),
});
