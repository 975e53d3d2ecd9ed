import type * as pulumi from "@pulumi/pulumi";
import { DEVICE_TWIN_OUTPUTS, type DeviceTwinOutputs } from "./deviceTwinProvider";
import type { HubConnectionArgs } from "./hubConnection";
import { projectProvider } from "./lazyProvider";
import { registryResourceClass } from "./registryResource";
import { TWIN_SECRET_INPUTS } from "./twinProvider";

export interface DeviceTwinArgs extends HubConnectionArgs {
  /** The device whose twin this is (the device identity must exist). */
  deviceId: pulumi.Input<string>;
  /** Desired properties this resource owns; others' keys are left alone, a key removed here is removed. */
  desired?: pulumi.Input<Record<string, unknown>>;
  /** Tags this resource owns, with the same ownership rule as `desired`. */
  tags?: pulumi.Input<Record<string, unknown>>;
}

/** What Pulumi serializes for this resource: a small stub that loads deviceTwinProvider (see lazyProvider.ts). */
export const deviceTwinResourceProvider = projectProvider("deviceTwinProvider");

/**
 * The desired properties and tags a program owns on one device's twin. Outputs: `desired` and `tags` = what this
 * resource owns, as the hub holds it, and the twin's `version` and `etag`.
 */
export class DeviceTwin extends registryResourceClass<DeviceTwinArgs, DeviceTwinOutputs>({
  type: "DeviceTwin",
  provider: deviceTwinResourceProvider,
  outputs: DEVICE_TWIN_OUTPUTS,
  secretInputs: TWIN_SECRET_INPUTS,
}) {}
