import type { ConnectionState, IdentityStatus } from "../../lib/iothub/identity";
import type { AuthenticationMechanism } from "../../lib/iothub/identityAuthentication";
import type { DeviceSideTwin, TwinProperties } from "../../lib/iothub/twin";
import type { IdentityRef } from "../events";

/**
 * What the device API needs from the rest of the hub: the narrow slice of the identity store it reads and writes.
 * `IdentityStore` (local-hub/persistence/identityStore.ts) satisfies it as it is; tests and benchmarks may pass
 * anything else with the same shape.
 */

/** The parts of a registry entry that decide whether and how an identity may connect. */
export interface IdentityCredentials {
  authentication: AuthenticationMechanism;
}

export interface DeviceApiBackend {
  getDevice(deviceId: string): (IdentityCredentials & { status: IdentityStatus }) | undefined;
  getModule(deviceId: string, moduleId: string): IdentityCredentials | undefined;
  /** `{desired:{..., "$version": n}, reported:{..., "$version": m}}`, as a twin GET over MQTT answers it. */
  getDeviceSideTwin(ref: IdentityRef): DeviceSideTwin | undefined;
  /**
   * Merges a reported patch (already checked against IoT Hub's twin rules); returns the new reported $version.
   * Throws IotHubError when the identity is unknown or the merged section breaks the rules.
   */
  patchReported(ref: IdentityRef, patch: TwinProperties): number;
  setConnectionState(ref: IdentityRef, state: ConnectionState, at: Date): void;
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
