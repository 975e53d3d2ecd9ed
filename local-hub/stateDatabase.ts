import { chmodSync, existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Database } from "./persistence/database";
import { openDatabase } from "./persistence/database";

/** The state dir holds every policy and device key in clear (hub.db, key files): its owner only may enter it. */
export const STATE_DIR_MODE = 0o700;

/**
 * Creates the state dir with mode 0700, or tightens an existing one to 0700 when this user owns it (a dir made by
 * an older version, or by hand, under the default umask). A dir owned by someone else is left as it is.
 */
export function ensureStateDirectory(stateDir: string): void {
  mkdirSync(stateDir, { recursive: true, mode: STATE_DIR_MODE });
  const stat = statSync(stateDir);
  const ours = typeof process.getuid !== "function" || stat.uid === process.getuid();
  if (ours && (stat.mode & 0o777) !== STATE_DIR_MODE) chmodSync(stateDir, STATE_DIR_MODE);
}

export function hubDatabaseFile(stateDir: string): string {
  return join(stateDir, "hub.db");
}

/** True when the state dir holds a hub.db (a hub was started on it, or the CLI added a policy there). */
export function hasHubDatabase(stateDir: string): boolean {
  return existsSync(hubDatabaseFile(stateDir));
}

/** Opens a state dir's hub.db from the CLI (alongside a running hub, or before the first start). */
export function openStateDatabase(stateDir: string): Database {
  ensureStateDirectory(stateDir);
  return openDatabase(hubDatabaseFile(stateDir));
}
