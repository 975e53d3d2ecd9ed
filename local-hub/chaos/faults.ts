import type { Database } from "../persistence/database";
import { DatabaseCache } from "../persistence/database";
import type { OperationClass } from "./operationClass";
import { OPERATION_CLASSES } from "./operationClass";

export const FAULT_MODES = ["503", "hang", "reset", "drop"] as const;
export type FaultMode = (typeof FAULT_MODES)[number];
export type FaultKind = OperationClass | "all";

export interface Fault {
  id: number;
  kind: FaultKind;
  mode: FaultMode;
  /** Operations still to fail; undefined = until cleared. */
  remaining?: number;
  /** Only operations whose path (HTTPS) or topic (MQTT) contains this text. */
  match?: string;
}

export type FaultSpec = Omit<Fault, "id">;

/** Validates a fault before it is stored, naming the field and the rule. */
export function validateFault(kind: string, mode: string, count = 1, match?: string): FaultSpec {
  if (kind !== "all" && !OPERATION_CLASSES.some((c) => c === kind)) {
    throw new Error(
      `fault: KIND '${kind}' is not an operation class; use all, ${OPERATION_CLASSES.join(", ")}`,
    );
  }
  if (!FAULT_MODES.some((m) => m === mode)) {
    throw new Error(`fault: --mode '${mode}' must be one of ${FAULT_MODES.join(", ")}`);
  }
  if (mode === "drop" && kind !== "desiredPush") {
    throw new Error("fault: --mode drop applies to desiredPush only (the patch is applied but not pushed)");
  }
  if (!Number.isInteger(count) || count < 0) {
    throw new Error(`fault: --count must be a whole number >= 0 (0 = until cleared), got ${count}`);
  }
  return {
    kind: kind as FaultKind,
    mode: mode as FaultMode,
    remaining: count === 0 ? undefined : count,
    match: match || undefined,
  };
}

/** `KIND:MODE[:COUNT[:MATCH]]`, the form `iothub-local start --fault` takes, e.g. `registry:503:2`. */
export function parseFaultSpec(spec: string): FaultSpec {
  const [kind, mode, count, ...match] = spec.split(":");
  if (!kind || !mode)
    throw new Error(`fault: '${spec}' must be KIND:MODE[:COUNT[:MATCH]], e.g. registry:503:2`);
  const parsedCount = count === undefined || count === "" ? 1 : Number(count);
  return validateFault(kind, mode, parsedCount, match.length ? match.join(":") : undefined);
}

export function describeFault(fault: Fault): string {
  const count = fault.remaining === undefined ? "until cleared" : `${fault.remaining} left`;
  return `#${fault.id} ${fault.kind} ${fault.mode} (${count})${fault.match ? ` matching '${fault.match}'` : ""}`;
}

interface FaultRow {
  id: number;
  kind: FaultKind;
  mode: FaultMode;
  remaining: number | null;
  match: string | null;
}

/** Faults live in hub.db so `iothub-local fault ...` changes a running hub. */
export class FaultStore {
  private readonly cache: DatabaseCache<Fault[]>;
  private readonly clears: DatabaseCache<number>;

  constructor(private readonly db: Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS faults (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      kind TEXT NOT NULL,
      mode TEXT NOT NULL,
      remaining INTEGER,
      match TEXT
    )`);
    // Counts `fault clear`s, so a request held by a `hang` fault can tell that it was cleared (even when that
    // fault's row is already gone because its count was used up).
    db.exec(`CREATE TABLE IF NOT EXISTS fault_clears (id INTEGER PRIMARY KEY CHECK (id = 1), generation INTEGER NOT NULL);
      INSERT OR IGNORE INTO fault_clears (id, generation) VALUES (1, 0)`);
    this.clears = new DatabaseCache(
      db,
      (database) =>
        database.prepare("SELECT generation FROM fault_clears WHERE id = 1").pluck().get() as number,
    );
    this.cache = new DatabaseCache(db, (database) =>
      (database.prepare("SELECT * FROM faults ORDER BY id").all() as FaultRow[]).map((row) => ({
        id: row.id,
        kind: row.kind,
        mode: row.mode,
        remaining: row.remaining ?? undefined,
        match: row.match ?? undefined,
      })),
    );
  }

  add(spec: FaultSpec): Fault {
    const result = this.db
      .prepare("INSERT INTO faults (kind, mode, remaining, match) VALUES (?, ?, ?, ?)")
      .run(spec.kind, spec.mode, spec.remaining ?? null, spec.match ?? null);
    this.cache.invalidate();
    return { id: Number(result.lastInsertRowid), ...spec };
  }

  list(): Fault[] {
    return this.cache.get();
  }

  /** Removes every fault; returns the ones that were still armed. */
  clear(): Fault[] {
    const removed = this.db.transaction(() => {
      const faults = this.list();
      this.db.prepare("DELETE FROM faults").run();
      this.db.prepare("UPDATE fault_clears SET generation = generation + 1 WHERE id = 1").run();
      return faults;
    })();
    this.cache.invalidate();
    this.clears.invalidate();
    return removed;
  }

  /** How many times the faults were cleared so far. */
  clearGeneration(): number {
    return this.clears.get();
  }

  /**
   * The first fault that applies to this operation, consumed by one. Counting happens in the database, so two
   * processes (or a CLI clear) never let a fault fire more often than asked.
   */
  take(operationClass: OperationClass, subject: string): Fault | undefined {
    for (const fault of this.cache.get()) {
      if (fault.kind !== "all" && fault.kind !== operationClass) continue;
      if (fault.kind === "all" && fault.mode === "drop" && operationClass !== "desiredPush") continue;
      if (fault.match && !subject.includes(fault.match)) continue;
      if (fault.remaining === undefined) return fault;
      const consumed = this.db.transaction(() => {
        const updated = this.db
          .prepare("UPDATE faults SET remaining = remaining - 1 WHERE id = ? AND remaining > 0")
          .run(fault.id);
        this.db.prepare("DELETE FROM faults WHERE id = ? AND remaining <= 0").run(fault.id);
        return updated.changes > 0;
      })();
      this.cache.invalidate();
      if (consumed) return fault;
    }
    return undefined;
  }
}
