import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, openSync, readFileSync, statSync, watch } from "node:fs";
import * as path from "node:path";
import { findRunningHub } from "../../local-hub/runningHub";

/**
 * The local hub as `npm run local` needs it: reuse a running one, or start one in the background (detached, its
 * output in <state>/hub.log) and wait until it is ready. `iothub-local stop --state <state>` stops it.
 */

export interface RunningHub {
  hostName: string;
  pid: number;
  /** True when this call started it. */
  started: boolean;
}

/** Resolves once hub.json names a live hub; rejects when the hub process exits first. */
export async function ensureLocalHub(options: {
  cli: string;
  stateDir: string;
  args?: string[];
}): Promise<RunningHub> {
  const running = findRunningHub(options.stateDir);
  if (running) return { hostName: running.hostName, pid: running.pid, started: false };

  // The state dir holds every key in clear: owner only (the hub itself tightens it too, see local-hub/stateDatabase.ts).
  mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });
  const stat = statSync(options.stateDir);
  if (stat.uid === process.getuid?.() && (stat.mode & 0o777) !== 0o700) chmodSync(options.stateDir, 0o700);
  const logFile = path.join(options.stateDir, "hub.log");
  const log = openSync(logFile, "a", 0o600);
  const child = spawn(
    process.execPath,
    [options.cli, "start", "--state", options.stateDir, ...(options.args ?? [])],
    {
      detached: true,
      stdio: ["ignore", log, log],
    },
  );

  return new Promise<RunningHub>((resolve, reject) => {
    const watcher = watch(options.stateDir, () => check());
    const finish = (error?: Error, hub?: RunningHub) => {
      watcher.close();
      child.removeAllListeners("exit");
      if (error) reject(error);
      else {
        // Leave it running on its own: this process may exit, the hub stays.
        child.unref();
        resolve(hub!);
      }
    };
    function check(): void {
      const hub = findRunningHub(options.stateDir);
      if (hub && hub.pid === child.pid)
        finish(undefined, { hostName: hub.hostName, pid: hub.pid, started: true });
    }
    child.once("exit", (code, signal) => {
      const tail = existsSync(logFile)
        ? readFileSync(logFile, "utf8").trim().split("\n").slice(-15).join("\n")
        : "";
      finish(
        new Error(`The local IoT Hub did not start (exit ${code ?? signal}). Its log (${logFile}):\n${tail}`),
      );
    });
    check();
  });
}
