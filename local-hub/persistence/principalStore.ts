import { createHash, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import {
  checkPrincipalName,
  checkRoleName,
  findRole,
  type DataPlaneRole,
} from "../../lib/iothub/dataPlaneRoles";
import { describeViolations } from "../../lib/iothub/rules";
import type { Database } from "./database";
import { DatabaseCache } from "./database";

/**
 * The Entra ID principals the local hub plays Entra for (app registrations with a client secret) and their
 * data-plane role assignments at the hub's scope, in hub.db. The hub's token endpoint and its bearer
 * authentication read them through a data_version cache, so `iothub-local principal|role` in another process is
 * honoured by the very next request.
 */

/** A registered principal: what is shown and what tokens carry. The secret is never stored, only its digest. */
export interface Principal {
  name: string;
  /** The application (client) id a credential names: `appid` in its tokens. */
  clientId: string;
  /** The service principal's object id: `oid` in its tokens, what roles are assigned to. */
  objectId: string;
  /** Built-in role names, sorted: every assignment, also one not yet in effect. */
  roles: string[];
  /** When each assignment takes (or took) effect, in ms since the epoch, by role name. */
  effectiveAtMs: Record<string, number>;
}

/** A principal's roles at one moment: those in effect, and those assigned but not yet in effect. */
export interface RolesAt {
  effective: DataPlaneRole[];
  pending: Array<{ role: DataPlaneRole; effectiveAtMs: number }>;
}

/** `add`'s answer: the secret is in it once and nowhere else. */
export interface AddedPrincipal {
  principal: Principal;
  clientSecret: string;
}

export type ClientAuthentication =
  { ok: true; principal: Principal } | { ok: false; refusal: "unknown client" | "wrong secret" };

interface PrincipalRow {
  name: string;
  client_id: string;
  object_id: string;
  secret_salt: string;
  secret_digest: string;
}

interface PrincipalRecord {
  principal: Principal;
  salt: Buffer;
  digest: Buffer;
}

/** A principal or role assignment that does not exist, or already does: the CLI prints it and exits 1. */
export class PrincipalStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PrincipalStoreError";
  }
}

/** 30 random bytes: a 40-character secret, as long as the ones Entra issues. */
const SECRET_BYTES = 30;

export class PrincipalStore {
  private readonly cache: DatabaseCache<{ byName: Map<string, PrincipalRecord>; tenantId: string }>;

  constructor(private readonly db: Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS entra_principals (
      name TEXT PRIMARY KEY,
      client_id TEXT NOT NULL UNIQUE,
      object_id TEXT NOT NULL UNIQUE,
      secret_salt TEXT NOT NULL,
      secret_digest TEXT NOT NULL
    )`);
    db.exec(`CREATE TABLE IF NOT EXISTS entra_role_assignments (
      principal TEXT NOT NULL REFERENCES entra_principals(name) ON DELETE CASCADE,
      role TEXT NOT NULL,
      effective_at_ms INTEGER NOT NULL,
      PRIMARY KEY (principal, role)
    ) WITHOUT ROWID`);
    db.exec(`CREATE TABLE IF NOT EXISTS hub_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)`);
    // The hub's tenant: made once per hub.db, so tokens and hub.json name the same tenant across restarts.
    db.prepare("INSERT OR IGNORE INTO hub_settings (name, value) VALUES ('entraTenantId', ?)").run(
      randomUUID(),
    );
    this.cache = new DatabaseCache(db, (database) => load(database));
  }

  /** The tenant id the hub's token endpoint answers for. */
  tenantId(): string {
    return this.cache.get().tenantId;
  }

  /** Registers a principal with fresh ids and a fresh secret. Throws for a bad name or one already taken. */
  add(name: string): AddedPrincipal {
    const violations = checkPrincipalName(name);
    if (violations.length > 0) throw new PrincipalStoreError(describeViolations(violations));
    const clientSecret = randomBytes(SECRET_BYTES).toString("base64url");
    const salt = randomBytes(16);
    const principal: Principal = {
      name,
      clientId: randomUUID(),
      objectId: randomUUID(),
      roles: [],
      effectiveAtMs: {},
    };
    const inserted = this.db
      .prepare(
        `INSERT OR IGNORE INTO entra_principals (name, client_id, object_id, secret_salt, secret_digest)
         VALUES (?, ?, ?, ?, ?)`,
      )
      .run(
        name,
        principal.clientId,
        principal.objectId,
        salt.toString("base64"),
        secretDigest(salt, clientSecret).toString("base64"),
      );
    this.cache.invalidate();
    if (inserted.changes === 0) throw new PrincipalStoreError(`principal '${name}' already exists`);
    return { principal, clientSecret };
  }

  /** True when it existed; its role assignments go with it. */
  remove(name: string): boolean {
    const result = this.db.prepare("DELETE FROM entra_principals WHERE name = ?").run(name);
    this.cache.invalidate();
    return result.changes > 0;
  }

  get(name: string): Principal | undefined {
    return this.cache.get().byName.get(name)?.principal;
  }

  list(): Principal[] {
    return [...this.cache.get().byName.values()].map((record) => record.principal);
  }

  /**
   * Checks a client id and secret: the principal, or which of the two was wrong (Entra answers them differently:
   * an unknown application, or an invalid secret).
   */
  authenticateClient(clientId: string, clientSecret: string): ClientAuthentication {
    const record = [...this.cache.get().byName.values()].find((r) => r.principal.clientId === clientId);
    if (!record) return { ok: false, refusal: "unknown client" };
    const digest = secretDigest(record.salt, clientSecret);
    if (!timingSafeEqual(digest, record.digest)) return { ok: false, refusal: "wrong secret" };
    return { ok: true, principal: record.principal };
  }

  /** The roles of the principal with this object id at `now` (none for an object id no principal has). */
  rolesOf(objectId: string, now = Date.now()): RolesAt {
    const record = [...this.cache.get().byName.values()].find((r) => r.principal.objectId === objectId);
    const rolesAt: RolesAt = { effective: [], pending: [] };
    for (const name of record?.principal.roles ?? []) {
      const role = findRole(name)!;
      const effectiveAtMs = record!.principal.effectiveAtMs[name];
      if (effectiveAtMs <= now) rolesAt.effective.push(role);
      else rolesAt.pending.push({ role, effectiveAtMs });
    }
    return rolesAt;
  }

  /**
   * Assigns a built-in role, in effect `delayMs` from now (Azure's assignments take minutes to propagate; a delay
   * lets a client's wait for that be tested). False when the principal already holds it (its time stays). Throws
   * for an unknown principal or role.
   */
  assign(name: string, roleName: string, delayMs = 0, now = Date.now()): boolean {
    const role = this.requireRole(roleName);
    this.requirePrincipal(name);
    const result = this.db
      .prepare(
        "INSERT OR IGNORE INTO entra_role_assignments (principal, role, effective_at_ms) VALUES (?, ?, ?)",
      )
      .run(name, role.name, now + delayMs);
    this.cache.invalidate();
    return result.changes > 0;
  }

  /** Removes an assignment; false when the principal did not hold the role. */
  unassign(name: string, roleName: string): boolean {
    const role = this.requireRole(roleName);
    this.requirePrincipal(name);
    const result = this.db
      .prepare("DELETE FROM entra_role_assignments WHERE principal = ? AND role = ?")
      .run(name, role.name);
    this.cache.invalidate();
    return result.changes > 0;
  }

  private requireRole(roleName: string): DataPlaneRole {
    const violations = checkRoleName(roleName);
    if (violations.length > 0) throw new PrincipalStoreError(describeViolations(violations));
    return findRole(roleName)!;
  }

  private requirePrincipal(name: string): void {
    if (!this.get(name)) throw new PrincipalStoreError(`principal '${name}' does not exist`);
  }
}

/**
 * The stored form of a secret. A salted SHA-256 suffices: the secret is 240 random bits made by the hub, not a
 * password a person chose, so there is nothing to guess a dictionary for; a slow hash would only slow the token
 * endpoint.
 */
function secretDigest(salt: Buffer, secret: string): Buffer {
  return createHash("sha256").update(salt).update(secret, "utf8").digest();
}

function load(db: Database): { byName: Map<string, PrincipalRecord>; tenantId: string } {
  const rows = db.prepare("SELECT * FROM entra_principals ORDER BY name").all() as PrincipalRow[];
  const assignments = db
    .prepare("SELECT principal, role, effective_at_ms FROM entra_role_assignments ORDER BY principal, role")
    .all() as Array<{ principal: string; role: string; effective_at_ms: number }>;
  const byName = new Map<string, PrincipalRecord>();
  for (const row of rows) {
    byName.set(row.name, {
      principal: {
        name: row.name,
        clientId: row.client_id,
        objectId: row.object_id,
        roles: [],
        effectiveAtMs: {},
      },
      salt: Buffer.from(row.secret_salt, "base64"),
      digest: Buffer.from(row.secret_digest, "base64"),
    });
  }
  for (const { principal, role, effective_at_ms } of assignments) {
    const holder = byName.get(principal)?.principal;
    // A role name this hub no longer knows grants nothing (and is not shown).
    if (!holder || !findRole(role)) continue;
    holder.roles.push(role);
    holder.effectiveAtMs[role] = effective_at_ms;
  }
  const tenant = db.prepare("SELECT value FROM hub_settings WHERE name = 'entraTenantId'").pluck().get();
  return { byName, tenantId: tenant as string };
}
