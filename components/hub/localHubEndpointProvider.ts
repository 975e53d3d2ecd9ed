import { readFileSync } from "node:fs";
import type { LocalHubEndpointInputs, LocalHubEndpointOutputs } from "./localHubEndpoint";
import { gatewayHostNameOf, hubInfoReader } from "./runningLocalHub";

/**
 * The endpoint outputs of the hub running on the state dir (loaded in the provider process by the stub of
 * localHubEndpoint.ts); an error when that hub names no Entra authority.
 */
export const localHubEndpointProvider = hubInfoReader<LocalHubEndpointInputs, LocalHubEndpointOutputs>(
  (info, inputs) => {
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
  },
);
