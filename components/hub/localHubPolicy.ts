import * as pulumi from "@pulumi/pulumi";
import { projectProvider } from "../registry/lazyProvider";

/** The inputs of the policy resource, as its provider receives them. */
export interface LocalHubPolicyInputs {
  stateDir: string;
  policyName: string;
  /** Comma-separated, as `iothub-local policy add --rights` takes them. */
  rights: string;
  /** Absolute path of bin/iothub-local.js: the provider runs in the engine's process, not this program's. */
  hubCli: string;
}

/** The policy resource's outputs: what every hub target yields (HubOutputs), in plain form. */
export interface LocalHubPolicyOutputs extends LocalHubPolicyInputs {
  hostName: string;
  serviceConnectionString: string;
  caFile: string;
  caCertificate: string;
  gatewayHostName?: string;
}

/**
 * What Pulumi serializes for this resource: the same small stub as the registry resources (see
 * components/registry/lazyProvider.ts), loading localHubPolicyProvider in the provider process. So the provider's
 * code imports the project's modules normally, and `delete` of an older state runs today's implementation.
 */
export const localHubPolicyResourceProvider = projectProvider("localHubPolicyProvider", __dirname);

/**
 * The provisioner policy in the running local hub, as a resource: created with the local hub's CLI, removed on
 * delete. Its connection string is a secret output.
 */
export class LocalHubPolicy extends pulumi.dynamic.Resource {
  declare readonly hostName: pulumi.Output<string>;
  declare readonly serviceConnectionString: pulumi.Output<string>;
  declare readonly caFile: pulumi.Output<string>;
  declare readonly caCertificate: pulumi.Output<string>;
  declare readonly gatewayHostName: pulumi.Output<string | undefined>;

  constructor(name: string, args: LocalHubPolicyInputs, opts?: pulumi.CustomResourceOptions) {
    super(
      localHubPolicyResourceProvider,
      name,
      {
        ...args,
        hostName: undefined,
        serviceConnectionString: undefined,
        caFile: undefined,
        caCertificate: undefined,
        gatewayHostName: undefined,
      },
      {
        ...opts,
        additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "serviceConnectionString"],
      },
      "iothub",
      "LocalHubPolicy",
    );
  }
}
