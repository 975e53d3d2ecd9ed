import { readFileSync } from "node:fs";
import type { LocalDpsInputs, LocalDpsOutputs } from "./localDps";
import { hubInfoReader } from "./runningLocalHub";

/**
 * The local DPS of the hub running on the state dir (loaded in the provider process by the stub of localDps.ts);
 * an error when that hub runs no DPS.
 */
export const localDpsProvider = hubInfoReader<LocalDpsInputs, LocalDpsOutputs>((info, inputs) => {
  if (!info.dps) {
    throw new Error(
      `The local IoT Hub on ${inputs.stateDir} runs no DPS (hub.json has no dps): restart it with ` +
        "`--dps-host ADDR`, an address of its own (e.g. 127.0.0.2)",
    );
  }
  return {
    ...inputs,
    hostName: info.dps.hostName,
    idScope: info.dps.idScope,
    provisioningHost: `${info.dps.host}:${info.dps.mqttPort}`,
    serviceConnectionString: info.dps.connectionString,
    caCertificate: readFileSync(info.caFile, "utf8"),
  };
});
