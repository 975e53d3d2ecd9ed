import * as pulumi from "@pulumi/pulumi";
import type { HubConnectionArgs } from "./hubConnection";
import { projectProvider } from "./lazyProvider";
import { RegistryResource, TWIN_SECRET_OUTPUTS, type RegistryResourceKind } from "./registryResource";

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

const DEVICE_TWIN_KIND: RegistryResourceKind = {
  type: "DeviceTwin",
  provider: deviceTwinResourceProvider,
  outputs: ["desired", "tags", "version", "etag"],
  secretOutputs: TWIN_SECRET_OUTPUTS,
};

/** The desired properties and tags a program owns on one device's twin. */
export class DeviceTwin extends RegistryResource {
  declare readonly deviceId: pulumi.Output<string>;
  declare readonly desired: pulumi.Output<Record<string, unknown>>;
  declare readonly tags: pulumi.Output<Record<string, unknown>>;
  declare readonly version: pulumi.Output<number>;
  declare readonly etag: pulumi.Output<string>;

  constructor(name: string, args: DeviceTwinArgs, opts?: pulumi.CustomResourceOptions) {
    super(DEVICE_TWIN_KIND, name, args, opts);
  }
}
