import * as pulumi from "@pulumi/pulumi";
import { hasRegistryCredentials } from "../lib/iothub/edgeManifest";
import { describeViolations } from "../lib/iothub/rules";
import type { ConfigurationOutput } from "../lib/iothub/stackOutputs";
import { Configuration, EdgeDeployment } from "./adm";
import { checkAdmEntries, type ConfigurationConfig, type DeploymentConfig } from "./admConfig";
import { dottedPath } from "./schemaViolations";
import { resourceHubConnection, type ComponentHubArgs } from "./hubAccess";
import type { RegistryProviderOptions } from "./registry";

/** What the component needs: the hub (from either target) and the resolved entries of the stack config. */
export interface DeviceManagementArgs extends ComponentHubArgs {
  /** The local hub's CA (PEM), trusted by the providers besides the system CAs. */
  caCertificate?: pulumi.Input<string | undefined>;
  deployments: DeploymentConfig[];
  configurations: ConfigurationConfig[];
  registry?: RegistryProviderOptions;
}

/** One entry of the stack's `deployments`/`configurations` outputs, its content secret where it holds passwords. */
export type DeviceManagementOutput = ConfigurationOutput<pulumi.Output<string>, pulumi.Input<unknown>>;

/**
 * Resource names: stable (derived from the configuration's name only, so the content can change under the same
 * resource, as a replace) and safe in URNs (percent-encoded, as the Fleet's).
 */
export function admResourceName(
  componentName: string,
  kind: "deployment" | "configuration",
  name: string,
): string {
  return `${componentName}-${kind}-${encodeURIComponent(name)}`;
}

/**
 * The stack's IoT Edge deployments and ADM configurations as resources: an EdgeDeployment per deployment, a
 * Configuration per configuration. Its preconditions (names unique across both lists, layered priorities above a
 * base) are checked before anything registers. Outputs per entry what verify needs: the configuration id, its
 * kind and the content it writes.
 */
export class DeviceManagement extends pulumi.ComponentResource {
  readonly deployments: DeviceManagementOutput[];
  readonly configurations: DeviceManagementOutput[];

  constructor(name: string, args: DeviceManagementArgs, opts?: pulumi.ComponentResourceOptions) {
    const violations = checkAdmEntries(
      { deployments: args.deployments, configurations: args.configurations },
      dottedPath,
    );
    if (violations.length > 0) {
      throw new Error(`DeviceManagement "${name}": invalid args: ${describeViolations(violations)}`);
    }
    super("iothub-provisioner:adm:DeviceManagement", name, {}, opts);
    const hub = {
      ...resourceHubConnection(args),
      caCertificate: args.caCertificate as pulumi.Input<string> | undefined,
      registry: args.registry,
    };
    const parented = { parent: this, dependsOn: args.dependsOn ?? [] };
    const settings = (entry: DeploymentConfig | ConfigurationConfig) => ({
      name: entry.name,
      targetCondition: entry.targetCondition,
      priority: entry.priority,
      labels: entry.labels,
      metrics: entry.metrics,
    });

    this.deployments = args.deployments.map((deployment) => {
      const resource = new EdgeDeployment(
        admResourceName(name, "deployment", deployment.name),
        {
          ...hub,
          ...settings(deployment),
          layered: deployment.layered,
          modulesContent: deployment.modulesContent,
        },
        parented,
      );
      const content = { modulesContent: deployment.modulesContent };
      return {
        name: deployment.name,
        configurationId: resource.configurationId,
        kind: "edge" as const,
        layered: deployment.layered,
        priority: deployment.priority,
        targetCondition: deployment.targetCondition,
        content: hasRegistryCredentials(deployment.modulesContent) ? pulumi.secret(content) : content,
      };
    });
    this.configurations = args.configurations.map((configuration) => {
      const resource = new Configuration(
        admResourceName(name, "configuration", configuration.name),
        { ...hub, ...settings(configuration), content: configuration.content },
        parented,
      );
      return {
        name: configuration.name,
        configurationId: resource.configurationId,
        kind: configuration.content.moduleContent ? ("module" as const) : ("device" as const),
        priority: configuration.priority,
        targetCondition: configuration.targetCondition,
        content: configuration.content,
      };
    });
    this.registerOutputs({ deployments: this.deployments, configurations: this.configurations });
  }
}
