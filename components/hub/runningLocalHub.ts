import { sep } from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import { DEFAULT_MQTT_PORT, DEFAULT_STATE_DIR } from "../../local-hub/configuration";
import { hubInfoPath, hubOnStateDir, type HubInfo } from "../../local-hub/stateDir";
import { asState } from "../registry/providerKit";

/**
 * The running local hub of a state dir as the local target's providers see it (the policy, endpoint and DPS
 * providers): its hub.json, or an error saying how to start it.
 */

/** hub.json of the hub running on the state dir, or an error saying why there is none and how to start one. */
export function requireRunningHub(stateDir: string): HubInfo {
  const found = hubOnStateDir(stateDir);
  if (found.state === "running") return found.info;
  const infoFile = hubInfoPath(stateDir);
  const startHint =
    `Start it with \`npm run hub${stateDir.endsWith(`${sep}${DEFAULT_STATE_DIR}`) ? "" : ` -- --state ${stateDir}`}\`` +
    " (or run `npm run local`, which starts it in the background).";
  const why =
    found.state === "none"
      ? `${infoFile} does not exist`
      : found.reason === "exited"
        ? `${infoFile} names process ${found.info.pid}, which has exited`
        : `${infoFile} names process ${found.info.pid}, which is not an iothub-local hub`;
  throw new Error(`The local IoT Hub is not running: ${why}. ${startHint}`);
}

/** `host:port` for device connection strings when the hub's MQTT is not on 8883, else undefined. */
export function gatewayHostNameOf(info: HubInfo): string | undefined {
  return info.mqttPort === DEFAULT_MQTT_PORT ? undefined : `${info.hostName}:${info.mqttPort}`;
}

/**
 * A provider for a resource that only reads what the hub running on `inputs.stateDir` reports (hub.json):
 * `outputsOf` makes its outputs from hub.json (or throws, saying what the hub lacks). The id is the state dir, a
 * new state dir replaces the resource, `pulumi refresh` reads hub.json afresh (a hub restarted on another address,
 * port or key), and since nothing in the hub belongs to the resource, delete has nothing to do.
 */
export function hubInfoReader<Inputs extends { stateDir: string }, Outputs extends Inputs>(
  outputsOf: (info: HubInfo, inputs: Inputs) => Outputs,
): pulumi.dynamic.ResourceProvider<Inputs, Outputs> {
  const read = (inputs: Inputs) => asState(outputsOf(requireRunningHub(inputs.stateDir), inputs));
  return {
    // The input comes from the validated stack config (components/config.ts) and is taken as it is.
    async check(_olds, news) {
      return { inputs: news };
    },

    async diff(_id, olds, news) {
      const replaces = olds.stateDir === news.stateDir ? [] : ["stateDir"];
      return { changes: replaces.length > 0, replaces, deleteBeforeReplace: false };
    },

    async create(inputs) {
      return { id: inputs.stateDir, outs: read(inputs) };
    },

    async read(id, props) {
      if (!props) return { id: "", props: {} as Outputs };
      return { id, props: read(props) };
    },

    async delete() {},
  };
}
