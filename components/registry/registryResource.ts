import * as pulumi from "@pulumi/pulumi";
import type { IdentityAuthentication } from "./authentication";
import type { HubConnectionArgs } from "./hubConnection";
import { secretOutputNames, type OutputDeclarations } from "./providerKit";

/**
 * The project's dynamic resource types, `pulumi-nodejs:dynamic/iothub:<type>`: the four registry resources, the
 * local hub's policy (components/hub/localHubPolicy.ts), endpoint (localHubEndpoint.ts) and DPS (localDps.ts), and the ADM resources
 * (components/adm/) and the DPS enrollments (components/dps/), which register the same way.
 */
export type RegistryResourceType =
  | "DeviceIdentity"
  | "ModuleIdentity"
  | "ModuleTwin"
  | "DeviceTwin"
  | "LocalHubPolicy"
  | "LocalHubEndpoint"
  | "LocalDps"
  | "Configuration"
  | "EdgeDeployment"
  | "EdgeDeviceModules"
  | "EnrollmentGroup"
  | "IndividualEnrollment";

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
  /**
   * Key rotations so far (default 0) of a SAS identity: even = the primary key is active, odd = the secondary.
   * Raising it by one replaces the other key (hub-generated keys: a new key; declared keys: the one the declaration
   * changed) and makes it active; the key active until then stays valid until the next rotation.
   */
  rotation?: pulumi.Input<number>;
}

/** How one kind of registry resource registers. */
export interface RegistryResourceKind {
  type: RegistryResourceType;
  /** The lazy stub Pulumi serializes for this type (see lazyProvider.ts). */
  provider: pulumi.dynamic.ResourceProvider;
  /** The outputs besides the args (the provider module declares them): registered as undefined until known. */
  outputs: OutputDeclarations;
  /** Inputs echoed as outputs that must be secret even when the input was plain (they hold keys). */
  secretInputs: readonly string[];
}

/** A resource's outputs as the program sees them: each output of the provider as a pulumi.Output. */
export type ResourceOutputs<O> = { readonly [K in keyof O]-?: pulumi.Output<O[K]> };

/**
 * What the four registry resources register alike: `pulumi-nodejs:dynamic/iothub:<type>` (module `iothub`, so
 * mocks routing `pulumi-nodejs:dynamic*` still match), the args as inputs with the kind's outputs named (Pulumi
 * exposes only registered names), and the kind's secret outputs added to the caller's additionalSecretOutputs (the
 * engine re-marks only outputs whose input of the same name was secret).
 */
export abstract class RegistryResource extends pulumi.dynamic.Resource {
  protected constructor(
    kind: RegistryResourceKind,
    name: string,
    args: object,
    opts: pulumi.CustomResourceOptions | undefined,
  ) {
    const secrets = [...kind.secretInputs, ...secretOutputNames(kind.outputs)];
    super(
      kind.provider,
      name,
      { ...Object.fromEntries(Object.keys(kind.outputs).map((output) => [output, undefined])), ...args },
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), ...secrets] },
      "iothub",
      kind.type,
    );
  }
}

/**
 * The base class of one kind of registry resource, typed with its args and with the provider's outputs as
 * properties (so each output is declared once, in the provider module, and not again on the class).
 */
export function registryResourceClass<Args extends object, Outputs>(
  kind: RegistryResourceKind,
): new (
  name: string,
  args: Args,
  opts?: pulumi.CustomResourceOptions,
) => RegistryResource & ResourceOutputs<Outputs> {
  class KindResource extends RegistryResource {
    constructor(name: string, args: Args, opts?: pulumi.CustomResourceOptions) {
      super(kind, name, args, opts);
    }
  }
  return KindResource as never;
}
