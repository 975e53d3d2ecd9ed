import * as pulumi from "@pulumi/pulumi";
import type { IdentityAuthentication } from "./authentication";
import type { HubConnectionArgs } from "./hubConnection";
import { lazyProvider, projectRelative } from "./lazyProvider";
import { IDENTITY_SECRET_OUTPUTS } from "./deviceIdentityProvider";

export interface ModuleIdentityArgs extends HubConnectionArgs {
  /** The device the module belongs to (it must exist). */
  deviceId: pulumi.Input<string>;
  /** The module's id: the device id's alphabet, at most 128 characters, not starting with `$` (reserved). */
  moduleId: pulumi.Input<string>;
  /** How the module authenticates (default: SAS with keys the hub generates). */
  authentication?: pulumi.Input<IdentityAuthentication>;
  /** Free text naming who manages the module (e.g. "IotEdge"). */
  managedBy?: pulumi.Input<string>;
  /** Take over a module that already exists: it is read and brought to the declared state. */
  adopt?: pulumi.Input<boolean>;
}

const implementation = require.resolve("./moduleIdentityProvider");
/** What Pulumi serializes for this resource: a small stub that loads moduleIdentityProvider (see lazyProvider.ts). */
export const moduleIdentityResourceProvider = lazyProvider(
  implementation,
  projectRelative(implementation),
  "moduleIdentityProvider",
);

/** A module identity on a device in an IoT Hub's registry. */
export class ModuleIdentity extends pulumi.dynamic.Resource {
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
    const outputs = {
      hostName: undefined,
      etag: undefined,
      generationId: undefined,
      authenticationType: undefined,
      primaryKey: undefined,
      secondaryKey: undefined,
      primaryThumbprint: undefined,
      secondaryThumbprint: undefined,
      connectionString: undefined,
    };
    super(
      moduleIdentityResourceProvider,
      name,
      { managedBy: undefined, ...outputs, ...args },
      {
        ...opts,
        additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), ...IDENTITY_SECRET_OUTPUTS],
      },
      "iothub",
      "ModuleIdentity",
    );
  }
}
