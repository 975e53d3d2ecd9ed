import * as pulumi from "@pulumi/pulumi";
import type { HubConnectionArgs } from "./hubConnection";
import { lazyProvider, projectRelative } from "./lazyProvider";

export interface DeviceTwinArgs extends HubConnectionArgs {
  /** The device whose twin this is (the device identity must exist). */
  deviceId: pulumi.Input<string>;
  /** Desired properties this resource owns; others' keys are left alone, a key removed here is removed. */
  desired?: pulumi.Input<Record<string, unknown>>;
  /** Tags this resource owns, with the same ownership rule as `desired`. */
  tags?: pulumi.Input<Record<string, unknown>>;
}

const implementation = require.resolve("./deviceTwinProvider");
/** What Pulumi serializes for this resource: a small stub that loads deviceTwinProvider (see lazyProvider.ts). */
export const deviceTwinResourceProvider = lazyProvider(
  implementation,
  projectRelative(implementation),
  "deviceTwinProvider",
);

/** The desired properties and tags a program owns on one device's twin. */
export class DeviceTwin extends pulumi.dynamic.Resource {
  declare readonly deviceId: pulumi.Output<string>;
  declare readonly desired: pulumi.Output<Record<string, unknown>>;
  declare readonly tags: pulumi.Output<Record<string, unknown>>;
  declare readonly version: pulumi.Output<number>;
  declare readonly etag: pulumi.Output<string>;

  constructor(name: string, args: DeviceTwinArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      deviceTwinResourceProvider,
      name,
      { desired: undefined, tags: undefined, version: undefined, etag: undefined, ...args },
      {
        ...opts,
        additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "serviceConnectionString"],
      },
      "iothub",
      "DeviceTwin",
    );
  }
}
