import { projectProvider } from "../registry/lazyProvider";
import { plainOutput, secretOutput, type DeclaredOutputs } from "../registry/providerKit";
import { registryResourceClass } from "../registry/registryResource";
import type { DpsOutputs } from "./dpsOutputs";

/** The inputs of the local DPS resource, as its provider receives them. */
export interface LocalDpsInputs {
  /** The running hub's state dir (absolute). */
  stateDir: string;
}

/**
 * What the local target needs of the running hub's local DPS, read from hub.json's `dps`: the outputs an Azure
 * DPS has (id scope, service host, device endpoint) and the owner policy's connection string (secret), plus the CA
 * its certificate chains to.
 */
export const LOCAL_DPS_OUTPUTS = {
  /** The service API's host name (connection strings name it). */
  hostName: plainOutput<string>(),
  idScope: plainOutput<string>(),
  /** Where devices register: `host:mqttPort` (the device SDK's provisioningHost). */
  provisioningHost: plainOutput<string>(),
  /** `provisioningserviceowner`'s connection string. */
  serviceConnectionString: secretOutput<string>(),
  caCertificate: plainOutput<string>(),
};

export type LocalDpsOutputs = LocalDpsInputs & DeclaredOutputs<typeof LOCAL_DPS_OUTPUTS>;

/** The same small stub as the other dynamic resources (components/registry/lazyProvider.ts). */
export const localDpsResourceProvider = projectProvider("localDpsProvider", __dirname);

/**
 * The running local hub's DPS, as a resource: read from hub.json when created and on refresh; deleting it changes
 * nothing in the hub.
 */
export class LocalDps extends registryResourceClass<LocalDpsInputs, LocalDpsOutputs>({
  type: "LocalDps",
  provider: localDpsResourceProvider,
  outputs: LOCAL_DPS_OUTPUTS,
  secretInputs: [],
}) {}

/**
 * The local DPS as the program's DpsOutputs. The local hub's DPS has the owner policy in hub.json, which serves the
 * enrollment resources and verify alike (a local hub is its user's own).
 */
export function localDpsOutputs(dps: LocalDps): DpsOutputs {
  return {
    idScope: dps.idScope,
    serviceHostName: dps.hostName,
    provisioningHost: dps.provisioningHost,
    enrollmentConnectionString: dps.serviceConnectionString,
    verifyConnectionString: dps.serviceConnectionString,
    caCertificate: dps.caCertificate,
  };
}
