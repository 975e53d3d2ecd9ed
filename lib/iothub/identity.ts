import type { AuthenticationMechanism } from "./identityAuthentication";
import { LIMITS, type RuleViolation } from "./rules";

/**
 * Device and module identities as IoT Hub's registry API carries them (PUT bodies, GET answers). A client sends
 * what it sets; the hub answers with every field (the local hub's records narrow these types accordingly).
 */

const IDENTITY_STATUSES = ["enabled", "disabled"] as const;
export type IdentityStatus = (typeof IDENTITY_STATUSES)[number];
export type ConnectionState = "Connected" | "Disconnected";

/** Fields the registry keeps for devices and modules alike. */
interface RegistryEntry {
  deviceId: string;
  generationId?: string;
  etag?: string;
  connectionState?: ConnectionState;
  connectionStateUpdatedTime?: string;
  lastActivityTime?: string;
  cloudToDeviceMessageCount?: number;
  authentication?: AuthenticationMechanism;
}

export interface DeviceIdentity extends RegistryEntry {
  status?: IdentityStatus;
  statusReason?: string;
  statusUpdatedTime?: string;
  capabilities?: { iotEdge?: boolean };
  /** An IoT Edge device's own scope; children name their parent's in `parentScopes`. */
  deviceScope?: string;
  parentScopes?: string[];
}

export interface ModuleIdentity extends RegistryEntry {
  moduleId: string;
  managedBy?: string;
}

/** IoT Hub's rule for a device's `status`: enabled or disabled; absent means enabled (the registry's default). */
export function checkIdentityStatus(value: unknown, field = "status"): RuleViolation[] {
  if (value === undefined || IDENTITY_STATUSES.includes(value as IdentityStatus)) return [];
  return [{ field, rule: `must be ${IDENTITY_STATUSES.join(" or ")}` }];
}

/** IoT Hub's rule for a device's `statusReason`: free text of at most 128 characters, or absent. */
export function checkStatusReason(value: unknown, field = "statusReason"): RuleViolation[] {
  if (value === undefined) return [];
  if (typeof value !== "string") return [{ field, rule: "must be a string" }];
  if (value.length > LIMITS.statusReasonMaxLength) {
    return [{ field, rule: `must be at most ${LIMITS.statusReasonMaxLength} characters` }];
  }
  return [];
}
