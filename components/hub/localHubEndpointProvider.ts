import { readFileSync } from "node:fs";
import type * as pulumi from "@pulumi/pulumi";
import { asState } from "../registry/providerKit";
import type { LocalHubEndpointInputs, LocalHubEndpointOutputs } from "./localHubEndpoint";
import { gatewayHostNameOf, requireRunningHub } from "./runningLocalHub";

/** The endpoint outputs of the hub running on the state dir; an error when none runs or it has no authority. */
function endpointOf(inputs: LocalHubEndpointInputs): LocalHubEndpointOutputs {
  const info = requireRunningHub(inputs.stateDir);
  if (!info.entra) {
    throw new Error(
      `The local IoT Hub on ${inputs.stateDir} names no Entra authority in its hub.json: restart it with this ` +
        "version of iothub-local (auth: entra needs its token endpoint).",
    );
  }
  return {
    ...inputs,
    hostName: info.hostName,
    caFile: info.caFile,
    caCertificate: readFileSync(info.caFile, "utf8"),
    gatewayHostName: gatewayHostNameOf(info),
    authorityHost: info.entra.authorityHost,
    tenantId: info.entra.tenantId,
  };
}

/**
 * Reads the running hub's hub.json (loaded in the provider process by the stub of localHubEndpoint.ts). Nothing in
 * the hub belongs to this resource, so delete has nothing to do.
 */
export const localHubEndpointProvider: pulumi.dynamic.ResourceProvider<
  LocalHubEndpointInputs,
  LocalHubEndpointOutputs
> = {
  // The input comes from the validated stack config (components/config.ts) and is taken as it is.
  async check(_olds, news) {
    return { inputs: news };
  },

  async diff(_id, olds, news) {
    const replaces = olds.stateDir === news.stateDir ? [] : ["stateDir"];
    return { changes: replaces.length > 0, replaces, deleteBeforeReplace: false };
  },

  async create(inputs) {
    return { id: inputs.stateDir, outs: asState(endpointOf(inputs)) };
  },

  // `pulumi refresh`: a hub restarted on another address or entra port is read afresh.
  async read(id, props) {
    if (!props) return { id: "", props: {} as LocalHubEndpointOutputs };
    return { id, props: asState(endpointOf(props)) };
  },

  async delete() {},
};
