import type * as pulumi from "@pulumi/pulumi";
import { projectProvider } from "../registry/lazyProvider";
import { registryResourceClass } from "../registry/registryResource";
import { manifestInput } from "./manifestSecrecy";
import { ADM_SECRET_INPUTS, type AdmArgs } from "./admProvider";
import {
  EDGE_DEPLOYMENT_OUTPUTS,
  type EdgeDeploymentOutputs,
  type ModulesContent,
} from "./edgeDeploymentProvider";

export interface EdgeDeploymentArgs extends AdmArgs {
  /**
   * The deployment manifest's `modulesContent`: `$edgeAgent` (runtime, system modules, modules), `$edgeHub`
   * (routes, store and forward) and each custom module's twin content. Content cannot change on IoT Hub: another
   * manifest makes a new deployment (created before the old one is deleted, so the devices never go without).
   */
  modulesContent: pulumi.Input<ModulesContent>;
  /**
   * A layered deployment adds `properties.desired.<path>` keys (modules below `$edgeAgent`'s `modules`, routes) to
   * the base deployment of the devices it targets, where its priority is higher than the base's (default false).
   */
  layered?: pulumi.Input<boolean>;
}

/** What Pulumi serializes for this resource: a small stub that loads edgeDeploymentProvider (see lazyProvider.ts). */
export const edgeDeploymentResourceProvider = projectProvider("edgeDeploymentProvider", __dirname);

const EdgeDeploymentResource = registryResourceClass<pulumi.Inputs, EdgeDeploymentOutputs>({
  type: "EdgeDeployment",
  provider: edgeDeploymentResourceProvider,
  outputs: EDGE_DEPLOYMENT_OUTPUTS,
  secretInputs: ADM_SECRET_INPUTS,
});

/**
 * An IoT Edge deployment: a manifest for the IoT Edge devices its target condition selects. Outputs as
 * Configuration's. A manifest with `registryCredentials` holds passwords: then (and whenever the manifest is not
 * known yet) `modulesContent` is stored as a secret.
 */
export class EdgeDeployment extends EdgeDeploymentResource {
  constructor(name: string, args: EdgeDeploymentArgs, opts?: pulumi.CustomResourceOptions) {
    const manifest = manifestInput(args.modulesContent, opts);
    super(name, { ...args, name: args.name ?? name, modulesContent: manifest.modulesContent }, manifest.opts);
  }
}
