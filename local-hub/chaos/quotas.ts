import type { Database } from "../persistence/database";
import { DatabaseCache } from "../persistence/database";
import type { OperationClass } from "./operationClass";
import { OPERATION_CLASSES } from "./operationClass";

/** A rate limit for one operation class: `count` operations per `per`. */
export interface QuotaRule {
  operationClass: OperationClass;
  count: number;
  per: "s" | "min";
}

/**
 * IoT Hub S1, one unit, and DPS (one unit) for the local DPS (Microsoft's published throttles: DPS takes 1,000
 * device registrations and 200 service operations a minute). `S1,DPS` sets both.
 */
export const QUOTA_PRESETS: Record<string, readonly QuotaRule[]> = {
  S1: [
    { operationClass: "registry", count: 100, per: "min" },
    { operationClass: "bulk", count: 100, per: "min" },
    { operationClass: "twinRead", count: 100, per: "s" },
    { operationClass: "twinUpdate", count: 50, per: "s" },
    { operationClass: "query", count: 20, per: "min" },
    { operationClass: "methods", count: 20, per: "s" },
    { operationClass: "configurations", count: 20, per: "min" },
  ],
  DPS: [
    { operationClass: "dpsRegistration", count: 1000, per: "min" },
    { operationClass: "dpsService", count: 200, per: "min" },
  ],
};

/** `S1`, or `CLASS=RATE[,CLASS=RATE...]` with RATE `N/s` or `N/min` (a preset and rates may be mixed). */
export function parseQuotaSpec(spec: string): QuotaRule[] {
  const rules = new Map<OperationClass, QuotaRule>();
  for (const part of spec
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)) {
    const preset = Object.keys(QUOTA_PRESETS).find((name) => name.toLowerCase() === part.toLowerCase());
    if (preset) {
      for (const rule of QUOTA_PRESETS[preset]) rules.set(rule.operationClass, rule);
      continue;
    }
    const match = /^([A-Za-z]+)=(\d+(?:\.\d+)?)\/(s|min)$/.exec(part);
    if (!match) {
      throw new Error(
        `quota: '${part}' is neither a preset (${Object.keys(QUOTA_PRESETS).join(", ")}) nor CLASS=N/s or CLASS=N/min`,
      );
    }
    const operationClass = OPERATION_CLASSES.find((c) => c === match[1]);
    if (!operationClass) {
      throw new Error(`quota: '${match[1]}' is not an operation class; use ${OPERATION_CLASSES.join(", ")}`);
    }
    const count = Number(match[2]);
    if (!(count > 0)) throw new Error(`quota: the rate of ${operationClass} must be greater than 0`);
    rules.set(operationClass, { operationClass, count, per: match[3] as "s" | "min" });
  }
  if (rules.size === 0) throw new Error("quota: give a preset or at least one CLASS=RATE");
  return [...rules.values()];
}

export function formatQuotaRule(rule: QuotaRule): string {
  return `${rule.operationClass}=${rule.count}/${rule.per}`;
}

/** Quotas live in hub.db so `iothub-local quota ...` changes a running hub. */
export class QuotaStore {
  readonly rules: DatabaseCache<QuotaRule[]>;

  constructor(private readonly db: Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS quotas (
      operation_class TEXT PRIMARY KEY,
      count REAL NOT NULL,
      per TEXT NOT NULL
    )`);
    this.rules = new DatabaseCache(db, (database) =>
      (
        database
          .prepare("SELECT operation_class, count, per FROM quotas ORDER BY operation_class")
          .all() as Array<{
          operation_class: OperationClass;
          count: number;
          per: "s" | "min";
        }>
      ).map((row) => ({ operationClass: row.operation_class, count: row.count, per: row.per })),
    );
  }

  /** Sets (or replaces) the given classes' rules; other classes keep theirs. */
  set(rules: readonly QuotaRule[]): void {
    const upsert = this.db.prepare(
      "INSERT INTO quotas (operation_class, count, per) VALUES (?, ?, ?) " +
        "ON CONFLICT (operation_class) DO UPDATE SET count = excluded.count, per = excluded.per",
    );
    this.db.transaction(() => {
      for (const rule of rules) upsert.run(rule.operationClass, rule.count, rule.per);
    })();
    this.rules.invalidate();
  }

  /** Removes every quota; returns the ones removed. */
  clear(): QuotaRule[] {
    const removed = this.db.transaction(() => {
      const rules = this.list();
      this.db.prepare("DELETE FROM quotas").run();
      return rules;
    })();
    this.rules.invalidate();
    return removed;
  }

  list(): QuotaRule[] {
    return this.rules.get();
  }
}

/**
 * A token bucket: holds up to one period's worth of operations and refills continuously, so a client may burst a
 * whole period's allowance and is then held to the rate, which is how IoT Hub's throttles behave.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly perMs: number;

  constructor(
    private readonly capacity: number,
    periodMs: number,
    now: number = Date.now(),
  ) {
    this.tokens = capacity;
    this.last = now;
    this.perMs = capacity / periodMs;
  }

  take(now: number = Date.now()): boolean {
    this.tokens = Math.min(this.capacity, this.tokens + (now - this.last) * this.perMs);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** One bucket per class, remade whenever the stored rules change. */
export class QuotaLimiter {
  private buckets = new Map<OperationClass, TokenBucket>();
  private rulesSeen: QuotaRule[] | undefined;

  constructor(private readonly store: QuotaStore) {}

  /** False when `operationClass` is over its quota. */
  admit(operationClass: OperationClass, now: number = Date.now()): boolean {
    const rules = this.store.rules.get();
    if (rules !== this.rulesSeen) {
      this.rulesSeen = rules;
      this.buckets = new Map(
        rules.map((rule) => [
          rule.operationClass,
          new TokenBucket(rule.count, rule.per === "s" ? 1000 : 60_000, now),
        ]),
      );
    }
    return this.buckets.get(operationClass)?.take(now) ?? true;
  }
}
