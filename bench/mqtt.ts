import { cpus, loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { connected, end, rawMqttClient, subscribe, type RawMqttClient } from "../test/local-hub/mqttSupport";
import { hubRegistry } from "../test/support/suiteHub";
import { runWithHub } from "./support/benchHub";
import { cpuSecondsOf, memoryOf, percentile, pool } from "./support/measure";

/**
 * `npm run bench:mqtt`: the local hub's device API under load, measured the way users meet it.
 * 1. MODULES module connections held at once (MQTT over TLS, SAS auth, each subscribed to its desired patches),
 *    opened CONNECT_CONCURRENCY at a time; the connect rate and the hub's RSS with all of them up.
 * 2. Latency from a desired PATCH through the real service SDK (Registry.updateModuleTwin) to the patch arriving
 *    at the module, SAMPLES times, one at a time, spread over the connected modules: p50, p99, max.
 * Aims: 1,000 connections; p99 <= 20 ms on loopback.
 * The clients are mqtt.js (what azure-iot-device-mqtt runs on) with IoT Hub's clientId/username/SAS: the SDK's
 * own state machines would cost the bench process far more than the hub.
 */

const MODULES = Number(process.env.BENCH_MODULES ?? 1000);
const MODULES_PER_DEVICE = 50; // IoT Hub's limit
const CONNECT_CONCURRENCY = Number(process.env.BENCH_CONNECT_CONCURRENCY ?? 25);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 300);

const ms = (value: number): string => `${value.toFixed(2)} ms`;

runWithHub(async (hub) => {
  const info = hub.info;
  const registry = hubRegistry(info);
  const key = Buffer.alloc(32, 9).toString("base64");
  const modules = Array.from({ length: MODULES }, (_, i) => ({
    deviceId: `bench-${Math.floor(i / MODULES_PER_DEVICE)}`,
    moduleId: `m${i % MODULES_PER_DEVICE}`,
    key,
  }));
  const clients: RawMqttClient[] = [];
  try {
    console.log(`local hub ${info.host}, mqtts port ${info.mqttPort}, pid ${info.pid}`);
    const idleRss = memoryOf(info.pid).rssMb;

    const devices = [...new Set(modules.map((module) => module.deviceId))];
    await pool(devices.length, 8, (i) => registry.create({ deviceId: devices[i] }));
    await pool(modules.length, 16, (i) =>
      registry.addModule({
        deviceId: modules[i].deviceId,
        moduleId: modules[i].moduleId,
        authentication: { symmetricKey: { primaryKey: key, secondaryKey: key } },
      }),
    );
    console.log(`registered ${modules.length} modules on ${devices.length} devices`);

    // 1. Connections held at once.
    const connectStart = performance.now();
    const connectCpu = cpuSecondsOf(info.pid);
    await pool(modules.length, CONNECT_CONCURRENCY, async (i) => {
      const client = rawMqttClient(info, modules[i], { clean: false });
      clients[i] = client;
      await connected(client);
      const granted = await subscribe(client, "$iothub/twin/PATCH/properties/desired/#");
      if (granted !== 0) throw new Error(`module ${i}: desired subscription refused (${granted})`);
    });
    const connectSeconds = (performance.now() - connectStart) / 1000;
    const hubCpuPerConnectMs = ((cpuSecondsOf(info.pid) - connectCpu) * 1000) / MODULES;
    const held = clients.filter((client) => client.connected).length;
    const fullRss = memoryOf(info.pid).rssMb;

    // 2. Desired PATCH (service SDK) -> module receipt.
    const latencies: number[] = [];
    const pushCpu = cpuSecondsOf(info.pid);
    for (let sample = 0; sample < SAMPLES; sample++) {
      const index = (sample * 37) % modules.length;
      const module = modules[index];
      const received = new Promise<number>((resolveReceipt) =>
        clients[index].once("message", () => resolveReceipt(performance.now())),
      );
      const sent = performance.now();
      await registry.updateModuleTwin(
        module.deviceId,
        module.moduleId,
        { properties: { desired: { sample } } },
        "*",
      );
      latencies.push((await received) - sent);
    }
    const hubCpuPerPushMs = ((cpuSecondsOf(info.pid) - pushCpu) * 1000) / SAMPLES;
    latencies.sort((a, b) => a - b);
    const stillHeld = clients.filter((client) => client.connected).length;

    console.log("");
    console.log("device API (MQTT) benchmark");
    console.log(
      `  connections held at once:      ${held} of ${MODULES} (aim 1,000); ${stillHeld} still up after the latency run`,
    );
    console.log(
      `  connect rate:                  ${(held / connectSeconds).toFixed(0)} connections/s ` +
        `(TLS + SAS + SUBSCRIBE, ${CONNECT_CONCURRENCY} at a time, ${connectSeconds.toFixed(1)} s)`,
    );
    console.log(`  hub CPU per connection:        ${ms(hubCpuPerConnectMs)}`);
    console.log(`  desired PATCH -> receipt p50:  ${ms(percentile(latencies, 50))}  (${SAMPLES} samples)`);
    console.log(`  desired PATCH -> receipt p99:  ${ms(percentile(latencies, 99))}  (aim <= 20 ms)`);
    console.log(`  desired PATCH -> receipt max:  ${ms(latencies[latencies.length - 1])}`);
    console.log(
      `  hub CPU per PATCH + push:      ${ms(hubCpuPerPushMs)} (HTTPS request, twin write, MQTT push)`,
    );
    console.log(`  machine load average (1 min):  ${loadavg()[0].toFixed(1)} on ${cpus().length} cores`);
    console.log(`  hub RSS idle:                  ${idleRss.toFixed(0)} MB`);
    console.log(`  hub RSS with ${held} connections: ${fullRss.toFixed(0)} MB`);
  } finally {
    await Promise.all(
      clients.filter(Boolean).map((client) => (client.connected ? end(client) : Promise.resolve())),
    );
  }
});
