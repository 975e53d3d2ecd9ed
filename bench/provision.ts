/**
 * `npm run bench:provision`: provisions a fleet (devices x 2 modules, each module with a desired twin) on a local
 * hub twice: through the registry providers, served by the real dynamic-provider server and called the way the
 * engine calls them (check then create, every resource as soon as its dependency exists), and the tutorial's way
 * (one SDK call after another). Then, on a hub with IoT Hub's S1 quota, a smaller fleet through the providers
 * paced to that quota: the share of the quota used and the failed resources.
 *
 * Flags: --devices N (default 1000), --rtt MS (default 40: round-trip time added between client and hub, as to
 * an Azure region; 0 = loopback), --quota-devices N (default 60), --skip-quota.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { RegistryProviderOptions } from "../components/registry/options";
import { providers } from "../components/registry/providers";
import { serviceRegistry } from "../lib/iothub/serviceClient";
import { startHub } from "../test/support/hubProcess";
import { startProviderServer, type ProviderServer } from "../test/support/providerServer";
import { startLatencyRelay } from "./latencyRelay";
import { ensureSuiteCa } from "./support/benchHub";
import { cpuSecondsOf } from "./support/measure";

interface BenchHub {
  pid: number;
  connectionString: string;
  hostName: string;
  caPem: string;
  mqttPort: number;
  stop(): Promise<void>;
}

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
}

/**
 * A local hub; with `rttMs` > 0, reached through a relay on another loopback address that adds that round-trip
 * time (the hub's certificate and connection string name the relay's address).
 */
async function startBenchHub(rttMs: number, extraArgs: string[] = []): Promise<BenchHub> {
  const relayHost = `127.0.${1 + Math.floor(Math.random() * 250)}.${2 + Math.floor(Math.random() * 250)}`;
  const hub = await startHub({ args: [...(rttMs > 0 ? ["--hostname", relayHost] : []), ...extraArgs] });
  const relay =
    rttMs > 0 ? await startLatencyRelay(relayHost, 443, hub.host, hub.info.httpsPort, rttMs) : undefined;
  return {
    pid: hub.info.pid,
    connectionString: hub.info.connectionString,
    hostName: hub.info.hostName,
    caPem: fs.readFileSync(hub.info.caFile, "utf8"),
    mqttPort: hub.info.mqttPort,
    async stop() {
      await relay?.close();
      await hub.stop();
    },
  };
}

interface Fleet {
  devices: number;
  prefix: string;
}

const desiredFor = (device: number, module: number): Record<string, unknown> => ({
  telemetryIntervalSeconds: 10 + module,
  site: { name: `site-${device % 17}`, rack: device % 5 },
});

/** The engine's way: each resource checked then created as soon as what it depends on exists. */
async function provisionThroughProviders(
  server: ProviderServer,
  texts: Record<string, string>,
  hub: BenchHub,
  fleet: Fleet,
  registry: RegistryProviderOptions | undefined,
): Promise<{ resources: number; failed: number; errors: string[] }> {
  const hubArgs = {
    serviceConnectionString: hub.connectionString,
    caCertificate: hub.caPem,
    gatewayHostName: `${hub.hostName}:${hub.mqttPort}`,
    ...(registry ? { registry } : {}),
  };
  let resources = 0;
  const errors: string[] = [];
  const create = async (kind: string, inputs: Record<string, unknown>): Promise<boolean> => {
    resources += 1;
    try {
      const checked = await server.check(texts[kind], {}, inputs);
      if (checked.failures.length > 0) throw new Error(checked.failures.map((f) => f.reason).join("; "));
      await server.create(texts[kind], checked.inputs);
      return true;
    } catch (error) {
      errors.push(`${kind}: ${(error as { details?: string }).details ?? String(error)}`);
      return false;
    }
  };
  await Promise.all(
    Array.from({ length: fleet.devices }, async (_, d) => {
      const deviceId = `${fleet.prefix}device-${d}`;
      if (!(await create("DeviceIdentity", { ...hubArgs, deviceId }))) return;
      await Promise.all(
        [0, 1].map(async (m) => {
          const moduleId = `module-${m}`;
          if (!(await create("ModuleIdentity", { ...hubArgs, deviceId, moduleId }))) return;
          await create("ModuleTwin", { ...hubArgs, deviceId, moduleId, desired: desiredFor(d, m) });
        }),
      );
    }),
  );
  return { resources, failed: errors.length, errors };
}

/** The tutorial's way: the service SDK, one awaited call after another. */
async function provisionTheTutorialWay(hub: BenchHub, fleet: Fleet): Promise<number> {
  const registry = serviceRegistry(hub.connectionString, hub.caPem);
  let calls = 0;
  for (let d = 0; d < fleet.devices; d++) {
    const deviceId = `${fleet.prefix}device-${d}`;
    await registry.create({ deviceId });
    calls += 1;
    for (const m of [0, 1]) {
      const moduleId = `module-${m}`;
      await registry.addModule({ deviceId, moduleId } as never);
      await registry.updateModuleTwin(deviceId, moduleId, { properties: { desired: desiredFor(d, m) } }, "*");
      calls += 2;
    }
  }
  return calls;
}

function readCounts(file: string): Record<string, number> {
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, number>) : {};
}

const seconds = (ms: number): string => (ms / 1000).toFixed(1);

/** CPU time (user + system) a process has used so far, in ms. */
const processCpuMs = (pid: number): number => cpuSecondsOf(pid) * 1000;

async function main(): Promise<void> {
  const devices = flag("devices", 1000);
  const quotaDevices = flag("quota-devices", 60);
  const rttMs = flag("rtt", 40);
  const texts: Record<string, string> = {};
  for (const [name, provider] of Object.entries(providers)) {
    texts[name] = (await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true })).text;
  }
  const statsDir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-provision-stats-"));

  console.log(
    `fleet: ${devices} devices x 2 modules, each module with a desired twin (${devices * 5} resources)`,
  );
  // The engine sends this text with every call and the provider server echoes it: its size is a per-call cost.
  console.log(
    `__provider text per call: ${Object.entries(texts)
      .map(([name, text]) => `${name} ${text.length} B`)
      .join(", ")}`,
  );
  console.log(
    rttMs > 0
      ? `the hub is reached through a relay adding ${rttMs} ms of round-trip time (a nearby Azure region; --rtt 0 for none)`
      : "the hub is reached directly over loopback (no network latency)",
  );
  const hub = await startBenchHub(rttMs);
  try {
    let started = Date.now();
    const tutorialCalls = await provisionTheTutorialWay(hub, { devices, prefix: "tutorial-" });
    const tutorialMs = Date.now() - started;
    console.log(`tutorial way (sequential SDK calls): ${seconds(tutorialMs)} s, ${tutorialCalls} REST calls`);

    const statsFile = path.join(statsDir, "unthrottled.json");
    const server = await startProviderServer({ env: { IOTHUB_PROVISIONER_STATS_FILE: statsFile } });
    try {
      const cpuBefore = {
        server: processCpuMs(server.pid),
        engine: process.cpuUsage(),
        hub: processCpuMs(hub.pid),
      };
      started = Date.now();
      const result = await provisionThroughProviders(
        server,
        texts,
        hub,
        { devices, prefix: "providers-" },
        undefined,
      );
      const providersMs = Date.now() - started;
      const engineCpu = process.cpuUsage(cpuBefore.engine);
      const perResource = (ms: number): string => (ms / result.resources).toFixed(1);
      const calls = Object.values(readCounts(statsFile)).reduce((a, b) => a + b, 0);
      console.log(
        `providers (real provider server, engine-style parallelism): ${seconds(providersMs)} s, ` +
          `${result.resources} resources, ${result.failed} failed, ${calls} REST calls ` +
          `(${(calls / result.resources).toFixed(2)} per resource)`,
      );
      console.log(
        `CPU per resource: provider process ${perResource(processCpuMs(server.pid) - cpuBefore.server)} ms, ` +
          `engine stand-in (this process: gRPC client${rttMs > 0 ? ", latency relay" : ""}) ` +
          `${perResource((engineCpu.user + engineCpu.system) / 1000)} ms, hub ${perResource(processCpuMs(hub.pid) - cpuBefore.hub)} ms; ` +
          `machine load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores`,
      );
      console.log(`speed-up over the tutorial way: ${(tutorialMs / providersMs).toFixed(1)}x`);
      for (const error of result.errors.slice(0, 5)) console.log(`  failure: ${error}`);
    } finally {
      await server.stop();
    }
  } finally {
    await hub.stop();
  }

  if (process.argv.includes("--skip-quota")) return;
  const registryQuotaPerMin = 100;
  console.log(
    `\nunder the S1 quota (registry ${registryQuotaPerMin}/min, bucket of one minute; twinUpdate 50/s): ` +
      `${quotaDevices} devices x 2 modules (smaller fleet: at 100 registry ops/min the full fleet takes 30 min)`,
  );
  const quotaHub = await startBenchHub(0, ["--quota", "S1"]);
  const statsFile = path.join(statsDir, "quota.json");
  const server = await startProviderServer({ env: { IOTHUB_PROVISIONER_STATS_FILE: statsFile } });
  try {
    // 95 % of the quota, bucket included: the hub's bucket starts when our first call ARRIVES, after our pacer's
    // clock started, so pacing at exactly the quota runs a few calls early and into 429s.
    const headroom = 0.95;
    const registry: RegistryProviderOptions = {
      opsPerSecond: {
        registry: (headroom * registryQuotaPerMin) / 60,
        twinRead: headroom * 100,
        twinUpdate: headroom * 50,
      },
      burst: {
        registry: headroom * registryQuotaPerMin,
        twinRead: headroom * 100,
        twinUpdate: headroom * 50,
      },
    };
    const started = Date.now();
    const result = await provisionThroughProviders(
      server,
      texts,
      quotaHub,
      { devices: quotaDevices, prefix: "q-" },
      registry,
    );
    const elapsedMs = Date.now() - started;
    const counts = readCounts(statsFile);
    const registryCalls = counts.registry ?? 0;
    const registryOpsNeeded = quotaDevices * 3;
    const allowed = registryQuotaPerMin + (registryQuotaPerMin / 60) * (elapsedMs / 1000);
    console.log(
      `providers paced to S1: ${seconds(elapsedMs)} s, ${result.resources} resources, ${result.failed} failed, ` +
        `registry calls ${registryCalls} for ${registryOpsNeeded} registry operations ` +
        `(${registryCalls - registryOpsNeeded} throttled and retried), twin updates ${counts.twinUpdate ?? 0}`,
    );
    console.log(
      `share of the registry quota used: ${((100 * registryOpsNeeded) / allowed).toFixed(1)} % ` +
        `(${registryOpsNeeded} operations; the quota allowed ${allowed.toFixed(0)} in ${seconds(elapsedMs)} s ` +
        `including the bucket's initial ${registryQuotaPerMin})`,
    );
    for (const error of result.errors.slice(0, 5)) console.log(`  failure: ${error}`);
  } finally {
    await server.stop();
    await quotaHub.stop();
  }
}

ensureSuiteCa();
main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
