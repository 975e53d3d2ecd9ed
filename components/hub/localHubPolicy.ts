import { projectProvider } from "../registry/lazyProvider";
import { plainOutput, secretOutput, type DeclaredOutputs } from "../registry/providerKit";
import { registryResourceClass } from "../registry/registryResource";

/** The inputs of the policy resource, as its provider receives them. */
export interface LocalHubPolicyInputs {
  stateDir: string;
  policyName: string;
  /** Comma-separated, as `iothub-local policy add --rights` takes them. */
  rights: string;
  /** Absolute path of bin/iothub-local.js: the provider runs in the engine's process, not this program's. */
  hubCli: string;
}

/** The policy resource's outputs besides its inputs: what every hub target yields (HubOutputs), declared once. */
export const LOCAL_HUB_POLICY_OUTPUTS = {
  hostName: plainOutput<string>(),
  serviceConnectionString: secretOutput<string>(),
  caFile: plainOutput<string>(),
  caCertificate: plainOutput<string>(),
  gatewayHostName: plainOutput<string | undefined>(),
};

export type LocalHubPolicyOutputs = LocalHubPolicyInputs & DeclaredOutputs<typeof LOCAL_HUB_POLICY_OUTPUTS>;

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
export class LocalHubPolicy extends registryResourceClass<LocalHubPolicyInputs, LocalHubPolicyOutputs>({
  type: "LocalHubPolicy",
  provider: localHubPolicyResourceProvider,
  outputs: LOCAL_HUB_POLICY_OUTPUTS,
  secretInputs: [],
}) {}
