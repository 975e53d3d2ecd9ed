import * as pulumi from "@pulumi/pulumi";
import type { HubConnectionArgs } from "./hubConnection";
import { projectProvider } from "./lazyProvider";
import { RegistryResource, TWIN_SECRET_OUTPUTS, type RegistryResourceKind } from "./registryResource";

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

const MODULE_TWIN_KIND: RegistryResourceKind = {
  type: "ModuleTwin",
  provider: moduleTwinResourceProvider,
  outputs: ["version", "etag"],
  secretOutputs: TWIN_SECRET_OUTPUTS,
};

/** The desired properties a program owns on one module's twin. */
export class ModuleTwin extends RegistryResource {
  declare readonly deviceId: pulumi.Output<string>;
  declare readonly moduleId: pulumi.Output<string>;
  /** What this resource owns, as the hub holds it. */
  declare readonly desired: pulumi.Output<Record<string, unknown>>;
  declare readonly version: pulumi.Output<number>;
  declare readonly etag: pulumi.Output<string>;

  constructor(name: string, args: ModuleTwinArgs, opts?: pulumi.CustomResourceOptions) {
    super(MODULE_TWIN_KIND, name, args, opts);
  }
}
