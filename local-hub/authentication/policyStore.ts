import { generateKey } from "../../lib/iothub/sas";
import { checkPolicyName, describeViolations, type RuleViolation } from "../../lib/iothub/rules";
import type { Database } from "../persistence/database";
import { DatabaseCache } from "../persistence/database";
import type { Right } from "./rights";
import { RIGHTS } from "./rights";

/** A shared access policy, as IoT Hub and DPS have them: a name, two keys and a set of rights. */
export interface SharedAccessPolicy<R extends string = Right> {
  name: string;
  primaryKey: string;
  secondaryKey: string;
  rights: R[];
}

/** Whose policies a store holds: IoT Hub's (table `policies`) or another service's with its own rights. */
export interface PolicyFamily<R extends string> {
  table: string;
  /** The hub_settings entry that records the defaults were seeded. */
  seededSetting: string;
  defaults: ReadonlyArray<{ name: string; rights: R[] }>;
  rights: readonly R[];
}

/** The policies every new IoT Hub starts with (Azure's defaults). */
export const DEFAULT_POLICIES: ReadonlyArray<{ name: string; rights: Right[] }> = [
  { name: "iothubowner", rights: ["RegistryRead", "RegistryWrite", "ServiceConnect", "DeviceConnect"] },
  { name: "service", rights: ["ServiceConnect"] },
  { name: "device", rights: ["DeviceConnect"] },
  { name: "registryRead", rights: ["RegistryRead"] },
  { name: "registryReadWrite", rights: ["RegistryRead", "RegistryWrite"] },
];

export const OWNER_POLICY = "iothubowner";

export const HUB_POLICIES: PolicyFamily<Right> = {
  table: "policies",
  seededSetting: "policiesSeeded",
  defaults: DEFAULT_POLICIES,
  rights: RIGHTS,
};

/** `RIGHT[,RIGHT...]` of a family (IoT Hub's by default), case-insensitive, each once. */
export function parseRights<R extends string = Right>(
  text: string,
  known: readonly R[] = RIGHTS as readonly string[] as readonly R[],
): R[] {
  const named = text
    .split(/[,\s]+/)
    .map((right) => right.trim())
    .filter(Boolean);
  if (named.length === 0) throw new Error(`rights: give at least one of ${known.join(", ")}`);
  const rights = named.map((right) => {
    const match = known.find((r) => r.toLowerCase() === right.toLowerCase());
    if (!match) throw new Error(`rights: '${right}' is not a right; use ${known.join(", ")}`);
    return match;
  });
  return [...new Set(rights)];
}

/** What `add` checks before it writes anything; the CLI runs it before it even opens hub.db. */
export function checkNewPolicy(name: string, rights: readonly string[]): RuleViolation[] {
  return [
    ...checkPolicyName(name, "policy name"),
    ...(rights.length === 0 ? [{ field: "rights", rule: "a policy needs at least one right" }] : []),
  ];
}

interface PolicyRow {
  name: string;
  primary_key: string;
  secondary_key: string;
  rights: string;
}

/**
 * The hub's (or the local DPS's) shared access policies in hub.db. The running hub reads them through a
 * data_version cache, so a policy the CLI adds or removes in another process is honoured by the very next request.
 */
export class PolicyStore<R extends string = Right> {
  private readonly cache: DatabaseCache<Map<string, SharedAccessPolicy<R>>>;
  private readonly table: string;

  constructor(
    private readonly db: Database,
    private readonly family: PolicyFamily<R> = HUB_POLICIES as PolicyFamily<string> as PolicyFamily<R>,
  ) {
    this.table = family.table;
    db.exec(`CREATE TABLE IF NOT EXISTS ${this.table} (
      name TEXT PRIMARY KEY,
      primary_key TEXT NOT NULL,
      secondary_key TEXT NOT NULL,
      rights TEXT NOT NULL
    )`);
    db.exec(`CREATE TABLE IF NOT EXISTS hub_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)`);
    this.seedDefaults();
    this.cache = new DatabaseCache(db, (database) => {
      const rows = database.prepare(`SELECT * FROM ${this.table} ORDER BY rowid`).all() as PolicyRow[];
      return new Map(rows.map((row) => [row.name, fromRow<R>(row)]));
    });
  }

  /** Azure's defaults, once per hub: a policy the user removed later stays removed. */
  private seedDefaults(): void {
    this.db.transaction(() => {
      const seeded = this.db
        .prepare("SELECT value FROM hub_settings WHERE name = ?")
        .get(this.family.seededSetting);
      if (seeded) return;
      const insert = this.db.prepare(
        `INSERT OR IGNORE INTO ${this.table} (name, primary_key, secondary_key, rights) VALUES (?, ?, ?, ?)`,
      );
      for (const policy of this.family.defaults) {
        insert.run(policy.name, generateKey(), generateKey(), policy.rights.join(","));
      }
      this.db
        .prepare("INSERT INTO hub_settings (name, value) VALUES (?, '1')")
        .run(this.family.seededSetting);
    })();
  }

  get(name: string): SharedAccessPolicy<R> | undefined {
    return this.cache.get().get(name);
  }

  list(): SharedAccessPolicy<R>[] {
    return [...this.cache.get().values()];
  }

  /** Adds a policy with fresh keys; an existing name is an error (remove it first). */
  add(name: string, rights: R[]): SharedAccessPolicy<R> {
    const violations = checkNewPolicy(name, rights);
    if (violations.length > 0) throw new Error(describeViolations(violations));
    const policy = { name, primaryKey: generateKey(), secondaryKey: generateKey(), rights };
    const result = this.db
      .prepare(
        `INSERT OR IGNORE INTO ${this.table} (name, primary_key, secondary_key, rights) VALUES (?, ?, ?, ?)`,
      )
      .run(name, policy.primaryKey, policy.secondaryKey, rights.join(","));
    if (result.changes === 0) throw new Error(`policy '${name}' already exists`);
    this.cache.invalidate();
    return policy;
  }

  /** True when it existed. */
  remove(name: string): boolean {
    const result = this.db.prepare(`DELETE FROM ${this.table} WHERE name = ?`).run(name);
    this.cache.invalidate();
    return result.changes > 0;
  }
}

function fromRow<R extends string>(row: PolicyRow): SharedAccessPolicy<R> {
  return {
    name: row.name,
    primaryKey: row.primary_key,
    secondaryKey: row.secondary_key,
    rights: row.rights.split(",").filter(Boolean) as R[],
  };
}
