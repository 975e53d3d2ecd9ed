import { randomBytes } from "node:crypto";
import type { Database, Statement } from "better-sqlite3";
import {
  LIMITS,
  checkDeviceId,
  checkModuleId,
  checkTwinSection,
  describeViolations,
  type RuleViolation,
} from "../../lib/iothub/rules";
import {
  IotHubError,
  badRequest,
  deviceAlreadyExists,
  deviceNotFound,
  moduleAlreadyExists,
  moduleNotFound,
  preconditionFailed,
  quotaExceeded,
} from "../errors/iotHubError";
import type { HubEventMap, HubEvents, IdentityRef } from "../events";
import type { SqlPrefilter } from "./twinQuery";
import { credentialsChanged, normalizeAuthentication, type Authentication } from "./authenticationInput";
import {
  bumpVersion,
  isPlainObject,
  mergePatch,
  newEtag,
  newTwinState,
  patchDesired,
  patchReported as applyReportedPatch,
  renderDeviceSide,
  renderProperties,
  replacementPatch,
  type TwinState,
} from "./twinDocument";

export type { AuthType, Authentication } from "./authenticationInput";
export type { IdentityRef } from "../events";

export interface DeviceRecord {
  deviceId: string;
  generationId: string;
  etag: string;
  status: "enabled" | "disabled";
  statusReason?: string;
  statusUpdatedTime: string;
  connectionState: "Connected" | "Disconnected";
  connectionStateUpdatedTime: string;
  lastActivityTime: string;
  cloudToDeviceMessageCount: number;
  authentication: Authentication;
  capabilities: { iotEdge: boolean };
  deviceScope?: string;
  parentScopes?: string[];
}

export interface ModuleRecord {
  deviceId: string;
  moduleId: string;
  generationId: string;
  etag: string;
  managedBy?: string;
  connectionState: "Connected" | "Disconnected";
  connectionStateUpdatedTime: string;
  lastActivityTime: string;
  cloudToDeviceMessageCount: number;
  authentication: Authentication;
}

/** The twin JSON of the service API (GET /twins/...), exactly as the SDK's Twin and Query consume it. */
export type TwinJson = Record<string, unknown> & { deviceId: string; moduleId?: string; etag: string };

/** One entry of a bulk `POST /devices`, as the SDK sends it (`id`, not `deviceId`). */
export interface BulkEntry {
  id?: unknown;
  importMode?: unknown;
  eTag?: unknown;
  etag?: unknown;
  [field: string]: unknown;
}

export interface BulkError {
  deviceId: string;
  errorCode: string;
  errorStatus: string;
}

export interface BulkResult {
  isSuccessful: boolean;
  errors: BulkError[];
  warnings: BulkError[];
}

export interface DeviceStatistics {
  totalDeviceCount: number;
  enabledDeviceCount: number;
  disabledDeviceCount: number;
}

/** A position in a twin scan: the last key returned (query continuation). */
export type ScanKey = { deviceId: string; moduleId?: string };

/** IoT Hub's "never" timestamp. */
const NEVER = "0001-01-01T00:00:00Z";

/** What If-Match asked for: nothing, the wildcard, or one etag (the SDK always quotes it). */
type IfMatch = undefined | "*" | { etag: string };

export function parseIfMatch(header: string | string[] | undefined): IfMatch {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === "") return undefined;
  const unquoted = value
    .trim()
    .replace(/^W\//, "")
    .replace(/^"(.*)"$/, "$1");
  return unquoted === "*" ? "*" : { etag: unquoted };
}

function checkEtag(ifMatch: IfMatch, current: string, what: string): void {
  if (ifMatch !== undefined && ifMatch !== "*" && ifMatch.etag !== current) {
    throw preconditionFailed(`The etag ${ifMatch.etag} does not match the current etag of ${what}.`);
  }
}

function throwIfViolations(violations: RuleViolation[]): void {
  if (violations.length > 0) throw badRequest(describeViolations(violations));
}

const newGenerationId = (): string => `63${randomBytes(8).readBigUInt64BE().toString().slice(0, 16)}`;

/** The identity columns kept as JSON: everything the registry returns except what changes on every connection. */
type StoredDevice = Omit<
  DeviceRecord,
  "deviceId" | "connectionState" | "connectionStateUpdatedTime" | "lastActivityTime"
>;
type StoredModule = Omit<
  ModuleRecord,
  "deviceId" | "moduleId" | "connectionState" | "connectionStateUpdatedTime" | "lastActivityTime"
>;

interface ConnectionColumns {
  connection_state: "Connected" | "Disconnected";
  connection_state_updated_time: string;
  last_activity_time: string;
}
interface DeviceRow extends ConnectionColumns {
  device_id: string;
  identity: string;
  twin: string;
}
interface ModuleRow extends DeviceRow {
  module_id: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS devices (
  device_id TEXT PRIMARY KEY,
  identity TEXT NOT NULL,
  status TEXT NOT NULL,
  connection_state TEXT NOT NULL DEFAULT 'Disconnected',
  connection_state_updated_time TEXT NOT NULL DEFAULT '${NEVER}',
  last_activity_time TEXT NOT NULL DEFAULT '${NEVER}',
  twin TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS modules (
  device_id TEXT NOT NULL,
  module_id TEXT NOT NULL,
  identity TEXT NOT NULL,
  connection_state TEXT NOT NULL DEFAULT 'Disconnected',
  connection_state_updated_time TEXT NOT NULL DEFAULT '${NEVER}',
  last_activity_time TEXT NOT NULL DEFAULT '${NEVER}',
  twin TEXT NOT NULL,
  PRIMARY KEY (device_id, module_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS devices_by_status ON devices (status);
`;

/**
 * Devices, modules and their twins in hub.db. Every request is a handful of primary-key lookups through prepared
 * statements; writes run in transactions; events go out on the bus after the transaction committed.
 */
export class IdentityStore {
  private readonly statements: ReturnType<typeof prepareStatements>;

  constructor(
    private readonly db: Database,
    private readonly events?: HubEvents,
  ) {
    db.exec(SCHEMA);
    this.statements = prepareStatements(db);
  }

  /** Events of a batch wait until the batch's transaction committed (set while `bulk` runs). */
  private deferredEvents: Array<() => void> | undefined;

  /** Emits on the bus now, or after the enclosing batch committed: listeners must never see a rolled-back change. */
  private announce<K extends keyof HubEventMap>(event: K, ...args: HubEventMap[K]): void {
    if (!this.events) return;
    const events = this.events;
    const emit = (): void => {
      (events.emit as (name: K, ...rest: HubEventMap[K]) => boolean)(event, ...args);
    };
    if (this.deferredEvents) this.deferredEvents.push(emit);
    else emit();
  }

  // ---- devices ------------------------------------------------------------------------------------------------

  getDevice(deviceId: string): DeviceRecord | undefined {
    const row = this.statements.getDevice.get(deviceId) as DeviceRow | undefined;
    return row && deviceRecord(row);
  }

  /** PUT /devices/{id}: create without If-Match (409 when it exists), else a full replace (404 when missing). */
  putDevice(deviceId: string, body: unknown, ifMatchHeader?: string | string[]): DeviceRecord {
    const ifMatch = parseIfMatch(ifMatchHeader);
    const revoked: Array<[IdentityRef, "credentialsChanged" | "disabled"]> = [];
    const record = this.db.transaction(() => {
      const existing = this.getDevice(deviceId);
      const input = deviceInput(deviceId, body);
      const now = new Date().toISOString();
      if (ifMatch === undefined) {
        if (existing) throw deviceAlreadyExists(deviceId);
        const stored: StoredDevice = {
          generationId: newGenerationId(),
          etag: newEtag(),
          statusUpdatedTime: now,
          cloudToDeviceMessageCount: 0,
          ...input,
        };
        withEdgeScope(deviceId, stored);
        this.statements.insertDevice.run(deviceId, JSON.stringify(stored), stored.status, serializeTwin(now));
        return this.getDevice(deviceId) as DeviceRecord;
      }
      if (!existing) throw deviceNotFound(deviceId);
      checkEtag(ifMatch, existing.etag, `device ${deviceId}`);
      const stored: StoredDevice = {
        generationId: existing.generationId,
        etag: newEtag(),
        statusUpdatedTime: existing.status === input.status ? existing.statusUpdatedTime : now,
        cloudToDeviceMessageCount: existing.cloudToDeviceMessageCount,
        ...input,
      };
      withEdgeScope(deviceId, stored, existing.deviceScope);
      this.statements.updateDeviceIdentity.run(JSON.stringify(stored), stored.status, deviceId);
      if (existing.status === "enabled" && stored.status === "disabled") {
        revoked.push([{ deviceId }, "disabled"]);
        for (const moduleId of this.moduleIds(deviceId)) revoked.push([{ deviceId, moduleId }, "disabled"]);
      } else if (credentialsChanged(existing.authentication, stored.authentication)) {
        revoked.push([{ deviceId }, "credentialsChanged"]);
      }
      return this.getDevice(deviceId) as DeviceRecord;
    })();
    for (const [ref, reason] of revoked) this.announce("identityRevoked", ref, reason);
    return record;
  }

  /** DELETE /devices/{id}: removes the device, its twin, its modules and their twins. */
  deleteDevice(deviceId: string, ifMatchHeader?: string | string[]): void {
    const ifMatch = parseIfMatch(ifMatchHeader);
    const moduleIds = this.db.transaction(() => {
      const existing = this.getDevice(deviceId);
      if (!existing) throw deviceNotFound(deviceId);
      checkEtag(ifMatch, existing.etag, `device ${deviceId}`);
      const ids = this.moduleIds(deviceId);
      this.statements.deleteModulesOfDevice.run(deviceId);
      this.statements.deleteDevice.run(deviceId);
      return ids;
    })();
    this.announce("identityRevoked", { deviceId }, "deleted");
    for (const moduleId of moduleIds) this.announce("identityRevoked", { deviceId, moduleId }, "deleted");
  }

  /** GET /devices/: the first `top` devices (IoT Hub answers at most 1,000). */
  listDevices(top = 1000): DeviceRecord[] {
    const rows = this.statements.listDevices.all(Math.min(Math.max(top, 1), 1000)) as DeviceRow[];
    return rows.map(deviceRecord);
  }

  statistics(): DeviceStatistics {
    const counts = this.statements.countDevicesByStatus.all() as Array<{ status: string; count: number }>;
    const enabled = counts.find((c) => c.status === "enabled")?.count ?? 0;
    const disabled = counts.find((c) => c.status === "disabled")?.count ?? 0;
    return {
      totalDeviceCount: enabled + disabled,
      enabledDeviceCount: enabled,
      disabledDeviceCount: disabled,
    };
  }

  // ---- modules ------------------------------------------------------------------------------------------------

  getModule(deviceId: string, moduleId: string): ModuleRecord | undefined {
    const row = this.statements.getModule.get(deviceId, moduleId) as ModuleRow | undefined;
    return row && moduleRecord(row);
  }

  /** GET /devices/{d}/modules/{m}: 404 DeviceNotFound or ModuleNotFound, as IoT Hub tells them apart. */
  requireModule(deviceId: string, moduleId: string): ModuleRecord {
    const module = this.getModule(deviceId, moduleId);
    if (module) return module;
    if (!this.statements.deviceExists.get(deviceId)) throw deviceNotFound(deviceId);
    throw moduleNotFound(deviceId, moduleId);
  }

  /** GET /devices/{d}/modules: 404 when the device does not exist. */
  listModules(deviceId: string): ModuleRecord[] {
    if (!this.statements.deviceExists.get(deviceId)) throw deviceNotFound(deviceId);
    return (this.statements.listModules.all(deviceId) as ModuleRow[]).map(moduleRecord);
  }

  /** PUT /devices/{d}/modules/{m}: create without If-Match (409 when it exists), else a full replace. */
  putModule(
    deviceId: string,
    moduleId: string,
    body: unknown,
    ifMatchHeader?: string | string[],
  ): ModuleRecord {
    const ifMatch = parseIfMatch(ifMatchHeader);
    let revoked = false;
    const record = this.db.transaction(() => {
      const input = moduleInput(deviceId, moduleId, body);
      if (!this.statements.deviceExists.get(deviceId)) throw deviceNotFound(deviceId);
      const existing = this.getModule(deviceId, moduleId);
      if (ifMatch === undefined) {
        if (existing) throw moduleAlreadyExists(deviceId, moduleId);
        const count = (this.statements.countModules.get(deviceId) as { count: number }).count;
        if (count >= LIMITS.modulesPerDevice) {
          throw quotaExceeded(
            `Device ${deviceId} already has ${LIMITS.modulesPerDevice} modules, the most IoT Hub allows.`,
          );
        }
        const stored: StoredModule = {
          generationId: newGenerationId(),
          etag: newEtag(),
          cloudToDeviceMessageCount: 0,
          ...input,
        };
        this.statements.insertModule.run(
          deviceId,
          moduleId,
          JSON.stringify(stored),
          serializeTwin(new Date().toISOString()),
        );
        return this.getModule(deviceId, moduleId) as ModuleRecord;
      }
      if (!existing) throw moduleNotFound(deviceId, moduleId);
      checkEtag(ifMatch, existing.etag, `module ${deviceId}/${moduleId}`);
      const stored: StoredModule = {
        generationId: existing.generationId,
        etag: newEtag(),
        cloudToDeviceMessageCount: existing.cloudToDeviceMessageCount,
        ...input,
      };
      this.statements.updateModuleIdentity.run(JSON.stringify(stored), deviceId, moduleId);
      revoked = credentialsChanged(existing.authentication, stored.authentication);
      return this.getModule(deviceId, moduleId) as ModuleRecord;
    })();
    if (revoked) this.announce("identityRevoked", { deviceId, moduleId }, "credentialsChanged");
    return record;
  }

  /** DELETE /devices/{d}/modules/{m}: removes the module and its twin (a re-created module starts over). */
  deleteModule(deviceId: string, moduleId: string, ifMatchHeader?: string | string[]): void {
    const ifMatch = parseIfMatch(ifMatchHeader);
    this.db.transaction(() => {
      const existing = this.getModule(deviceId, moduleId);
      if (!existing) {
        if (!this.statements.deviceExists.get(deviceId)) throw deviceNotFound(deviceId);
        throw moduleNotFound(deviceId, moduleId);
      }
      checkEtag(ifMatch, existing.etag, `module ${deviceId}/${moduleId}`);
      this.statements.deleteModule.run(deviceId, moduleId);
    })();
    this.announce("identityRevoked", { deviceId, moduleId }, "deleted");
  }

  private moduleIds(deviceId: string): string[] {
    return (this.statements.listModuleIds.all(deviceId) as Array<{ module_id: string }>).map(
      (r) => r.module_id,
    );
  }

  // ---- twins --------------------------------------------------------------------------------------------------

  /** GET /twins/{d}[/modules/{m}]. */
  getTwin(ref: IdentityRef): TwinJson {
    return renderTwin(this.twinRow(ref), ref);
  }

  /** PATCH /twins/...: merges tags and desired (null deletes); reported cannot be written by the service. */
  patchTwin(ref: IdentityRef, body: unknown, ifMatchHeader?: string | string[]): TwinJson {
    const { tags, desired } = twinInput(body, "patch");
    return this.writeTwin(ref, ifMatchHeader, (twin, at) => {
      if (tags) mergePatch(twin.tags, tags);
      if (desired && Object.keys(desired).length > 0) {
        return { patch: desired, version: patchDesired(twin, desired, at) };
      }
      if (tags) bumpVersion(twin);
      return undefined;
    });
  }

  /** PUT /twins/...: replaces tags and desired as a whole. */
  replaceTwin(ref: IdentityRef, body: unknown, ifMatchHeader?: string | string[]): TwinJson {
    const { tags, desired } = twinInput(body, "replace");
    return this.writeTwin(ref, ifMatchHeader, (twin, at) => {
      twin.tags = tags ?? {};
      const patch = replacementPatch(twin.desired, desired ?? {});
      twin.desired = {};
      twin.desiredMetadata = {};
      return { patch, version: patchDesired(twin, desired ?? {}, at) };
    });
  }

  /**
   * Reads, changes and writes one twin in a transaction, checking If-Match and the size of the result; announces a
   * desired change after commit.
   */
  private writeTwin(
    ref: IdentityRef,
    ifMatchHeader: string | string[] | undefined,
    change: (twin: TwinState, at: Date) => { patch: Record<string, unknown>; version: number } | undefined,
  ): TwinJson {
    const ifMatch = parseIfMatch(ifMatchHeader);
    const { json, desiredChange } = this.db.transaction(() => {
      const row = this.twinRow(ref);
      const twin = JSON.parse(row.twin) as TwinState;
      checkEtag(ifMatch, twin.etag, `the twin of ${describeRef(ref)}`);
      const desiredChange = change(twin, new Date());
      throwIfViolations([
        ...checkTwinSection("tags", twin.tags),
        ...checkTwinSection("desired", twin.desired, "properties.desired"),
      ]);
      row.twin = JSON.stringify(twin);
      this.saveTwin(ref, row.twin);
      return { json: renderTwin(row, ref), desiredChange };
    })();
    if (desiredChange) this.announce("desiredChanged", ref, desiredChange.patch, desiredChange.version);
    return json;
  }

  getDeviceSideTwin(
    ref: IdentityRef,
  ): { desired: Record<string, unknown>; reported: Record<string, unknown> } | undefined {
    const row = this.findTwinRow(ref);
    return row && renderDeviceSide(JSON.parse(row.twin) as TwinState);
  }

  /** Merges a reported patch (null deletes) after checking IoT Hub's twin rules; returns the new reported $version. */
  patchReported(ref: IdentityRef, patch: Record<string, unknown>): number {
    throwIfViolations(checkTwinSection("reported", patch));
    return this.db.transaction(() => {
      const row = this.twinRow(ref);
      const twin = JSON.parse(row.twin) as TwinState;
      const version = applyReportedPatch(twin, patch, new Date());
      throwIfViolations(checkTwinSection("reported", twin.reported));
      this.saveTwin(ref, JSON.stringify(twin));
      return version;
    })();
  }

  setConnectionState(ref: IdentityRef, state: "Connected" | "Disconnected", at: Date): void {
    const stamp = at.toISOString();
    if (ref.moduleId === undefined)
      this.statements.setDeviceConnection.run(state, stamp, stamp, ref.deviceId);
    else this.statements.setModuleConnection.run(state, stamp, stamp, ref.deviceId, ref.moduleId);
  }

  touchActivity(ref: IdentityRef, at: Date): void {
    const stamp = at.toISOString();
    if (ref.moduleId === undefined) this.statements.touchDevice.run(stamp, ref.deviceId);
    else this.statements.touchModule.run(stamp, ref.deviceId, ref.moduleId);
  }

  private findTwinRow(ref: IdentityRef): DeviceRow | ModuleRow | undefined {
    return (
      ref.moduleId === undefined
        ? this.statements.getDevice.get(ref.deviceId)
        : this.statements.getModule.get(ref.deviceId, ref.moduleId)
    ) as DeviceRow | ModuleRow | undefined;
  }

  private twinRow(ref: IdentityRef): DeviceRow | ModuleRow {
    const row = this.findTwinRow(ref);
    if (row) return row;
    if (ref.moduleId === undefined || !this.statements.deviceExists.get(ref.deviceId)) {
      throw deviceNotFound(ref.deviceId);
    }
    throw moduleNotFound(ref.deviceId, ref.moduleId);
  }

  private saveTwin(ref: IdentityRef, twin: string): void {
    if (ref.moduleId === undefined) this.statements.updateDeviceTwin.run(twin, ref.deviceId);
    else this.statements.updateModuleTwin.run(twin, ref.deviceId, ref.moduleId);
  }

  // ---- scans (query) ------------------------------------------------------------------------------------------

  /**
   * Twins in key order after `after` that pass `prefilter` (SQL terms on the stored row; see twinQuery.ts). Lazy:
   * the query stops reading when its page is full, so a page costs what it reads, not the whole table.
   */
  *scanTwins(kind: "devices" | "modules", after?: ScanKey, prefilter?: SqlPrefilter): Generator<TwinJson> {
    const terms = kind === "devices" ? ["device_id > ?"] : ["(device_id, module_id) > (?, ?)"];
    const params: Array<string | number> =
      kind === "devices" ? [after?.deviceId ?? ""] : [after?.deviceId ?? "", after?.moduleId ?? ""];
    if (prefilter) {
      terms.push(...prefilter.terms);
      params.push(...prefilter.params);
    }
    const sql =
      kind === "devices"
        ? `SELECT ${DEVICE_COLUMNS} FROM devices WHERE ${terms.join(" AND ")} ORDER BY device_id`
        : `SELECT module_id, ${DEVICE_COLUMNS} FROM modules WHERE ${terms.join(" AND ")} ORDER BY device_id, module_id`;
    for (const row of this.scanStatement(sql).iterate(...params) as Iterable<DeviceRow | ModuleRow>) {
      yield renderTwin(row, {
        deviceId: row.device_id,
        moduleId: "module_id" in row ? row.module_id : undefined,
      });
    }
  }

  /** Scans differ only by their WHERE terms; the few shapes a client uses are prepared once. */
  private readonly scanStatements = new Map<string, Statement>();

  private scanStatement(sql: string): Statement {
    let statement = this.scanStatements.get(sql);
    if (!statement) {
      if (this.scanStatements.size >= 200) this.scanStatements.clear();
      statement = this.db.prepare(sql);
      this.scanStatements.set(sql, statement);
    }
    return statement;
  }

  // ---- bulk ---------------------------------------------------------------------------------------------------

  /** POST /devices: 1-100 entries, each applied on its own; failures are reported per entry, not thrown. */
  bulk(body: unknown): BulkResult {
    if (!Array.isArray(body) || body.length === 0 || body.length > LIMITS.bulkMaxIdentities) {
      throw badRequest(
        `The request must list 1-${LIMITS.bulkMaxIdentities} identities (got ${Array.isArray(body) ? body.length : "no list"}).`,
      );
    }
    const errors: BulkError[] = [];
    // One transaction for the whole batch (one commit instead of up to 100); each entry is a savepoint of its own.
    const deferred: Array<() => void> = [];
    this.deferredEvents = deferred;
    try {
      this.runBatch(body as BulkEntry[], errors);
    } finally {
      this.deferredEvents = undefined;
    }
    for (const emit of deferred) emit();
    return { isSuccessful: errors.length === 0, errors, warnings: [] };
  }

  private runBatch(entries: BulkEntry[], errors: BulkError[]): void {
    const seen = new Set<string>();
    this.db.transaction(() => {
      for (const entry of entries) {
        const deviceId = typeof entry?.id === "string" ? entry.id : String(entry?.id ?? "");
        try {
          if (seen.has(deviceId))
            throw badRequest(`Device ${deviceId} appears more than once in the request.`);
          seen.add(deviceId);
          this.applyBulkEntry(deviceId, entry);
        } catch (error) {
          if (!(error instanceof IotHubError)) throw error;
          errors.push({ deviceId, errorCode: error.code, errorStatus: error.message });
        }
      }
    })();
  }

  private applyBulkEntry(deviceId: string, entry: BulkEntry): void {
    const mode = typeof entry.importMode === "string" ? entry.importMode.toLowerCase() : "";
    // IoT Hub's import format says `eTag`; the SDK passes its Device objects through, which say `etag`.
    const { id: _id, importMode: _mode, eTag, etag, ...device } = entry;
    const givenEtag = [eTag, etag].find((value) => typeof value === "string" && value !== "");
    const etagHeader = givenEtag === undefined ? undefined : `"${String(givenEtag)}"`;
    switch (mode) {
      case "create":
        this.putDevice(deviceId, { ...device, deviceId });
        return;
      case "update":
        this.putDevice(deviceId, { ...device, deviceId }, '"*"');
        return;
      case "updateifmatchetag":
        if (!etagHeader) throw badRequest(`Device ${deviceId}: UpdateIfMatchETag needs eTag.`);
        this.putDevice(deviceId, { ...device, deviceId }, etagHeader);
        return;
      case "delete":
        this.deleteDevice(deviceId, '"*"');
        return;
      case "deleteifmatchetag":
        if (!etagHeader) throw badRequest(`Device ${deviceId}: DeleteIfMatchETag needs eTag.`);
        this.deleteDevice(deviceId, etagHeader);
        return;
      default:
        throw badRequest(
          `Device ${deviceId}: importMode must be create, Update, UpdateIfMatchETag, Delete or DeleteIfMatchETag.`,
        );
    }
  }
}

// ---- statements ---------------------------------------------------------------------------------------------------

const DEVICE_COLUMNS =
  "device_id, identity, connection_state, connection_state_updated_time, last_activity_time, twin";

function prepareStatements(db: Database): Record<string, Statement> {
  const deviceColumns = DEVICE_COLUMNS;
  return {
    getDevice: db.prepare(`SELECT ${deviceColumns} FROM devices WHERE device_id = ?`),
    deviceExists: db.prepare("SELECT 1 FROM devices WHERE device_id = ?").pluck(),
    insertDevice: db.prepare("INSERT INTO devices (device_id, identity, status, twin) VALUES (?, ?, ?, ?)"),
    updateDeviceIdentity: db.prepare("UPDATE devices SET identity = ?, status = ? WHERE device_id = ?"),
    updateDeviceTwin: db.prepare("UPDATE devices SET twin = ? WHERE device_id = ?"),
    deleteDevice: db.prepare("DELETE FROM devices WHERE device_id = ?"),
    listDevices: db.prepare(`SELECT ${deviceColumns} FROM devices ORDER BY device_id LIMIT ?`),
    countDevicesByStatus: db.prepare("SELECT status, COUNT(*) AS count FROM devices GROUP BY status"),
    setDeviceConnection: db.prepare(
      "UPDATE devices SET connection_state = ?, connection_state_updated_time = ?, last_activity_time = ? WHERE device_id = ?",
    ),
    touchDevice: db.prepare("UPDATE devices SET last_activity_time = ? WHERE device_id = ?"),

    getModule: db.prepare(
      `SELECT module_id, ${deviceColumns} FROM modules WHERE device_id = ? AND module_id = ?`,
    ),
    listModules: db.prepare(
      `SELECT module_id, ${deviceColumns} FROM modules WHERE device_id = ? ORDER BY module_id`,
    ),
    listModuleIds: db.prepare("SELECT module_id FROM modules WHERE device_id = ?"),
    countModules: db.prepare("SELECT COUNT(*) AS count FROM modules WHERE device_id = ?"),
    insertModule: db.prepare(
      "INSERT INTO modules (device_id, module_id, identity, twin) VALUES (?, ?, ?, ?)",
    ),
    updateModuleIdentity: db.prepare("UPDATE modules SET identity = ? WHERE device_id = ? AND module_id = ?"),
    updateModuleTwin: db.prepare("UPDATE modules SET twin = ? WHERE device_id = ? AND module_id = ?"),
    deleteModule: db.prepare("DELETE FROM modules WHERE device_id = ? AND module_id = ?"),
    deleteModulesOfDevice: db.prepare("DELETE FROM modules WHERE device_id = ?"),
    setModuleConnection: db.prepare(
      "UPDATE modules SET connection_state = ?, connection_state_updated_time = ?, last_activity_time = ? WHERE device_id = ? AND module_id = ?",
    ),
    touchModule: db.prepare(
      "UPDATE modules SET last_activity_time = ? WHERE device_id = ? AND module_id = ?",
    ),
  };
}

/** IoT Hub gives every IoT Edge device a scope of its own (children name it as their parent); it survives updates. */
function withEdgeScope(deviceId: string, stored: StoredDevice, previousScope?: string): void {
  if (!stored.capabilities.iotEdge || stored.deviceScope !== undefined) return;
  stored.deviceScope = previousScope ?? `ms-azure-iot-edge://${deviceId}-${stored.generationId}`;
}

// ---- rows <-> records ---------------------------------------------------------------------------------------------

function serializeTwin(now: string): string {
  return JSON.stringify(newTwinState(new Date(now)));
}

function connectionFields(row: ConnectionColumns) {
  return {
    connectionState: row.connection_state,
    connectionStateUpdatedTime: row.connection_state_updated_time,
    lastActivityTime: row.last_activity_time,
  };
}

function deviceRecord(row: DeviceRow): DeviceRecord {
  const stored = JSON.parse(row.identity) as StoredDevice;
  return { deviceId: row.device_id, ...stored, ...connectionFields(row) };
}

function moduleRecord(row: ModuleRow): ModuleRecord {
  const stored = JSON.parse(row.identity) as StoredModule;
  return { deviceId: row.device_id, moduleId: row.module_id, ...stored, ...connectionFields(row) };
}

function renderTwin(row: DeviceRow | ModuleRow, ref: IdentityRef): TwinJson {
  const twin = JSON.parse(row.twin) as TwinState;
  const common = {
    etag: twin.etag,
    connectionState: row.connection_state,
    lastActivityTime: row.last_activity_time,
    modelId: "",
    version: twin.version,
    tags: twin.tags,
    properties: renderProperties(twin),
  };
  if (ref.moduleId !== undefined) {
    const module = JSON.parse(row.identity) as StoredModule;
    return {
      deviceId: ref.deviceId,
      moduleId: ref.moduleId,
      deviceEtag: module.etag,
      status: "enabled",
      statusUpdateTime: NEVER,
      cloudToDeviceMessageCount: module.cloudToDeviceMessageCount,
      authenticationType: module.authentication.type,
      x509Thumbprint: module.authentication.x509Thumbprint,
      ...common,
    };
  }
  const device = JSON.parse(row.identity) as StoredDevice;
  return {
    deviceId: ref.deviceId,
    deviceEtag: device.etag,
    status: device.status,
    ...(device.statusReason !== undefined ? { statusReason: device.statusReason } : {}),
    statusUpdateTime: device.statusUpdatedTime,
    cloudToDeviceMessageCount: device.cloudToDeviceMessageCount,
    authenticationType: device.authentication.type,
    x509Thumbprint: device.authentication.x509Thumbprint,
    capabilities: device.capabilities,
    ...(device.deviceScope !== undefined ? { deviceScope: device.deviceScope } : {}),
    ...(device.parentScopes !== undefined ? { parentScopes: device.parentScopes } : {}),
    ...common,
  };
}

const describeRef = (ref: IdentityRef): string =>
  ref.moduleId === undefined ? `device ${ref.deviceId}` : `module ${ref.deviceId}/${ref.moduleId}`;

// ---- request bodies -----------------------------------------------------------------------------------------------

type DeviceInput = Pick<
  StoredDevice,
  "status" | "statusReason" | "authentication" | "capabilities" | "deviceScope" | "parentScopes"
>;

/** The writable fields of a device body, validated; the id must match the path. */
function deviceInput(deviceId: string, body: unknown): DeviceInput {
  throwIfViolations(checkDeviceId(deviceId));
  if (!isPlainObject(body)) throw badRequest("The request body must be a device object.");
  if (body.deviceId !== undefined && body.deviceId !== deviceId) {
    throw badRequest(
      `deviceId: '${String(body.deviceId)}' does not match the device id in the path '${deviceId}'.`,
    );
  }
  const status = body.status ?? "enabled";
  if (status !== "enabled" && status !== "disabled") throw badRequest("status: must be enabled or disabled");
  const capabilities = isPlainObject(body.capabilities) ? body.capabilities : {};
  const input: DeviceInput = {
    status,
    authentication: normalizeAuthentication(body.authentication),
    capabilities: { iotEdge: capabilities.iotEdge === true },
  };
  if (typeof body.statusReason === "string") input.statusReason = body.statusReason;
  if (typeof body.deviceScope === "string" && body.deviceScope !== "") input.deviceScope = body.deviceScope;
  if (Array.isArray(body.parentScopes)) input.parentScopes = body.parentScopes.map(String);
  return input;
}

type ModuleInput = Pick<StoredModule, "authentication" | "managedBy">;

function moduleInput(deviceId: string, moduleId: string, body: unknown): ModuleInput {
  throwIfViolations([...checkDeviceId(deviceId), ...checkModuleId(moduleId)]);
  if (!isPlainObject(body)) throw badRequest("The request body must be a module object.");
  if (body.moduleId !== undefined && body.moduleId !== moduleId) {
    throw badRequest(
      `moduleId: '${String(body.moduleId)}' does not match the module id in the path '${moduleId}'.`,
    );
  }
  if (body.deviceId !== undefined && body.deviceId !== deviceId) {
    throw badRequest(
      `deviceId: '${String(body.deviceId)}' does not match the device id in the path '${deviceId}'.`,
    );
  }
  const input: ModuleInput = { authentication: normalizeAuthentication(body.authentication) };
  if (typeof body.managedBy === "string" && body.managedBy !== "") input.managedBy = body.managedBy;
  return input;
}

/** tags and properties.desired of a twin PATCH or PUT, checked against IoT Hub's twin rules. */
function twinInput(
  body: unknown,
  kind: "patch" | "replace",
): { tags?: Record<string, unknown>; desired?: Record<string, unknown> } {
  if (!isPlainObject(body)) throw badRequest("The request body must be a twin object.");
  const violations: RuleViolation[] = [];
  const properties = body.properties;
  if (properties !== undefined && properties !== null && !isPlainObject(properties)) {
    violations.push({ field: "properties", rule: "must be an object" });
  }
  if (isPlainObject(properties) && properties.reported !== undefined && kind === "patch") {
    violations.push({ field: "properties.reported", rule: "is written by the device only" });
  }
  const tags = body.tags ?? undefined;
  const rawDesired = (isPlainObject(properties) ? properties.desired : undefined) ?? undefined;
  const desired = isPlainObject(rawDesired) ? stripReadOnly(rawDesired) : rawDesired;
  if (tags !== undefined) violations.push(...checkTwinSection("tags", tags));
  if (desired !== undefined) violations.push(...checkTwinSection("desired", desired, "properties.desired"));
  throwIfViolations(violations);
  return {
    tags: tags as Record<string, unknown> | undefined,
    desired: desired as Record<string, unknown> | undefined,
  };
}

/** A replaced twin sent back as read may carry `$metadata`/`$version`: they are the hub's, not the caller's. */
function stripReadOnly(section: Record<string, unknown>): Record<string, unknown> {
  const { $metadata: _metadata, $version: _version, ...rest } = section;
  return rest;
}
