import * as pulumi from "@pulumi/pulumi";
import { projectProvider } from "./lazyProvider";
import {
  IDENTITY_OUTPUTS,
  IDENTITY_SECRET_OUTPUTS,
  RegistryResource,
  type IdentityArgs,
  type RegistryResourceKind,
} from "./registryResource";

export interface ModuleIdentityArgs extends IdentityArgs {
  /** The device the module belongs to (it must exist). */
  deviceId: pulumi.Input<string>;
  /** The module's id: the device id's alphabet, at most 128 characters, not starting with `$` (reserved). */
  moduleId: pulumi.Input<string>;
  /** Free text naming who manages the module (e.g. "IotEdge"). */
  managedBy?: pulumi.Input<string>;
}

/** What Pulumi serializes for this resource: a small stub that loads moduleIdentityProvider (see lazyProvider.ts). */
export const moduleIdentityResourceProvider = projectProvider("moduleIdentityProvider");

const MODULE_IDENTITY_KIND: RegistryResourceKind = {
  type: "ModuleIdentity",
  provider: moduleIdentityResourceProvider,
  outputs: ["managedBy", ...IDENTITY_OUTPUTS],
  secretOutputs: IDENTITY_SECRET_OUTPUTS,
};

/** A module identity on a device in an IoT Hub's registry. */
export class ModuleIdentity extends RegistryResource {
  declare readonly deviceId: pulumi.Output<string>;
  declare readonly moduleId: pulumi.Output<string>;
  declare readonly hostName: pulumi.Output<string>;
  declare readonly etag: pulumi.Output<string>;
  declare readonly generationId: pulumi.Output<string>;
  /** Secret. */
  declare readonly primaryKey: pulumi.Output<string | undefined>;
  /** Secret. */
  declare readonly secondaryKey: pulumi.Output<string | undefined>;
  /** Secret: HostName=...;DeviceId=...;ModuleId=...;SharedAccessKey=...[;GatewayHostName=...]. */
  declare readonly connectionString: pulumi.Output<string>;

  constructor(name: string, args: ModuleIdentityArgs, opts?: pulumi.CustomResourceOptions) {
    super(MODULE_IDENTITY_KIND, name, args, opts);
  }
}
