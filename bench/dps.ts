import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Client as DeviceClient } from "azure-iot-device";
import { Mqtt as DeviceMqtt } from "azure-iot-device-mqtt";
import type { EnrollmentGroup } from "azure-iot-provisioning-service/dist/interfaces";
import { registerDevice } from "../lib/dps/deviceClient";
import { deriveDeviceKey } from "../lib/dps/deviceKey";
import { dpsServiceClient } from "../lib/dps/serviceClient";
import { generateKey } from "../lib/iothub/sas";
import { runWithHub } from "./support/benchHub";
import { cpuSecondsOf, memoryOf, percentile, pool } from "./support/measure";

/**
 * `npm run bench:dps [-- --devices N] [--concurrency C]`: devices provisioning themselves through the local DPS,
 * with the real SDKs as a fleet does it: each registers with the provisioning device client (MQTT, its key derived
 * from the group's), then connects to the hub it was assigned and GETs its twin (the group's initial twin). Prints
 * registrations per second, registration and first-twin latency p50/p99, and the hub's CPU per device and memory.
 * Defaults: 1,000 devices, 16 at a time.
 */

const { values } = parseArgs({
  options: { devices: { type: "string" }, concurrency: { type: "string" } },
  strict: true,
});
const DEVICES = Number(values.devices ?? 1000);
const CONCURRENCY = Number(values.concurrency ?? 16);
if (!Number.isInteger(DEVICES) || DEVICES < 1 || !Number.isInteger(CONCURRENCY) || CONCURRENCY < 1) {
  console.error("bench:dps: --devices and --concurrency must be positive whole numbers");
  process.exit(2);
}

runWithHub(
  async (hub) => {
    const info = hub.info;
    const dpsInfo = info.dps!;
    const ca = readFileSync(info.caFile, "utf8");
    const groupKey = generateKey();
    await dpsServiceClient(dpsInfo.connectionString, ca).createOrUpdateEnrollmentGroup({
      enrollmentGroupId: "bench",
      attestation: {
        type: "symmetricKey",
        symmetricKey: { primaryKey: groupKey, secondaryKey: generateKey() },
      },
      provisioningStatus: "enabled",
      initialTwin: { tags: { fleet: "bench" }, properties: { desired: { interval: 10 } } },
    } as unknown as EnrollmentGroup);

    const registrationMs: number[] = [];
    const twinMs: number[] = [];
    const cpuBefore = cpuSecondsOf(info.pid);
    const started = performance.now();
    await pool(DEVICES, CONCURRENCY, async (i) => {
      const registrationId = `bench-${String(i).padStart(6, "0")}`;
      const key = deriveDeviceKey(groupKey, registrationId);
      const registering = performance.now();
      const result = await registerDevice({
        provisioningHost: `${dpsInfo.host}:${dpsInfo.mqttPort}`,
        idScope: dpsInfo.idScope,
        registrationId,
        key,
        caCertificate: ca,
      });
      registrationMs.push(performance.now() - registering);
      const connecting = performance.now();
      const client = DeviceClient.fromConnectionString(
        `HostName=${result.assignedHub};DeviceId=${result.deviceId};SharedAccessKey=${key};` +
          `GatewayHostName=${info.host}:${info.mqttPort}`,
        DeviceMqtt,
      );
      await client.setOptions({ ca });
      await client.open();
      const twin = await client.getTwin();
      if (twin.properties.desired.interval !== 10) throw new Error(`${registrationId} has no initial twin`);
      twinMs.push(performance.now() - connecting);
      await client.close();
    });
    const seconds = (performance.now() - started) / 1000;
    const cpu = cpuSecondsOf(info.pid) - cpuBefore;
    const memory = memoryOf(info.pid);
    registrationMs.sort((a, b) => a - b);
    twinMs.sort((a, b) => a - b);
    const ms = (values: number[], p: number) => percentile(values, p).toFixed(1);
    console.log(`DPS benchmark: ${DEVICES} devices through the local DPS, ${CONCURRENCY} at a time`);
    console.log(
      `  ${(DEVICES / seconds).toFixed(1)} devices/s (registration + connect + first twin GET) in ${seconds.toFixed(1)} s`,
    );
    console.log(`  registration p50 ${ms(registrationMs, 50)} ms, p99 ${ms(registrationMs, 99)} ms`);
    console.log(`  connect + first twin GET p50 ${ms(twinMs, 50)} ms, p99 ${ms(twinMs, 99)} ms`);
    console.log(
      `  hub: ${((cpu * 1000) / DEVICES).toFixed(2)} ms CPU per device, RSS ${memory.rssMb.toFixed(0)} MB (peak ${memory.peakMb.toFixed(0)} MB)`,
    );
  },
  { dps: true },
);
