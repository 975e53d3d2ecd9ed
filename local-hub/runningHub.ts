import { readFileSync } from "node:fs";
import type { HubInfo } from "./hubInfo";
import { readHubInfo } from "./hubInfo";

/**
 * The hub running on a state dir, if any: hub.json exists and its pid is a live iothub-local process. A hub killed
 * with -9 leaves hub.json behind, and its pid may since belong to another program, which must never get a signal.
 */
export function findRunningHub(stateDir: string): HubInfo | undefined {
  const info = readHubInfo(stateDir);
  if (!info || info.pid === process.pid || !isAlive(info.pid)) return undefined;
  return isIotHubLocal(info.pid) ? info : undefined;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function isIotHubLocal(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("iothub-local");
  } catch {
    // No /proc (macOS): trust hub.json.
    return true;
  }
}
