import type { IdentityRef } from "../events";

/**
 * What the device API needs from the rest of the hub: the narrow slice of the identity store it reads and writes.
 * `IdentityStore` (local-hub/persistence/identityStore.ts) satisfies it as it is; tests and benchmarks may pass
 * anything else with the same shape.
 */

/** The parts of a registry entry that decide whether and how an identity may connect. */
export interface IdentityCredentials {
  authentication: {
    type: "sas" | "selfSigned" | "certificateAuthority" | "none";
    symmetricKey?: { primaryKey: string | null; secondaryKey: string | null };
    x509Thumbprint?: { primaryThumbprint: string | null; secondaryThumbprint: string | null };
  };
}

export interface DeviceApiBackend {
  getDevice(deviceId: string): (IdentityCredentials & { status: "enabled" | "disabled" }) | undefined;
  getModule(deviceId: string, moduleId: string): IdentityCredentials | undefined;
  /** `{desired:{..., "$version": n}, reported:{..., "$version": m}}`, as a twin GET over MQTT answers it. */
  getDeviceSideTwin(
    ref: IdentityRef,
  ): { desired: Record<string, unknown>; reported: Record<string, unknown> } | undefined;
  /** Merges a reported patch; returns the new reported $version. Throws IotHubError for bad input. */
  patchReported(ref: IdentityRef, patch: Record<string, unknown>): number;
  setConnectionState(ref: IdentityRef, state: "Connected" | "Disconnected", at: Date): void;
  touchActivity(ref: IdentityRef, at: Date): void;
}

/**
 * Quotas and faults for the device API's classes (the platform's `Chaos` satisfies it). `subject` is
 * `{clientId} {topic}` (e.g. `d1/m1 $iothub/twin/GET/?$rid=4`), so `fault add --match TEXT` can aim at one identity
 * or one kind of request.
 * desiredPush: anything but "proceed" means the patch is applied but not pushed ("reset" also drops the socket).
 * deviceTwin: "throttle" answers 429, fault "503" answers 503, "hang"/"drop" never answer, "reset" drops the socket.
 */
export type DeviceApiChaosVerdict =
  | { action: "proceed" }
  | { action: "throttle" }
  | { action: "fault"; mode: "503" | "hang" | "reset" | "drop" };

export interface DeviceApiChaos {
  admit(operationClass: "desiredPush" | "deviceTwin", subject: string): DeviceApiChaosVerdict;
}
