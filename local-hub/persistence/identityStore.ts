import { randomBytes } from "node:crypto";
import type { Database, Statement } from "better-sqlite3";
import type { ConnectionState } from "../../lib/iothub/identity";
import { EDGE_AGENT, EDGE_HUB } from "../../lib/iothub/configuration";
import { credentialsChanged, registeredAuthentication } from "../../lib/iothub/identityAuthentication";
import { LIMITS, checkTwinSection } from "../../lib/iothub/rules";
import type { DeviceSideTwin, ServiceTwin, TwinProperties, TwinUpdate } from "../../lib/iothub/twin";
import {
  IotHubError,
  deviceAlreadyExists,
  deviceNotFound,
  moduleAlreadyExists,
  moduleNotFound,
  preconditionFailed,
  quotaExceeded,
  throwIfViolations,
} from "../errors/iotHubError";
import type { HubEventMap, HubEvents, IdentityRef } from "../events";
import type {
  DeviceIdentityModel,
  DeviceOperation,
  DeviceRecord,
  DeviceStatistics,
  EtagCondition,
  ModuleIdentityModel,
  ModuleRecord,
  ScanKey,
} from "./identityModels";
import type { SqlPrefilter } from "./twinPrefilter";
import {
  DEVICE_COLUMNS,
  SCHEMA,
  deviceRecord,
  moduleRecord,
  prepareStatements,
  renderTwin,
  serializeTwin,
  type DeviceRow,
  type ModuleRow,
  type StoredDevice,
  type StoredModule,
} from "./identityTables";
import {
  bumpVersion,
  mergePatch,
  newEtag,
  patchDesired,
  patchReported as applyReportedPatch,
  renderDeviceSide,
  replacementPatch,
  type ConfigurationsSection,
  type TwinState,
} from "./twinState";

/** What the ADM engine reads of a twin before it decides what to write (see `updateConfigurationState`). */
export interface ConfigurationView {
  desired: Readonly<TwinProperties>;
  configurations: Readonly<ConfigurationsSection>;
  appliedConfigurations: string | undefined;
}

/** What the ADM engine writes into a twin: a desired patch, the whole `configurations` section, the applied set. */
export interface ConfigurationWrite {
  desiredPatch?: TwinProperties;
  configurations: ConfigurationsSection;
  appliedConfigurations?: string;
}

export type { IdentityRef } from "../events";

function checkEtag(condition: EtagCondition, current: string, what: string): void {
  if (typeof condition === "object" && condition.etag !== current) {
    throw preconditionFailed(`The etag ${condition.etag} does not match the current etag of ${what}.`);
  }
}

/** The IoT Edge runtime's module identities, which every IoT Edge device has. */
const EDGE_SYSTEM_MODULES = [EDGE_AGENT, EDGE_HUB] as const;

const newGenerationId = (): string => `63${randomBytes(8).readBigUInt64BE().toString().slice(0, 16)}`;

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

  /** Events of a batch wait until the batch's transaction committed (set while `applyBatch` runs). */
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

  /**
   * Creates the device when `condition` is absent (409 when it exists), else replaces it as a whole (404 when
   * missing, 412 when the etag is stale).
   */
  putDevice(identity: DeviceIdentityModel, condition: EtagCondition): DeviceRecord {
    const { deviceId, ...input } = identity;
    const revoked: Array<[IdentityRef, "credentialsChanged" | "disabled"]> = [];
    const created: IdentityRef[] = [];
    const record = this.db.transaction(() => {
      const existing = this.getDevice(deviceId);
      const now = new Date().toISOString();
      if (condition === "absent") {
        if (existing) throw deviceAlreadyExists(deviceId);
        const stored: StoredDevice = {
          generationId: newGenerationId(),
          etag: newEtag(),
          statusUpdatedTime: now,
          cloudToDeviceMessageCount: 0,
          ...input,
        };
        stored.deviceScope = this.scopeOf(deviceId, stored, undefined);
        this.statements.insertDevice.run(deviceId, JSON.stringify(stored), stored.status, serializeTwin(now));
        created.push({ deviceId }, ...this.addEdgeSystemModules(deviceId, stored));
        return this.getDevice(deviceId) as DeviceRecord;
      }
      if (!existing) throw deviceNotFound(deviceId);
      checkEtag(condition, existing.etag, `device ${deviceId}`);
      const stored: StoredDevice = {
        generationId: existing.generationId,
        etag: newEtag(),
        statusUpdatedTime: existing.status === input.status ? existing.statusUpdatedTime : now,
        cloudToDeviceMessageCount: existing.cloudToDeviceMessageCount,
        ...input,
      };
      stored.deviceScope = this.scopeOf(deviceId, stored, existing);
      this.statements.updateDeviceIdentity.run(JSON.stringify(stored), stored.status, deviceId);
      created.push(...this.addEdgeSystemModules(deviceId, stored));
      if (existing.status === "enabled" && stored.status === "disabled") {
        revoked.push([{ deviceId }, "disabled"]);
        for (const moduleId of this.moduleIds(deviceId)) revoked.push([{ deviceId, moduleId }, "disabled"]);
      } else if (credentialsChanged(existing.authentication, stored.authentication)) {
        revoked.push([{ deviceId }, "credentialsChanged"]);
      }
      return this.getDevice(deviceId) as DeviceRecord;
    })();
    for (const [ref, reason] of revoked) this.announce("identityRevoked", ref, reason);
    for (const ref of created) this.announce("twinChanged", ref);
    return record;
  }

  /**
   * The deviceScope a device is stored with, by IoT Hub's rule. An IoT Edge device's scope is the hub's, made once
   * and immutable: a write may send it back or send none, nothing else. Any other device's scope names its parent:
   * none, or the scope of an existing IoT Edge device other than itself. A device that stops being an edge device
   * and sends its own scope back is left without one (that scope would name itself).
   */
  private scopeOf(
    deviceId: string,
    stored: StoredDevice,
    existing: DeviceRecord | undefined,
  ): string | undefined {
    const given = stored.deviceScope;
    const ownScope = existing?.capabilities.iotEdge ? existing.deviceScope : undefined;
    if (stored.capabilities.iotEdge) {
      if (given !== undefined && given !== ownScope) {
        throwIfViolations([
          {
            field: "deviceScope",
            rule: "an IoT Edge device's scope is generated by the hub and cannot be changed (send it unchanged, or none)",
          },
        ]);
      }
      return ownScope ?? `ms-azure-iot-edge://${deviceId}-${stored.generationId}`;
    }
    if (given === undefined || given === ownScope) return undefined;
    if (!this.statements.edgeDeviceWithScope.get(given, deviceId)) {
      throwIfViolations([
        {
          field: "deviceScope",
          rule: "must be the deviceScope of an IoT Edge device in this hub (its parent), or empty",
        },
      ]);
    }
    return given;
  }

  /**
   * IoT Hub gives every IoT Edge device the runtime's module identities `$edgeAgent` and `$edgeHub` (managed by
   * `iotEdge`, authentication `none`: the runtime authenticates as the device), also a device that becomes one.
   * Returns the modules it added.
   */
  private addEdgeSystemModules(deviceId: string, device: StoredDevice): IdentityRef[] {
    if (!device.capabilities.iotEdge) return [];
    const added: IdentityRef[] = [];
    for (const moduleId of EDGE_SYSTEM_MODULES) {
      if (this.statements.getModule.get(deviceId, moduleId)) continue;
      const stored: StoredModule = {
        generationId: newGenerationId(),
        etag: newEtag(),
        cloudToDeviceMessageCount: 0,
        authentication: registeredAuthentication({ type: "none" }),
        managedBy: "iotEdge",
      };
      this.statements.insertModule.run(
        deviceId,
        moduleId,
        JSON.stringify(stored),
        serializeTwin(new Date().toISOString()),
      );
      added.push({ deviceId, moduleId });
    }
    return added;
  }

  /** Removes the device, its twin, its modules and their twins (404 when missing, 412 when the etag is stale). */
  deleteDevice(deviceId: string, condition: EtagCondition): void {
    const moduleIds = this.db.transaction(() => {
      const existing = this.getDevice(deviceId);
      if (!existing) throw deviceNotFound(deviceId);
      checkEtag(condition, existing.etag, `device ${deviceId}`);
      const ids = this.moduleIds(deviceId);
      this.statements.deleteModulesOfDevice.run(deviceId);
      this.statements.deleteDevice.run(deviceId);
      return ids;
    })();
    this.announce("identityRevoked", { deviceId }, "deleted");
    for (const moduleId of moduleIds) this.announce("identityRevoked", { deviceId, moduleId }, "deleted");
  }

  /** The first `limit` devices in id order. */
  listDevices(limit: number): DeviceRecord[] {
    const rows = this.statements.listDevices.all(limit) as DeviceRow[];
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

  /** The module, else 404 DeviceNotFound or ModuleNotFound, as IoT Hub tells them apart. */
  requireModule(deviceId: string, moduleId: string): ModuleRecord {
    const module = this.getModule(deviceId, moduleId);
    if (module) return module;
    if (!this.statements.deviceExists.get(deviceId)) throw deviceNotFound(deviceId);
    throw moduleNotFound(deviceId, moduleId);
  }

  /** The modules of a device in id order; 404 when the device does not exist. */
  listModules(deviceId: string): ModuleRecord[] {
    if (!this.statements.deviceExists.get(deviceId)) throw deviceNotFound(deviceId);
    return (this.statements.listModules.all(deviceId) as ModuleRow[]).map(moduleRecord);
  }

  /**
   * Creates the module when `condition` is absent (409 when it exists, 403 for a device's 51st), else replaces it
   * as a whole; 404 when its device is missing.
   */
  putModule(identity: ModuleIdentityModel, condition: EtagCondition): ModuleRecord {
    const { deviceId, moduleId, ...input } = identity;
    let revoked = false;
    let created = false;
    const record = this.db.transaction(() => {
      if (!this.statements.deviceExists.get(deviceId)) throw deviceNotFound(deviceId);
      const existing = this.getModule(deviceId, moduleId);
      if (condition === "absent") {
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
        created = true;
        return this.getModule(deviceId, moduleId) as ModuleRecord;
      }
      if (!existing) throw moduleNotFound(deviceId, moduleId);
      checkEtag(condition, existing.etag, `module ${deviceId}/${moduleId}`);
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
    if (created) this.announce("twinChanged", { deviceId, moduleId });
    return record;
  }

  /** Removes the module and its twin (a re-created module starts over). */
  deleteModule(deviceId: string, moduleId: string, condition: EtagCondition): void {
    this.db.transaction(() => {
      const existing = this.getModule(deviceId, moduleId);
      if (!existing) {
        if (!this.statements.deviceExists.get(deviceId)) throw deviceNotFound(deviceId);
        throw moduleNotFound(deviceId, moduleId);
      }
      checkEtag(condition, existing.etag, `module ${deviceId}/${moduleId}`);
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

  /** The service API's twin; 404 DeviceNotFound or ModuleNotFound. */
  getTwin(ref: IdentityRef): ServiceTwin {
    return renderTwin(this.twinRow(ref), ref);
  }

  /** Merges tags and desired into the twin (null deletes; desired null deletes every desired property). */
  patchTwin(ref: IdentityRef, { tags, desired }: TwinUpdate, condition: EtagCondition): ServiceTwin {
    return this.writeTwin(ref, condition, tags !== undefined, (twin, at) => {
      if (tags) mergePatch(twin.tags, tags);
      if (desired === null) {
        // Pushed as a null for each removed property, as a replacement is, so a device's copy loses them too.
        const patch = replacementPatch(twin.desired, {});
        return { patch, version: patchDesired(twin, patch, at) };
      }
      if (desired && Object.keys(desired).length > 0) {
        return { patch: desired, version: patchDesired(twin, desired, at) };
      }
      if (tags) bumpVersion(twin);
      return undefined;
    });
  }

  /** Replaces tags and desired as a whole. */
  replaceTwin(ref: IdentityRef, { tags, desired }: TwinUpdate, condition: EtagCondition): ServiceTwin {
    return this.writeTwin(ref, condition, true, (twin, at) => {
      twin.tags = tags ?? {};
      const patch = replacementPatch(twin.desired, desired ?? {});
      twin.desired = {};
      twin.desiredMetadata = {};
      return { patch, version: patchDesired(twin, desired ?? {}, at) };
    });
  }

  /**
   * Reads, changes and writes one twin in a transaction, checking the etag condition and the twin rules on the
   * result (a merge can outgrow the limits); announces a desired change (and a tags change) after commit.
   */
  private writeTwin(
    ref: IdentityRef,
    condition: EtagCondition,
    tagsWritten: boolean,
    change: (twin: TwinState, at: Date) => { patch: TwinProperties; version: number } | undefined,
  ): ServiceTwin {
    const { json, desiredChange } = this.db.transaction(() => {
      const row = this.twinRow(ref);
      const twin = JSON.parse(row.twin) as TwinState;
      checkEtag(condition, twin.etag, `the twin of ${describeRef(ref)}`);
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
    if (tagsWritten) this.announce("twinChanged", ref);
    return json;
  }

  /**
   * The ADM engine's write: `change` sees the twin's desired properties, `configurations` section and which
   * configurations' content it carries, and returns what to write (undefined: nothing). The desired patch merges
   * as a service's patch does (null deletes) and must leave desired within IoT Hub's twin rules, else nothing is
   * written (400); a desired change is pushed to the connected client. Tags and reported are never touched, so no
   * `twinChanged` goes out: the engine's own writes do not re-trigger it. Returns whether anything was written.
   */
  updateConfigurationState(
    ref: IdentityRef,
    change: (twin: ConfigurationView) => ConfigurationWrite | undefined,
  ): boolean {
    const outcome = this.db.transaction(() => {
      const row = this.twinRow(ref);
      const twin = JSON.parse(row.twin) as TwinState;
      const write = change({
        desired: twin.desired,
        configurations: twin.configurations ?? {},
        appliedConfigurations: twin.appliedConfigurations,
      });
      if (!write) return undefined;
      let desiredChange: { patch: TwinProperties; version: number } | undefined;
      if (write.desiredPatch && Object.keys(write.desiredPatch).length > 0) {
        desiredChange = {
          patch: write.desiredPatch,
          version: patchDesired(twin, write.desiredPatch, new Date()),
        };
        throwIfViolations(checkTwinSection("desired", twin.desired, "properties.desired"));
      } else {
        bumpVersion(twin);
      }
      if (Object.keys(write.configurations).length > 0) twin.configurations = write.configurations;
      else delete twin.configurations;
      if (write.appliedConfigurations !== undefined) twin.appliedConfigurations = write.appliedConfigurations;
      this.saveTwin(ref, JSON.stringify(twin));
      return { desiredChange };
    })();
    if (outcome?.desiredChange) {
      this.announce("desiredChanged", ref, outcome.desiredChange.patch, outcome.desiredChange.version);
    }
    return outcome !== undefined;
  }

  getDeviceSideTwin(ref: IdentityRef): DeviceSideTwin | undefined {
    const row = this.findTwinRow(ref);
    return row && renderDeviceSide(JSON.parse(row.twin) as TwinState);
  }

  /**
   * Merges a reported patch (null deletes); returns the new reported $version. The merged section must keep IoT
   * Hub's twin rules (names, depth, sizes), else nothing is written (400).
   */
  patchReported(ref: IdentityRef, patch: TwinProperties): number {
    const version = this.db.transaction(() => {
      const row = this.twinRow(ref);
      const twin = JSON.parse(row.twin) as TwinState;
      const version = applyReportedPatch(twin, patch, new Date());
      throwIfViolations(checkTwinSection("reported", twin.reported));
      this.saveTwin(ref, JSON.stringify(twin));
      return version;
    })();
    this.announce("twinChanged", ref);
    return version;
  }

  setConnectionState(ref: IdentityRef, state: ConnectionState, at: Date): void {
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
   * Twins in key order after `after` that pass `prefilter` (SQL terms on the stored row; see twinPrefilter.ts). Lazy:
   * the query stops reading when its page is full, so a page costs what it reads, not the whole table.
   */
  *scanTwins(kind: "devices" | "modules", after?: ScanKey, prefilter?: SqlPrefilter): Generator<ServiceTwin> {
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

  /**
   * A bulk registry call: each operation applied on its own, all in one transaction (one commit instead of up to
   * 100; each operation is a savepoint of its own). Returns each operation's IoT Hub error, or undefined when it
   * succeeded; events go out once the batch committed.
   */
  applyBatch(operations: readonly DeviceOperation[]): Array<IotHubError | undefined> {
    const deferred: Array<() => void> = [];
    this.deferredEvents = deferred;
    let outcomes: Array<IotHubError | undefined>;
    try {
      outcomes = this.db.transaction(() => operations.map((operation) => this.applyOperation(operation)))();
    } finally {
      this.deferredEvents = undefined;
    }
    for (const emit of deferred) emit();
    return outcomes;
  }

  private applyOperation(operation: DeviceOperation): IotHubError | undefined {
    try {
      if (operation.kind === "put") this.putDevice(operation.identity, operation.condition);
      else this.deleteDevice(operation.deviceId, operation.condition);
      return undefined;
    } catch (error) {
      if (error instanceof IotHubError) return error;
      throw error;
    }
  }
}

const describeRef = (ref: IdentityRef): string =>
  ref.moduleId === undefined ? `device ${ref.deviceId}` : `module ${ref.deviceId}/${ref.moduleId}`;
