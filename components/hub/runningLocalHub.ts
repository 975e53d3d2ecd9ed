import { sep } from "node:path";
import { DEFAULT_MQTT_PORT, DEFAULT_STATE_DIR } from "../../local-hub/configuration";
import { hubInfoPath, hubOnStateDir, type HubInfo } from "../../local-hub/stateDir";

/**
 * The running local hub of a state dir as the local target's providers see it (the policy provider and the
 * endpoint provider): its hub.json, or an error saying how to start it.
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
