import * as pulumi from "@pulumi/pulumi";
import { projectProvider } from "./lazyProvider";
import {
  IDENTITY_OUTPUTS,
  IDENTITY_SECRET_OUTPUTS,
  RegistryResource,
  type IdentityArgs,
  type RegistryResourceKind,
} from "./registryResource";

export interface DeviceIdentityArgs extends IdentityArgs {
  /** The device's id: case-sensitive, at most 128 ASCII letters, digits and `- : . + % _ # * ? ! ( ) , = @ ; $ '`. */
  deviceId: pulumi.Input<string>;
  /** "enabled" (default) or "disabled": a disabled device cannot connect. */
  status?: pulumi.Input<"enabled" | "disabled">;
  /** Why the status is what it is (free text, at most 128 characters). */
  statusReason?: pulumi.Input<string>;
  /** Whether the device is an IoT Edge device (default false). */
  edgeEnabled?: pulumi.Input<boolean>;
  /** The deviceScope of the parent IoT Edge device (a nested device). */
  parentScope?: pulumi.Input<string>;
}

/** What Pulumi serializes for this resource: a small stub that loads deviceIdentityProvider (see lazyProvider.ts). */
export const deviceIdentityResourceProvider = projectProvider("deviceIdentityProvider");

const DEVICE_IDENTITY_KIND: RegistryResourceKind = {
  type: "DeviceIdentity",
  provider: deviceIdentityResourceProvider,
  outputs: ["status", "deviceScope", ...IDENTITY_OUTPUTS],
  secretOutputs: IDENTITY_SECRET_OUTPUTS,
};

/** A device identity in an IoT Hub's registry. */
export class DeviceIdentity extends RegistryResource {
  declare readonly deviceId: pulumi.Output<string>;
  declare readonly hostName: pulumi.Output<string>;
  declare readonly status: pulumi.Output<"enabled" | "disabled">;
  declare readonly etag: pulumi.Output<string>;
  declare readonly generationId: pulumi.Output<string>;
  declare readonly deviceScope: pulumi.Output<string | undefined>;
  /** Secret. */
  declare readonly primaryKey: pulumi.Output<string | undefined>;
  /** Secret. */
  declare readonly secondaryKey: pulumi.Output<string | undefined>;
  /** Secret: HostName=...;DeviceId=...;SharedAccessKey=...[;GatewayHostName=...]. */
  declare readonly connectionString: pulumi.Output<string>;

  constructor(name: string, args: DeviceIdentityArgs, opts?: pulumi.CustomResourceOptions) {
    super(DEVICE_IDENTITY_KIND, name, args, opts);
  }
}
