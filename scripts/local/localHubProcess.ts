import { findRunningHub, launchHub } from "../../local-hub/stateDir";

/**
 * The local hub as `npm run local` needs it: reuse the one running on the state dir, or start one in the background
 * (its output in <state>/hub.log) that outlives this script. `iothub-local stop --state <state>` stops it.
 */

export interface RunningHub {
  hostName: string;
  pid: number;
  /** True when this call started it. */
  started: boolean;
}

/** Resolves once hub.json names a live hub; rejects with the log's last lines when a new hub exits first. */
export async function ensureLocalHub(options: { stateDir: string; args?: string[] }): Promise<RunningHub> {
  const running = findRunningHub(options.stateDir);
  if (running) return { hostName: running.hostName, pid: running.pid, started: false };
  const info = await launchHub({ ...options, detached: true }).ready;
  return { hostName: info.hostName, pid: info.pid, started: true };
}
