import type * as pulumi from "@pulumi/pulumi";
import { IDENTITY_SECRET_INPUTS } from "./identityProvider";
import { projectProvider } from "./lazyProvider";
import { MODULE_IDENTITY_OUTPUTS, type ModuleIdentityOutputs } from "./moduleIdentityProvider";
import { registryResourceClass, type IdentityArgs } from "./registryResource";

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

/**
 * A module identity on a device in an IoT Hub's registry. Outputs: its inputs as the hub holds them, and
 * MODULE_IDENTITY_OUTPUTS (keys and the connection string are secrets).
 */
export class ModuleIdentity extends registryResourceClass<ModuleIdentityArgs, ModuleIdentityOutputs>({
  type: "ModuleIdentity",
  provider: moduleIdentityResourceProvider,
  outputs: MODULE_IDENTITY_OUTPUTS,
  secretInputs: IDENTITY_SECRET_INPUTS,
}) {}
