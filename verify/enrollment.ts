import { performance } from "node:perf_hooks";
import { Client as DeviceClient } from "azure-iot-device";
import { Mqtt as DeviceMqtt } from "azure-iot-device-mqtt";
import { deviceMqttTrusting } from "../lib/iothub/deviceMqttTrust";
import type { ProvisioningServiceClient } from "azure-iot-provisioning-service";
import type { Registry } from "azure-iothub";
import { registerDevice } from "../lib/dps/deviceClient";
import { deriveDeviceKey } from "../lib/dps/deviceKey";
import { identityConnectionString } from "../lib/iothub/sas";
import type { TwinDocument } from "../lib/iothub/twin";
import { compareDesired, describeMismatch, type DesiredMismatch } from "./desired";
import { describeError, withTimeout } from "./failures";
import { mapWithConcurrency } from "./pool";
import { Progress } from "./progress";

/**
 * `verify --enrollment GROUP --simulate N`: what a fleet provisioned through DPS relies on, proved with the real
 * SDKs. Each simulated device registers with the device provisioning client and its key derived from the group's
 * key (registration id `GROUP-sim-0001`, ...), connects to the hub it was assigned as a device client with that
 * same key, and must find the group's initial desired properties in its twin. Afterwards its registration and its
 * identity are deleted (unless `keep`), also when its check failed.
 */

export type EnrollmentStep = "register" | "connect" | "readTwin" | "checkDesired" | "cleanup";
export type EnrollmentFailureKind =
  "registration-failed" | "connect-failed" | "twin-read-failed" | "desired-mismatch" | "cleanup-failed";

export interface SimulatedDeviceResult {
  registrationId: string;
  /** The device id DPS assigned (absent when registration failed). */
  deviceId?: string;
  assignedHub?: string;
  ok: boolean;
  passedSteps: EnrollmentStep[];
  failure?: {
    kind: EnrollmentFailureKind;
    step: EnrollmentStep;
    message: string;
    mismatches?: DesiredMismatch[];
  };
  durationMs: number;
}

export interface EnrollmentReport {
  ok: boolean;
  enrollmentGroupId: string;
  idScope: string;
  total: number;
  passed: number;
  failed: number;
  kept: boolean;
  durationMs: number;
  devices: SimulatedDeviceResult[];
}

/** Where the simulated devices register and connect, and the clients that clean up after them. */
export interface EnrollmentTarget {
  /** The DPS's device endpoint, `host[:port]`. */
  provisioningHost: string;
  idScope: string;
  /** The hub's MQTT endpoint for the assigned host name (`host:port`), when it is not `<assignedHub>:8883`. */
  gatewayHostName?: string;
  caPem?: string;
  dps: ProvisioningServiceClient;
  registry: Registry;
}

export interface EnrollmentRun {
  enrollmentGroupId: string;
  simulate: number;
  groupKey: string;
  /** The group's initial desired properties: what every device must receive. */
  desired: TwinDocument;
  keep: boolean;
  timeoutSeconds: number;
  concurrency: number;
}

/** `GROUP-sim-0001`: four digits, more when N needs them. */
export function simulatedRegistrationIds(enrollmentGroupId: string, count: number): string[] {
  const width = Math.max(4, String(count).length);
  return Array.from(
    { length: count },
    (_, index) => `${enrollmentGroupId}-sim-${String(index + 1).padStart(width, "0")}`,
  );
}

export async function verifyEnrollment(
  target: EnrollmentTarget,
  run: EnrollmentRun,
): Promise<EnrollmentReport> {
  const started = performance.now();
  const ids = simulatedRegistrationIds(run.enrollmentGroupId, run.simulate);
  const progress = new Progress(ids.length, process.stderr, "simulated devices");
  const devices = await mapWithConcurrency(ids, run.concurrency, async (registrationId) => {
    const result = await checkSimulatedDevice(target, run, registrationId);
    progress.moduleFinished(result.ok);
    return result;
  });
  progress.finish();
  const passed = devices.filter((device) => device.ok).length;
  return {
    ok: passed === devices.length,
    enrollmentGroupId: run.enrollmentGroupId,
    idScope: target.idScope,
    total: devices.length,
    passed,
    failed: devices.length - passed,
    kept: run.keep,
    durationMs: Math.round(performance.now() - started),
    devices,
  };
}

async function checkSimulatedDevice(
  target: EnrollmentTarget,
  run: EnrollmentRun,
  registrationId: string,
): Promise<SimulatedDeviceResult> {
  const started = performance.now();
  const passedSteps: EnrollmentStep[] = [];
  const result: SimulatedDeviceResult = { registrationId, ok: false, passedSteps, durationMs: 0 };
  const fail = (
    kind: EnrollmentFailureKind,
    step: EnrollmentStep,
    message: string,
    mismatches?: DesiredMismatch[],
  ) => {
    result.failure ??= { kind, step, message, ...(mismatches ? { mismatches } : {}) };
  };
  const key = deriveDeviceKey(run.groupKey, registrationId);
  let registered = false;
  try {
    const registration = await withTimeout(
      registerDevice({
        provisioningHost: target.provisioningHost,
        idScope: target.idScope,
        registrationId,
        key,
        caCertificate: target.caPem,
      }),
      run.timeoutSeconds,
    );
    registered = true;
    result.deviceId = registration.deviceId;
    result.assignedHub = registration.assignedHub;
    passedSteps.push("register");
    await checkAssignedDevice(
      target,
      run,
      registration.assignedHub,
      registration.deviceId,
      key,
      passedSteps,
      fail,
    );
  } catch (error) {
    fail(
      "registration-failed",
      "register",
      `registration failed: ${registrationId} could not register through enrollment group ${run.enrollmentGroupId} (${describeError(error)})`,
    );
  }
  if (!run.keep && registered) {
    try {
      await withTimeout(target.dps.deleteDeviceRegistrationState(registrationId), run.timeoutSeconds);
      if (result.deviceId) await withTimeout(target.registry.delete(result.deviceId), run.timeoutSeconds);
      passedSteps.push("cleanup");
    } catch (error) {
      fail(
        "cleanup-failed",
        "cleanup",
        `cleanup failed: could not delete the registration or identity of ${registrationId} (${describeError(error)})`,
      );
    }
  }
  result.ok = result.failure === undefined;
  result.durationMs = Math.round(performance.now() - started);
  return result;
}

async function checkAssignedDevice(
  target: EnrollmentTarget,
  run: EnrollmentRun,
  assignedHub: string,
  deviceId: string,
  key: string,
  passedSteps: EnrollmentStep[],
  fail: (
    kind: EnrollmentFailureKind,
    step: EnrollmentStep,
    message: string,
    mismatches?: DesiredMismatch[],
  ) => void,
): Promise<void> {
  const client = DeviceClient.fromConnectionString(
    identityConnectionString({
      hostName: assignedHub,
      deviceId,
      key,
      gatewayHostName: target.gatewayHostName,
    }),
    target.caPem ? deviceMqttTrusting(target.caPem) : DeviceMqtt,
  );
  client.on("error", () => undefined);
  try {
    await withTimeout(client.open(), run.timeoutSeconds);
    passedSteps.push("connect");
  } catch (error) {
    fail(
      "connect-failed",
      "connect",
      `connect failed: ${deviceId} registered but could not connect to ${assignedHub} with its derived key (${describeError(error)})`,
    );
    await withTimeout(client.close(), run.timeoutSeconds).catch(() => undefined);
    return;
  }
  try {
    let desired: Record<string, unknown>;
    try {
      const twin = await withTimeout(client.getTwin(), run.timeoutSeconds);
      desired = twin.properties.desired as Record<string, unknown>;
      passedSteps.push("readTwin");
    } catch (error) {
      fail(
        "twin-read-failed",
        "readTwin",
        `twin read failed: ${deviceId} connected but could not read its twin (${describeError(error)})`,
      );
      return;
    }
    const mismatches = compareDesired(run.desired, desired);
    if (mismatches.length > 0) {
      fail(
        "desired-mismatch",
        "checkDesired",
        `desired mismatch: ${mismatches.map(describeMismatch).join("; ")} (the group's initialTwin)`,
        mismatches,
      );
      return;
    }
    passedSteps.push("checkDesired");
  } finally {
    await withTimeout(client.close(), run.timeoutSeconds).catch(() => undefined);
  }
}

export function renderEnrollmentJson(report: EnrollmentReport): string {
  return JSON.stringify(report, null, 2);
}

export function renderEnrollmentTable(report: EnrollmentReport): string {
  const header = ["REGISTRATION", "RESULT", "DETAIL"];
  const rows = report.devices.map((device) => [
    device.registrationId,
    device.ok ? "pass" : "FAIL",
    device.ok
      ? `registered, connected to ${device.assignedHub}, initial desired twin received${report.kept ? "" : ", cleaned up"}`
      : (device.failure?.message ?? ""),
  ]);
  const widths = [0, 1].map((column) =>
    Math.max(header[column].length, ...rows.map((row) => row[column].length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column < 2 ? cell.padEnd(widths[column]) : cell))
      .join("  ")
      .trimEnd();
  const seconds = (report.durationMs / 1000).toFixed(1);
  const verdict = report.ok
    ? `all ${report.total} simulated devices of ${report.enrollmentGroupId} passed in ${seconds} s`
    : `${report.failed} of ${report.total} simulated devices of ${report.enrollmentGroupId} FAILED (${report.passed} passed) in ${seconds} s`;
  return [line(header), ...rows.map(line), "", verdict].join("\n");
}
