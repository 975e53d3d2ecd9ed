import type * as pulumi from "@pulumi/pulumi";
import { projectProvider } from "../registry/lazyProvider";
import { registryResourceClass } from "../registry/registryResource";
import { manifestInput } from "./manifestSecrecy";
import { ADM_SECRET_INPUTS } from "./admProvider";
import {
  EDGE_DEVICE_MODULES_OUTPUTS,
  type EdgeDeviceModulesArgs,
  type EdgeDeviceModulesOutputs,
} from "./edgeDeviceModulesProvider";

export type { EdgeDeviceModulesArgs };

/** What Pulumi serializes for this resource: a small stub that loads edgeDeviceModulesProvider (see lazyProvider.ts). */
export const edgeDeviceModulesResourceProvider = projectProvider("edgeDeviceModulesProvider", __dirname);

const EdgeDeviceModulesResource = registryResourceClass<pulumi.Inputs, EdgeDeviceModulesOutputs>({
  type: "EdgeDeviceModules",
  provider: edgeDeviceModulesResourceProvider,
  outputs: EDGE_DEVICE_MODULES_OUTPUTS,
  secretInputs: ADM_SECRET_INPUTS,
});

/**
 * One IoT Edge device's modules, set directly (`az iot edge set-modules`): a whole manifest written into the
 * device's module twins. Resource id: the deviceId. Deleting it leaves the modules as they are. A manifest with
 * `registryCredentials` (or one not known yet) is stored as a secret, as EdgeDeployment's.
 */
export class EdgeDeviceModules extends EdgeDeviceModulesResource {
  constructor(name: string, args: EdgeDeviceModulesArgs, opts?: pulumi.CustomResourceOptions) {
    const manifest = manifestInput(args.modulesContent, opts);
    super(name, { ...args, modulesContent: manifest.modulesContent }, manifest.opts);
  }
}
