import type { AuthenticationMechanism } from "./identityAuthentication";

/**
 * Device and module identities as IoT Hub's registry API carries them (PUT bodies, GET answers). A client sends
 * what it sets; the hub answers with every field (the local hub's records narrow these types accordingly).
 */

export type IdentityStatus = "enabled" | "disabled";
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
