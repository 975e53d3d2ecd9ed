import type * as pulumi from "@pulumi/pulumi";
import type { IdentityStatus } from "../../lib/iothub/identity";
import { DEVICE_IDENTITY_OUTPUTS, type DeviceIdentityOutputs } from "./deviceIdentityProvider";
import { IDENTITY_SECRET_INPUTS } from "./identityProvider";
import { projectProvider } from "./lazyProvider";
import { registryResourceClass, type IdentityArgs } from "./registryResource";

export interface DeviceIdentityArgs extends IdentityArgs {
  /** The device's id: case-sensitive, at most 128 ASCII letters, digits and `- : . + % _ # * ? ! ( ) , = @ ; $ '`. */
  deviceId: pulumi.Input<string>;
  /** "enabled" (default) or "disabled": a disabled device cannot connect. */
  status?: pulumi.Input<IdentityStatus>;
  /** Why the status is what it is (free text, at most 128 characters). */
  statusReason?: pulumi.Input<string>;
  /** Whether the device is an IoT Edge device (default false). */
  edgeEnabled?: pulumi.Input<boolean>;
  /** The deviceScope of the parent IoT Edge device (a nested device). */
  parentScope?: pulumi.Input<string>;
}

/** What Pulumi serializes for this resource: a small stub that loads deviceIdentityProvider (see lazyProvider.ts). */
export const deviceIdentityResourceProvider = projectProvider("deviceIdentityProvider");

/**
 * A device identity in an IoT Hub's registry. Outputs: its inputs as the hub holds them, and
 * DEVICE_IDENTITY_OUTPUTS (keys and the connection string are secrets).
 */
export class DeviceIdentity extends registryResourceClass<DeviceIdentityArgs, DeviceIdentityOutputs>({
  type: "DeviceIdentity",
  provider: deviceIdentityResourceProvider,
  outputs: DEVICE_IDENTITY_OUTPUTS,
  secretInputs: IDENTITY_SECRET_INPUTS,
}) {}
