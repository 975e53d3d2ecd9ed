import type { Database, Statement } from "better-sqlite3";
import type { ConnectionState } from "../../lib/iothub/identity";
import type { ServiceTwin } from "../../lib/iothub/twin";
import type { IdentityRef } from "../events";
import type { DeviceRecord, ModuleRecord } from "./identityModels";
import { newTwinState, renderProperties, type TwinState } from "./twinState";

/**
 * The identity tables of hub.db: their schema, the prepared statements on them, and how rows become records and
 * service twins. The store (identityStore.ts) runs its operations on these.
 */

/** IoT Hub's "never" timestamp. */
const NEVER = "0001-01-01T00:00:00Z";

/** The identity columns kept as JSON: everything the registry returns except what changes on every connection. */
export type StoredDevice = Omit<
  DeviceRecord,
  "deviceId" | "connectionState" | "connectionStateUpdatedTime" | "lastActivityTime"
>;
export type StoredModule = Omit<
  ModuleRecord,
  "deviceId" | "moduleId" | "connectionState" | "connectionStateUpdatedTime" | "lastActivityTime"
>;

interface ConnectionColumns {
  connection_state: ConnectionState;
  connection_state_updated_time: string;
  last_activity_time: string;
}
export interface DeviceRow extends ConnectionColumns {
  device_id: string;
  identity: string;
  twin: string;
}
export interface ModuleRow extends DeviceRow {
  module_id: string;
}

export const SCHEMA = `
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

// ---- statements ---------------------------------------------------------------------------------------------------

export const DEVICE_COLUMNS =
  "device_id, identity, connection_state, connection_state_updated_time, last_activity_time, twin";

export function prepareStatements(db: Database): Record<string, Statement> {
  return {
    getDevice: db.prepare(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE device_id = ?`),
    deviceExists: db.prepare("SELECT 1 FROM devices WHERE device_id = ?").pluck(),
    edgeDeviceWithScope: db
      .prepare(
        "SELECT 1 FROM devices WHERE json_extract(identity, '$.deviceScope') = ? AND json_extract(identity, '$.capabilities.iotEdge') = 1 AND device_id != ?",
      )
      .pluck(),
    insertDevice: db.prepare("INSERT INTO devices (device_id, identity, status, twin) VALUES (?, ?, ?, ?)"),
    updateDeviceIdentity: db.prepare("UPDATE devices SET identity = ?, status = ? WHERE device_id = ?"),
    updateDeviceTwin: db.prepare("UPDATE devices SET twin = ? WHERE device_id = ?"),
    deleteDevice: db.prepare("DELETE FROM devices WHERE device_id = ?"),
    listDevices: db.prepare(`SELECT ${DEVICE_COLUMNS} FROM devices ORDER BY device_id LIMIT ?`),
    countDevicesByStatus: db.prepare("SELECT status, COUNT(*) AS count FROM devices GROUP BY status"),
    setDeviceConnection: db.prepare(
      "UPDATE devices SET connection_state = ?, connection_state_updated_time = ?, last_activity_time = ? WHERE device_id = ?",
    ),
    touchDevice: db.prepare("UPDATE devices SET last_activity_time = ? WHERE device_id = ?"),

    getModule: db.prepare(
      `SELECT module_id, ${DEVICE_COLUMNS} FROM modules WHERE device_id = ? AND module_id = ?`,
    ),
    listModules: db.prepare(
      `SELECT module_id, ${DEVICE_COLUMNS} FROM modules WHERE device_id = ? ORDER BY module_id`,
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

// ---- rows <-> records ---------------------------------------------------------------------------------------------

export function serializeTwin(now: string): string {
  return JSON.stringify(newTwinState(new Date(now)));
}

function connectionFields(row: ConnectionColumns) {
  return {
    connectionState: row.connection_state,
    connectionStateUpdatedTime: row.connection_state_updated_time,
    lastActivityTime: row.last_activity_time,
  };
}

export function deviceRecord(row: DeviceRow): DeviceRecord {
  const stored = JSON.parse(row.identity) as StoredDevice;
  return { deviceId: row.device_id, ...stored, ...connectionFields(row) };
}

export function moduleRecord(row: ModuleRow): ModuleRecord {
  const stored = JSON.parse(row.identity) as StoredModule;
  return { deviceId: row.device_id, moduleId: row.module_id, ...stored, ...connectionFields(row) };
}

export function renderTwin(row: DeviceRow | ModuleRow, ref: IdentityRef): ServiceTwin {
  const twin = JSON.parse(row.twin) as TwinState;
  const common = {
    etag: twin.etag,
    connectionState: row.connection_state,
    lastActivityTime: row.last_activity_time,
    modelId: "",
    version: twin.version,
    tags: twin.tags,
    properties: renderProperties(twin),
    ...(twin.configurations && Object.keys(twin.configurations).length > 0
      ? { configurations: twin.configurations }
      : {}),
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
