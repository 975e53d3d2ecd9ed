import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Database } from "./persistence/database";
import { openDatabase } from "./persistence/database";

/** Opens a state dir's hub.db from the CLI (alongside a running hub, or before the first start). */
export function openStateDatabase(stateDir: string): Database {
  mkdirSync(stateDir, { recursive: true });
  return openDatabase(join(stateDir, "hub.db"));
}
