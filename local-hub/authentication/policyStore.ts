import { generateKey } from "../../lib/iothub/sas";
import { checkPolicyName, describeViolations, type RuleViolation } from "../../lib/iothub/rules";
import type { Database } from "../persistence/database";
import { DatabaseCache } from "../persistence/database";
import type { Right } from "./rights";
import { RIGHTS } from "./rights";

/** A shared access policy, as IoT Hub has them: a name, two keys and a set of rights. */
export interface SharedAccessPolicy {
  name: string;
  primaryKey: string;
  secondaryKey: string;
  rights: Right[];
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

export function parseRights(text: string): Right[] {
  const rights = text
    .split(/[,\s]+/)
    .map((right) => right.trim())
    .filter(Boolean);
  if (rights.length === 0) throw new Error(`rights: give at least one of ${RIGHTS.join(", ")}`);
  for (const right of rights) {
    const known = RIGHTS.find((r) => r.toLowerCase() === right.toLowerCase());
    if (!known) throw new Error(`rights: '${right}' is not a right; use ${RIGHTS.join(", ")}`);
  }
  return [...new Set(rights.map((right) => RIGHTS.find((r) => r.toLowerCase() === right.toLowerCase())!))];
}

/** What `add` checks before it writes anything; the CLI runs it before it even opens hub.db. */
export function checkNewPolicy(name: string, rights: readonly Right[]): RuleViolation[] {
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
 * The hub's shared access policies in hub.db. The running hub reads them through a data_version cache, so a policy
 * the CLI adds or removes in another process is honoured by the very next request.
 */
export class PolicyStore {
  private readonly cache: DatabaseCache<Map<string, SharedAccessPolicy>>;

  constructor(private readonly db: Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS policies (
      name TEXT PRIMARY KEY,
      primary_key TEXT NOT NULL,
      secondary_key TEXT NOT NULL,
      rights TEXT NOT NULL
    )`);
    db.exec(`CREATE TABLE IF NOT EXISTS hub_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)`);
    this.seedDefaults();
    this.cache = new DatabaseCache(db, (database) => {
      const rows = database.prepare("SELECT * FROM policies ORDER BY rowid").all() as PolicyRow[];
      return new Map(rows.map((row) => [row.name, fromRow(row)]));
    });
  }

  /** Azure's defaults, once per hub: a policy the user removed later stays removed. */
  private seedDefaults(): void {
    this.db.transaction(() => {
      const seeded = this.db.prepare("SELECT value FROM hub_settings WHERE name = 'policiesSeeded'").get();
      if (seeded) return;
      const insert = this.db.prepare(
        "INSERT OR IGNORE INTO policies (name, primary_key, secondary_key, rights) VALUES (?, ?, ?, ?)",
      );
      for (const policy of DEFAULT_POLICIES) {
        insert.run(policy.name, generateKey(), generateKey(), policy.rights.join(","));
      }
      this.db.prepare("INSERT INTO hub_settings (name, value) VALUES ('policiesSeeded', '1')").run();
    })();
  }

  get(name: string): SharedAccessPolicy | undefined {
    return this.cache.get().get(name);
  }

  list(): SharedAccessPolicy[] {
    return [...this.cache.get().values()];
  }

  /** Adds a policy with fresh keys; an existing name is an error (remove it first). */
  add(name: string, rights: Right[]): SharedAccessPolicy {
    const violations = checkNewPolicy(name, rights);
    if (violations.length > 0) throw new Error(describeViolations(violations));
    const policy = { name, primaryKey: generateKey(), secondaryKey: generateKey(), rights };
    const result = this.db
      .prepare(
        "INSERT OR IGNORE INTO policies (name, primary_key, secondary_key, rights) VALUES (?, ?, ?, ?)",
      )
      .run(name, policy.primaryKey, policy.secondaryKey, rights.join(","));
    if (result.changes === 0) throw new Error(`policy '${name}' already exists`);
    this.cache.invalidate();
    return policy;
  }

  /** True when it existed. */
  remove(name: string): boolean {
    const result = this.db.prepare("DELETE FROM policies WHERE name = ?").run(name);
    this.cache.invalidate();
    return result.changes > 0;
  }
}

function fromRow(row: PolicyRow): SharedAccessPolicy {
  return {
    name: row.name,
    primaryKey: row.primary_key,
    secondaryKey: row.secondary_key,
    rights: row.rights.split(",").filter(Boolean) as Right[],
  };
}
