import { readFileSync } from "node:fs";
import type * as pulumi from "@pulumi/pulumi";
import { asState } from "../registry/providerKit";
import type { LocalDpsInputs, LocalDpsOutputs } from "./localDps";
import { requireRunningHub } from "./runningLocalHub";

/** The local DPS of the hub running on the state dir; an error when none runs or it runs no DPS. */
function dpsOf(inputs: LocalDpsInputs): LocalDpsOutputs {
  const info = requireRunningHub(inputs.stateDir);
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
}

/**
 * Reads the running hub's hub.json (loaded in the provider process by the stub of localDps.ts). Nothing in the hub
 * belongs to this resource, so delete has nothing to do.
 */
export const localDpsProvider: pulumi.dynamic.ResourceProvider<LocalDpsInputs, LocalDpsOutputs> = {
  // The input comes from the validated stack config (components/config.ts) and is taken as it is.
  async check(_olds, news) {
    return { inputs: news };
  },

  async diff(_id, olds, news) {
    const replaces = olds.stateDir === news.stateDir ? [] : ["stateDir"];
    return { changes: replaces.length > 0, replaces, deleteBeforeReplace: false };
  },

  async create(inputs) {
    return { id: inputs.stateDir, outs: asState(dpsOf(inputs)) };
  },

  // `pulumi refresh`: a hub restarted on another address, port or key is read afresh.
  async read(id, props) {
    if (!props) return { id: "", props: {} as LocalDpsOutputs };
    return { id, props: asState(dpsOf(props)) };
  },

  async delete() {},
};
