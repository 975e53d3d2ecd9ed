import { randomBytes, randomUUID } from "node:crypto";
import type { Database, Statement } from "better-sqlite3";
import type {
  DeviceRegistrationState,
  EnrollmentGroupInput,
  EnrollmentGroupRecord,
  IndividualEnrollmentInput,
  IndividualEnrollmentRecord,
  EnrollmentSettings,
} from "../../lib/dps/enrollment";
import { DPS_LIMITS } from "../../lib/dps/rules";
import {
  DpsError,
  dpsPreconditionFailed,
  dpsQuotaExceeded,
  enrollmentAlreadyExists,
  enrollmentGroupNotFound,
  enrollmentNotFound,
  registrationNotFound,
} from "../errors/dpsError";
import type { EtagCondition } from "./identityModels";

/**
 * The local DPS's state in hub.db, beside the hub's: its id scope, enrollment groups, individual enrollments and
 * device registration states. Typed calls on the models of lib/dps/, nothing of HTTP. Records are stored whole
 * (keys included); which parts an answer shows is the service API's business. DPS's PUT is create-or-replace: an
 * absent If-Match replaces unconditionally, an etag must be the current one (412, also when the resource is
 * missing), and the etag changes with every write.
 */

const SCHEMA = `
CREATE TABLE IF NOT EXISTS dps_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dps_enrollment_groups (
  id TEXT PRIMARY KEY,
  attestation_type TEXT NOT NULL,
  record TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dps_enrollments (registration_id TEXT PRIMARY KEY, record TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dps_registrations (
  registration_id TEXT PRIMARY KEY,
  enrollment_group_id TEXT,
  record TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS dps_registrations_by_group ON dps_registrations (enrollment_group_id, registration_id);
`;

/** What registration records of a device (the registration flow's call): the store adds etag and times. */
export interface RegistrationModel extends Omit<
  DeviceRegistrationState,
  "etag" | "createdDateTimeUtc" | "lastUpdatedDateTimeUtc"
> {
  /** The group the device registered through; null for an individual enrollment. */
  enrollmentGroupId: string | null;
}

/** A stored registration: DPS's record plus the group it belongs to. */
export interface StoredRegistration extends DeviceRegistrationState {
  enrollmentGroupId: string | null;
}

/** One entry of a bulk enrollment operation, as the store applies it. */
export type EnrollmentOperation =
  | { kind: "create"; enrollment: IndividualEnrollmentInput }
  | { kind: "put"; enrollment: IndividualEnrollmentInput; condition: EtagCondition }
  | { kind: "delete"; registrationId: string; condition: EtagCondition };

/** A page of a listing: at most `limit` records after `after` (ids in order), and whether more follow. */
export interface Page<T> {
  items: T[];
  /** The last id of this page when more follow. */
  next?: string;
}

const newEtag = (): string => randomUUID();

export class DpsStore {
  private readonly statements: Record<string, Statement>;

  constructor(private readonly db: Database) {
    db.exec(SCHEMA);
    const statement = (sql: string): Statement => db.prepare(sql);
    this.statements = {
      setting: statement("SELECT value FROM dps_settings WHERE name = ?").pluck(),
      setSetting: statement("INSERT OR IGNORE INTO dps_settings (name, value) VALUES (?, ?)"),
      getGroup: statement("SELECT record FROM dps_enrollment_groups WHERE id = ?").pluck(),
      countGroups: statement("SELECT COUNT(*) FROM dps_enrollment_groups WHERE attestation_type = ?").pluck(),
      putGroup: statement(
        "INSERT OR REPLACE INTO dps_enrollment_groups (id, attestation_type, record) VALUES (?, ?, ?)",
      ),
      deleteGroup: statement("DELETE FROM dps_enrollment_groups WHERE id = ?"),
      listGroups: statement(
        "SELECT record FROM dps_enrollment_groups WHERE id > ? ORDER BY id LIMIT ?",
      ).pluck(),
      getEnrollment: statement("SELECT record FROM dps_enrollments WHERE registration_id = ?").pluck(),
      countEnrollments: statement("SELECT COUNT(*) FROM dps_enrollments").pluck(),
      putEnrollment: statement(
        "INSERT OR REPLACE INTO dps_enrollments (registration_id, record) VALUES (?, ?)",
      ),
      deleteEnrollment: statement("DELETE FROM dps_enrollments WHERE registration_id = ?"),
      listEnrollments: statement(
        "SELECT record FROM dps_enrollments WHERE registration_id > ? ORDER BY registration_id LIMIT ?",
      ).pluck(),
      getRegistration: statement("SELECT record FROM dps_registrations WHERE registration_id = ?").pluck(),
      countRegistrations: statement("SELECT COUNT(*) FROM dps_registrations").pluck(),
      putRegistration: statement(
        "INSERT OR REPLACE INTO dps_registrations (registration_id, enrollment_group_id, record) VALUES (?, ?, ?)",
      ),
      deleteRegistration: statement("DELETE FROM dps_registrations WHERE registration_id = ?"),
      listRegistrations: statement(
        "SELECT record FROM dps_registrations WHERE enrollment_group_id = ? AND registration_id > ? " +
          "ORDER BY registration_id LIMIT ?",
      ).pluck(),
    };
  }

  /** The DPS's id scope: `0ne` + 8 hex digits, made once per state dir and kept. */
  idScope(): string {
    const existing = this.statements.setting.get("idScope") as string | undefined;
    if (existing) return existing;
    this.statements.setSetting.run("idScope", `0ne${randomBytes(4).toString("hex").toUpperCase()}`);
    return this.statements.setting.get("idScope") as string;
  }

  // ---- enrollment groups ------------------------------------------------------------------------------------

  getEnrollmentGroup(id: string): EnrollmentGroupRecord | undefined {
    const record = this.statements.getGroup.get(id) as string | undefined;
    return record === undefined ? undefined : (JSON.parse(record) as EnrollmentGroupRecord);
  }

  /** Create or replace (DPS's PUT); 403 for a 101st group of one attestation kind. Returns the stored record. */
  putEnrollmentGroup(input: EnrollmentGroupInput, condition: EtagCondition): EnrollmentGroupRecord {
    return this.db.transaction(() => {
      const existing = this.getEnrollmentGroup(input.enrollmentGroupId);
      checkCondition(existing, condition, `enrollment group ${input.enrollmentGroupId}`);
      const type = input.attestation.type;
      if (
        existing?.attestation.type !== type &&
        (this.statements.countGroups.get(type) as number) >= DPS_LIMITS.enrollmentGroupsPerAttestation
      ) {
        throw dpsQuotaExceeded(
          `This DPS already has ${DPS_LIMITS.enrollmentGroupsPerAttestation} ${type} enrollment groups, the most DPS allows.`,
        );
      }
      const record: EnrollmentGroupRecord = {
        enrollmentGroupId: input.enrollmentGroupId,
        ...recordFields(input, existing),
      };
      this.statements.putGroup.run(record.enrollmentGroupId, type, JSON.stringify(record));
      return record;
    })();
  }

  /** 404 when missing, 412 on a stale etag. The group's registration records stay (DPS keeps them too). */
  deleteEnrollmentGroup(id: string, condition: EtagCondition): void {
    this.db.transaction(() => {
      const existing = this.getEnrollmentGroup(id);
      if (!existing) throw enrollmentGroupNotFound(id);
      checkCondition(existing, condition, `enrollment group ${id}`);
      this.statements.deleteGroup.run(id);
    })();
  }

  listEnrollmentGroups(after: string, limit: number): Page<EnrollmentGroupRecord> {
    return page(
      this.statements.listGroups,
      [after],
      limit,
      (record: EnrollmentGroupRecord) => record.enrollmentGroupId,
    );
  }

  // ---- individual enrollments -------------------------------------------------------------------------------

  /** The enrollment with its registration state, when the device registered. */
  getEnrollment(registrationId: string): IndividualEnrollmentRecord | undefined {
    const record = this.statements.getEnrollment.get(registrationId) as string | undefined;
    if (record === undefined) return undefined;
    const enrollment = JSON.parse(record) as IndividualEnrollmentRecord;
    const registration = this.getRegistration(registrationId);
    if (registration && registration.enrollmentGroupId === null) {
      enrollment.registrationState = registrationStateOf(registration);
    }
    return enrollment;
  }

  /** Create or replace; 403 beyond DPS's 1,000,000 enrollments. */
  putEnrollment(input: IndividualEnrollmentInput, condition: EtagCondition): IndividualEnrollmentRecord {
    return this.db.transaction(() => this.writeEnrollment(input, condition, false))();
  }

  /** 404 when missing, 412 on a stale etag. Its registration state goes with it (it is part of the enrollment). */
  deleteEnrollment(registrationId: string, condition: EtagCondition): void {
    this.db.transaction(() => {
      const existing = this.getEnrollment(registrationId);
      if (!existing) throw enrollmentNotFound(registrationId);
      checkCondition(existing, condition, `enrollment ${registrationId}`);
      this.statements.deleteEnrollment.run(registrationId);
      const registration = this.getRegistration(registrationId);
      if (registration?.enrollmentGroupId === null) this.statements.deleteRegistration.run(registrationId);
    })();
  }

  listEnrollments(after: string, limit: number): Page<IndividualEnrollmentRecord> {
    const listed = page(
      this.statements.listEnrollments,
      [after],
      limit,
      (record: IndividualEnrollmentRecord) => record.registrationId,
    );
    return {
      ...listed,
      items: listed.items.map((record) => this.getEnrollment(record.registrationId) ?? record),
    };
  }

  /**
   * A bulk enrollment operation: each entry applied on its own (a savepoint each), all in one transaction.
   * Returns each entry's DpsError, or undefined when it succeeded.
   */
  applyEnrollmentBatch(operations: readonly EnrollmentOperation[]): Array<DpsError | undefined> {
    return this.db.transaction(() =>
      operations.map((operation) => {
        try {
          this.db.transaction(() => {
            if (operation.kind === "delete")
              this.deleteEnrollment(operation.registrationId, operation.condition);
            else if (operation.kind === "create") this.writeEnrollment(operation.enrollment, "absent", true);
            else this.writeEnrollment(operation.enrollment, operation.condition, false);
          })();
          return undefined;
        } catch (error) {
          if (error instanceof DpsError) return error;
          throw error;
        }
      }),
    )();
  }

  private writeEnrollment(
    input: IndividualEnrollmentInput,
    condition: EtagCondition,
    createOnly: boolean,
  ): IndividualEnrollmentRecord {
    const existing = this.getEnrollment(input.registrationId);
    if (createOnly && existing) throw enrollmentAlreadyExists(input.registrationId);
    checkCondition(existing, condition, `enrollment ${input.registrationId}`);
    if (!existing && (this.statements.countEnrollments.get() as number) >= DPS_LIMITS.enrollmentsPerDps) {
      throw dpsQuotaExceeded(
        `This DPS already has ${DPS_LIMITS.enrollmentsPerDps} enrollments, the most DPS allows.`,
      );
    }
    const { registrationState, ...record }: IndividualEnrollmentRecord = {
      registrationId: input.registrationId,
      deviceId: input.deviceId,
      ...recordFields(input, existing),
      registrationState: existing?.registrationState,
    };
    this.statements.putEnrollment.run(record.registrationId, JSON.stringify(record));
    return registrationState ? { ...record, registrationState } : record;
  }

  // ---- registration states ----------------------------------------------------------------------------------

  getRegistration(registrationId: string): StoredRegistration | undefined {
    const record = this.statements.getRegistration.get(registrationId) as string | undefined;
    return record === undefined ? undefined : (JSON.parse(record) as StoredRegistration);
  }

  /** Records a registration (new or again): a new etag, the first creation time kept. */
  putRegistration(model: RegistrationModel): StoredRegistration {
    return this.db.transaction(() => {
      const existing = this.getRegistration(model.registrationId);
      if (
        !existing &&
        (this.statements.countRegistrations.get() as number) >= DPS_LIMITS.registrationsPerDps
      ) {
        throw dpsQuotaExceeded(
          `This DPS already has ${DPS_LIMITS.registrationsPerDps} registrations, the most DPS allows.`,
        );
      }
      const now = new Date().toISOString();
      const stored: StoredRegistration = {
        ...model,
        createdDateTimeUtc: existing?.createdDateTimeUtc ?? now,
        lastUpdatedDateTimeUtc: now,
        etag: newEtag(),
      };
      this.statements.putRegistration.run(
        stored.registrationId,
        stored.enrollmentGroupId,
        JSON.stringify(stored),
      );
      return stored;
    })();
  }

  /** 404 when missing, 412 on a stale etag. The device in the hub stays (DPS leaves it too). */
  deleteRegistration(registrationId: string, condition: EtagCondition): void {
    this.db.transaction(() => {
      const existing = this.getRegistration(registrationId);
      if (!existing) throw registrationNotFound(registrationId);
      checkCondition(existing, condition, `registration ${registrationId}`);
      this.statements.deleteRegistration.run(registrationId);
    })();
  }

  /** The registrations of one enrollment group, in registration id order. */
  listRegistrations(enrollmentGroupId: string, after: string, limit: number): Page<StoredRegistration> {
    return page(
      this.statements.listRegistrations,
      [enrollmentGroupId, after],
      limit,
      (record: StoredRegistration) => record.registrationId,
    );
  }
}

/** DPS's registration state without the store's bookkeeping. */
export function registrationStateOf(stored: StoredRegistration): DeviceRegistrationState {
  const { enrollmentGroupId: _group, ...state } = stored;
  return state;
}

/** An absent If-Match passes; `*` needs the resource; an etag must be the current one (412 also when missing). */
function checkCondition(
  existing: { etag: string } | undefined,
  condition: EtagCondition,
  what: string,
): void {
  if (condition === "absent") return;
  if (!existing) {
    throw dpsPreconditionFailed(what, condition === "any" ? "*" : condition.etag);
  }
  if (condition !== "any" && condition.etag !== existing.etag)
    throw dpsPreconditionFailed(what, condition.etag);
}

function recordFields(input: EnrollmentSettings, existing: { createdDateTimeUtc: string } | undefined) {
  const now = new Date().toISOString();
  return {
    attestation: input.attestation,
    capabilities: input.capabilities,
    initialTwin: input.initialTwin,
    provisioningStatus: input.provisioningStatus,
    reprovisionPolicy: input.reprovisionPolicy,
    allocationPolicy: input.allocationPolicy,
    iotHubs: input.iotHubs,
    iotHubHostName: input.iotHubs.length === 1 ? input.iotHubs[0] : null,
    customAllocationDefinition: null,
    etag: newEtag(),
    createdDateTimeUtc: existing?.createdDateTimeUtc ?? now,
    lastUpdatedDateTimeUtc: now,
  };
}

/** One more row than asked tells whether another page follows. */
function page<T>(statement: Statement, args: unknown[], limit: number, idOf: (record: T) => string): Page<T> {
  const rows = (statement.all(...args, limit + 1) as string[]).map((row) => JSON.parse(row) as T);
  if (rows.length <= limit) return { items: rows };
  const items = rows.slice(0, limit);
  return { items, next: idOf(items[items.length - 1]) };
}
