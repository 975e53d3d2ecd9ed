import type {
  ConnectionState,
  DeviceIdentity,
  IdentityStatus,
  ModuleIdentity,
} from "../../lib/iothub/identity";
import type { RegisteredAuthentication } from "../../lib/iothub/identityAuthentication";

/**
 * The typed vocabulary of the identity store: what it returns (records: the registry's answer, every field set)
 * and what it takes (models the service handlers parsed from requests, and If-Match as a condition).
 */

export interface DeviceRecord extends DeviceIdentity {
  generationId: string;
  etag: string;
  status: IdentityStatus;
  statusUpdatedTime: string;
  connectionState: ConnectionState;
  connectionStateUpdatedTime: string;
  lastActivityTime: string;
  cloudToDeviceMessageCount: number;
  authentication: RegisteredAuthentication;
  capabilities: { iotEdge: boolean };
}

export interface ModuleRecord extends ModuleIdentity {
  generationId: string;
  etag: string;
  connectionState: ConnectionState;
  connectionStateUpdatedTime: string;
  lastActivityTime: string;
  cloudToDeviceMessageCount: number;
  authentication: RegisteredAuthentication;
}

/** The writable fields of a device, validated (ids included): what a create or full replace stores. */
export type DeviceIdentityModel = Pick<
  DeviceRecord,
  "deviceId" | "status" | "statusReason" | "authentication" | "capabilities" | "deviceScope" | "parentScopes"
>;

/** The writable fields of a module, validated (ids included). */
export type ModuleIdentityModel = Pick<
  ModuleRecord,
  "deviceId" | "moduleId" | "authentication" | "managedBy"
>;

/**
 * If-Match, parsed once: `absent` (a PUT is then create-only), `any` (the wildcard), or one etag that must be the
 * current one.
 */
export type EtagCondition = "absent" | "any" | { etag: string };

/** One entry of a bulk registry call, as the store applies it. */
export type DeviceOperation =
  | { kind: "put"; identity: DeviceIdentityModel; condition: EtagCondition }
  | { kind: "delete"; deviceId: string; condition: EtagCondition };

export interface DeviceStatistics {
  totalDeviceCount: number;
  enabledDeviceCount: number;
  disabledDeviceCount: number;
}

/** A position in a twin scan: the last key returned (query continuation). */
export type ScanKey = { deviceId: string; moduleId?: string };
