import type * as pulumi from "@pulumi/pulumi";
import { projectProvider } from "../registry/lazyProvider";
import { registryResourceClass } from "../registry/registryResource";
import { ADM_SECRET_INPUTS, type AdmArgs } from "./admProvider";
import { CONFIGURATION_OUTPUTS, type ConfigurationOutputs, type TwinContent } from "./configurationProvider";

export interface ConfigurationArgs extends AdmArgs {
  /**
   * What it writes into the twins it targets: `{deviceContent}` or `{moduleContent}`, each a map of
   * `properties.desired[.<path>]` -> value. Content cannot change on IoT Hub: other content makes a new
   * configuration (created before the old one is deleted).
   */
  content: pulumi.Input<TwinContent>;
}

/** What Pulumi serializes for this resource: a small stub that loads configurationProvider (see lazyProvider.ts). */
export const configurationResourceProvider = projectProvider("configurationProvider", __dirname);

const ConfigurationResource = registryResourceClass<pulumi.Inputs, ConfigurationOutputs>({
  type: "Configuration",
  provider: configurationResourceProvider,
  outputs: CONFIGURATION_OUTPUTS,
  secretInputs: ADM_SECRET_INPUTS,
});

/**
 * An automatic device management configuration: content for the device twins (or module twins) its target
 * condition selects, applied by the hub by priority. Outputs: `configurationId` (`<name>-<content hash>`), `etag`,
 * `systemMetrics`, `metricResults`, and the inputs as the hub holds them (after refresh: drift shows there).
 */
export class Configuration extends ConfigurationResource {
  constructor(name: string, args: ConfigurationArgs, opts?: pulumi.CustomResourceOptions) {
    super(name, { ...args, name: args.name ?? name }, opts);
  }
}
