import * as pulumi from "@pulumi/pulumi";
import type { IdentityAuthentication } from "./authentication";
import type { HubConnectionArgs } from "./hubConnection";

/** The registry resource types: `pulumi-nodejs:dynamic/iothub:<type>`. */
export type RegistryResourceType = "DeviceIdentity" | "ModuleIdentity" | "ModuleTwin" | "DeviceTwin";

/** The arguments a device identity and a module identity both take. */
export interface IdentityArgs extends HubConnectionArgs {
  /** How the identity authenticates (default: SAS with keys the hub generates). */
  authentication?: pulumi.Input<IdentityAuthentication>;
  /**
   * Take over an identity that already exists in the hub (created by hand or by another tool): it is read and
   * brought to the declared state. Without it, an existing identity is an error (`pulumi import` cannot work for
   * dynamic resources).
   */
  adopt?: pulumi.Input<boolean>;
}

/** The outputs both identity resources have besides their inputs. */
export const IDENTITY_OUTPUTS = [
  "hostName",
  "etag",
  "generationId",
  "authenticationType",
  "primaryKey",
  "secondaryKey",
  "primaryThumbprint",
  "secondaryThumbprint",
  "connectionString",
];

/** Outputs holding key material: secret even when the input they derive from was not. */
export const IDENTITY_SECRET_OUTPUTS = [
  "serviceConnectionString",
  "authentication",
  "primaryKey",
  "secondaryKey",
  "connectionString",
];

/** A twin derives no key: only the service connection string it echoes is secret. */
export const TWIN_SECRET_OUTPUTS = ["serviceConnectionString"];

/** How one kind of registry resource registers. */
export interface RegistryResourceKind {
  type: RegistryResourceType;
  /** The lazy stub Pulumi serializes for this type (see lazyProvider.ts). */
  provider: pulumi.dynamic.ResourceProvider;
  /** Outputs that are not args: registered as undefined until known, since Pulumi exposes only registered ones. */
  outputs: readonly string[];
  /** Outputs that must be secret: the engine re-marks only outputs whose input of the same name was secret. */
  secretOutputs: readonly string[];
}

/**
 * What the four registry resources register alike: `pulumi-nodejs:dynamic/iothub:<type>` (module `iothub`, so
 * mocks routing `pulumi-nodejs:dynamic*` still match), the args as inputs with the kind's outputs named, and the
 * kind's secret outputs added to the caller's additionalSecretOutputs.
 */
export abstract class RegistryResource extends pulumi.dynamic.Resource {
  protected constructor(
    kind: RegistryResourceKind,
    name: string,
    args: object,
    opts: pulumi.CustomResourceOptions | undefined,
  ) {
    super(
      kind.provider,
      name,
      { ...Object.fromEntries(kind.outputs.map((output) => [output, undefined])), ...args },
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), ...kind.secretOutputs] },
      "iothub",
      kind.type,
    );
  }
}
