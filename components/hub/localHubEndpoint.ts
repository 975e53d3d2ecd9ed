import { projectProvider } from "../registry/lazyProvider";
import { plainOutput, type DeclaredOutputs } from "../registry/providerKit";
import { registryResourceClass } from "../registry/registryResource";

/** The inputs of the endpoint resource, as its provider receives them. */
export interface LocalHubEndpointInputs {
  /** The running hub's state dir (absolute). */
  stateDir: string;
}

/**
 * What the local target needs of the running hub with auth entra, read from its hub.json: the host, TLS trust
 * and MQTT gateway every target yields, and its Entra authority (hub.json's `entra`). No key: nothing secret.
 */
export const LOCAL_HUB_ENDPOINT_OUTPUTS = {
  hostName: plainOutput<string>(),
  caFile: plainOutput<string>(),
  caCertificate: plainOutput<string>(),
  gatewayHostName: plainOutput<string | undefined>(),
  authorityHost: plainOutput<string>(),
  tenantId: plainOutput<string>(),
};

export type LocalHubEndpointOutputs = LocalHubEndpointInputs &
  DeclaredOutputs<typeof LOCAL_HUB_ENDPOINT_OUTPUTS>;

/** The same small stub as the other dynamic resources (components/registry/lazyProvider.ts). */
export const localHubEndpointResourceProvider = projectProvider("localHubEndpointProvider", __dirname);

/**
 * The running local hub's endpoint and Entra authority, as a resource (auth entra on the local target, where no
 * policy is made): read from hub.json when created and on refresh; deleting it changes nothing in the hub.
 */
export class LocalHubEndpoint extends registryResourceClass<LocalHubEndpointInputs, LocalHubEndpointOutputs>({
  type: "LocalHubEndpoint",
  provider: localHubEndpointResourceProvider,
  outputs: LOCAL_HUB_ENDPOINT_OUTPUTS,
  secretInputs: [],
}) {}
