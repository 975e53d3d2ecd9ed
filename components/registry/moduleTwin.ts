import type * as pulumi from "@pulumi/pulumi";
import type { HubConnectionArgs } from "./hubConnection";
import { projectProvider } from "./lazyProvider";
import { MODULE_TWIN_OUTPUTS, type ModuleTwinOutputs } from "./moduleTwinProvider";
import { registryResourceClass } from "./registryResource";
import { TWIN_SECRET_INPUTS } from "./twinProvider";

export interface ModuleTwinArgs extends HubConnectionArgs {
  /** The module's device. */
  deviceId: pulumi.Input<string>;
  /** The module whose twin this is (the module identity must exist). */
  moduleId: pulumi.Input<string>;
  /**
   * Desired properties this resource owns. Keys written by others (the module, another tool) are left alone; a key
   * removed from here is removed from the twin.
   */
  desired: pulumi.Input<Record<string, unknown>>;
}

/** What Pulumi serializes for this resource: a small stub that loads moduleTwinProvider (see lazyProvider.ts). */
export const moduleTwinResourceProvider = projectProvider("moduleTwinProvider");

/**
 * The desired properties a program owns on one module's twin. Outputs: `desired` = what this resource owns, as
 * the hub holds it, and the twin's `version` and `etag`.
 */
export class ModuleTwin extends registryResourceClass<ModuleTwinArgs, ModuleTwinOutputs>({
  type: "ModuleTwin",
  provider: moduleTwinResourceProvider,
  outputs: MODULE_TWIN_OUTPUTS,
  secretInputs: TWIN_SECRET_INPUTS,
}) {}
