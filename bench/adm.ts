/**
 * `npm run bench:adm`: automatic device management at fleet size on the local hub, through the Configuration and
 * EdgeDeployment providers as the engine drives them (the real dynamic-provider server, the serialized stubs).
 *
 * 1. A module configuration targeting 1,000 module twins: seconds from the provider's create (check + create)
 *    until the hub's ADM engine reports all 1,000 applied.
 * 2. 1,000 IoT Edge devices under a base deployment, then a manifest change as `pulumi up` makes it (the new
 *    deployment created, then the old one deleted): the $edgeAgent twins sampled throughout with the service SDK's
 *    query, counting devices that had no deployment applied (must stay 0), and the seconds until every device has
 *    only the new one.
 *
 * Flags: --modules N (default 1000), --edge-devices N (default 1000), --adm-interval MS (default 300000, IoT Hub's
 * five minutes: only changes trigger the passes measured here).
 */
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import type { Registry } from "azure-iothub";
import { configurationIdFor } from "../components/adm/configurationId";
import { baseManifest, dockerModule } from "../test/adm/manifests";
import { startHub, type TestHub } from "../test/support/hubProcess";
import {
  serializedProviders,
  startProviderServer,
  type Props,
  type ProviderServer,
} from "../test/support/providerServer";
import { hubRegistry } from "../test/support/suiteHub";
import { ensureSuiteCa } from "./support/benchHub";
import { cpuSecondsOf, memoryOf, pool } from "./support/measure";

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
}

const MODULES = flag("modules", 1000);
const EDGE_DEVICES = flag("edge-devices", 1000);
const ADM_INTERVAL_MS = flag("adm-interval", 300_000);
const MODULES_PER_DEVICE = 10;
const CONCURRENCY = 16;

interface Bench {
  hub: TestHub;
  server: ProviderServer;
  texts: Record<string, string>;
  registry: Registry;
  hubArgs: Props;
}

const seconds = (fromMs: number): string => ((performance.now() - fromMs) / 1000).toFixed(2);

/** The engine's way: check, then create with the checked inputs. */
async function create(bench: Bench, kind: string, inputs: Props): Promise<{ id: string; outs: Props }> {
  const checked = await bench.server.check(bench.texts[kind], {}, inputs);
  if (checked.failures.length > 0) throw new Error(`check failed: ${JSON.stringify(checked.failures)}`);
  return bench.server.create(bench.texts[kind], checked.inputs);
}

/** The line the hub logs when the engine's pass counted `count` targeted and applied for configuration `id`. */
const allApplied = (bench: Bench, id: string, count: number): Promise<string> =>
  bench.hub.waitForOutput(new RegExp(`adm: ${id} targetedCount=${count} appliedCount=${count}\\b`));

/** Gives up on a wait that the hub should have ended long before (a bench must end, with the reason). */
function within<T>(seconds: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done after ${seconds} s`)), seconds * 1000);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

const WAIT_SECONDS = 300;

async function moduleConfiguration(bench: Bench): Promise<void> {
  const devices = Math.ceil(MODULES / MODULES_PER_DEVICE);
  await pool(devices, CONCURRENCY, (d) => bench.registry.create({ deviceId: `cfg-${d}` }));
  await pool(MODULES, CONCURRENCY, async (i) => {
    const deviceId = `cfg-${Math.floor(i / MODULES_PER_DEVICE)}`;
    const moduleId = `m${i % MODULES_PER_DEVICE}`;
    await bench.registry.addModule({ deviceId, moduleId } as never);
    await bench.registry.updateModuleTwin(deviceId, moduleId, { tags: { fleet: "bench" } }, "*");
  });

  // The provider process loads each provider on its first call (seconds, with tsx): not what is measured here.
  await bench.server.check(bench.texts.Configuration, {}, { ...bench.hubArgs, name: "warm-up" });
  await bench.server.check(bench.texts.EdgeDeployment, {}, { ...bench.hubArgs, name: "warm-up" });
  const started = performance.now();
  const content = { moduleContent: { "properties.desired.telemetry": { interval: 30 } } };
  const applied = allApplied(bench, configurationIdFor("bench-interval", content), MODULES);
  await create(bench, "Configuration", {
    ...bench.hubArgs,
    name: "bench-interval",
    targetCondition: "FROM devices.modules WHERE tags.fleet = 'bench'",
    priority: 10,
    content,
  });
  const created = seconds(started);
  await within(WAIT_SECONDS, "the configuration applied to every module twin", applied);
  console.log(
    `  configuration -> ${MODULES} module twins: created in ${created} s, all applied ${seconds(started)} s after create`,
  );
}

/** Devices whose $edgeAgent twin has no deployment Applied, and those with `id` Applied, from one full query. */
async function sampleEdgeAgents(
  registry: Registry,
  id: string,
): Promise<{ without: number; withId: number }> {
  const query = registry.createQuery("SELECT * FROM devices.modules WHERE moduleId = '$edgeAgent'", 100);
  let without = 0;
  let withId = 0;
  let seen = 0;
  do {
    // The promise form of next() without the token asks for page 1 again (docs/field-notes.md, the service SDK).
    const page = (await query.next(query.continuationToken)).result as Array<{
      configurations?: Record<string, { status: string }>;
    }>;
    for (const twin of page) {
      seen++;
      const entries = Object.entries(twin.configurations ?? {});
      if (!entries.some(([, entry]) => entry.status === "Applied")) without++;
      if (entries.some(([name, entry]) => name === id && entry.status === "Applied")) withId++;
    }
  } while (query.hasMoreResults);
  if (seen !== EDGE_DEVICES) throw new Error(`the query saw ${seen} $edgeAgent twins, not ${EDGE_DEVICES}`);
  return { without, withId };
}

async function edgeDeploymentChange(bench: Bench): Promise<void> {
  await pool(EDGE_DEVICES, CONCURRENCY, async (d) => {
    await bench.registry.create({ deviceId: `edge-${d}`, capabilities: { iotEdge: true } } as never);
    await bench.registry.updateTwin(`edge-${d}`, { tags: { ring: "bench" } }, "*");
  });
  const manifest = (image: string) =>
    baseManifest({ sensor: dockerModule(image) }, { sensor: { "properties.desired": { interval: 5 } } });
  const deployment = (image: string): Props => ({
    ...bench.hubArgs,
    name: "bench-base",
    targetCondition: "tags.ring = 'bench'",
    priority: 10,
    modulesContent: manifest(image),
  });
  const idOf = (image: string): string =>
    configurationIdFor("bench-base", { modulesContent: manifest(image) });

  let started = performance.now();
  const firstApplied = allApplied(bench, idOf("sensor:1"), EDGE_DEVICES);
  const first = await create(bench, "EdgeDeployment", deployment("sensor:1"));
  await within(WAIT_SECONDS, "the base deployment applied to every device", firstApplied);
  console.log(
    `  base deployment -> ${EDGE_DEVICES} IoT Edge devices: all applied ${seconds(started)} s after create`,
  );

  // The change as `pulumi up` makes it: create the new deployment, then delete the old. Sample all along.
  let sampling = true;
  let samples = 0;
  let worst = 0;
  const sampler = (async () => {
    while (sampling) {
      const { without } = await sampleEdgeAgents(bench.registry, "");
      samples++;
      worst = Math.max(worst, without);
    }
  })();
  started = performance.now();
  const secondApplied = allApplied(bench, idOf("sensor:2"), EDGE_DEVICES);
  const second = await create(bench, "EdgeDeployment", deployment("sensor:2"));
  await within(WAIT_SECONDS, "the new deployment applied to every device", secondApplied);
  const appliedAfter = seconds(started);
  await bench.server.delete(bench.texts.EdgeDeployment, first.id, first.outs);
  // The old one leaves the twins at the engine's next pass: done when every device shows only the new one Applied.
  const deadline = performance.now() + WAIT_SECONDS * 1000;
  for (;;) {
    if (performance.now() > deadline)
      throw new Error(`the old deployment still in twins after ${WAIT_SECONDS} s`);
    const { without, withId } = await sampleEdgeAgents(bench.registry, second.id);
    worst = Math.max(worst, without);
    if (withId === EDGE_DEVICES) {
      const stale = await bench.registry.getModuleTwin("edge-0", "$edgeAgent");
      const sections = (stale.responseBody as unknown as { configurations?: Record<string, unknown> })
        .configurations;
      if (!sections || !(first.id in sections)) break;
    }
  }
  const done = seconds(started);
  sampling = false;
  await sampler;
  console.log(
    `  manifest change on ${EDGE_DEVICES} IoT Edge devices: new deployment applied everywhere ${appliedAfter} s ` +
      `after its create, old one gone ${done} s after; ${samples} samples of all $edgeAgent twins, at most ` +
      `${worst} devices without a deployment applied`,
  );
  if (worst > 0) process.exitCode = 1;
}

async function main(): Promise<void> {
  ensureSuiteCa();
  const [hub, server, texts] = await Promise.all([
    startHub({ args: ["--adm-interval", String(ADM_INTERVAL_MS)] }),
    startProviderServer(),
    serializedProviders(),
  ]);
  const bench: Bench = {
    hub,
    server,
    texts,
    registry: hubRegistry(hub.info),
    hubArgs: {
      serviceConnectionString: hub.info.connectionString,
      caCertificate: readFileSync(hub.info.caFile, "utf8"),
    },
  };
  try {
    console.log(`ADM benchmark on a local hub (${hub.info.host}), ADM interval ${ADM_INTERVAL_MS} ms`);
    await moduleConfiguration(bench);
    await edgeDeploymentChange(bench);
    const memory = memoryOf(hub.info.pid);
    console.log(
      `  hub: ${cpuSecondsOf(hub.info.pid).toFixed(1)} CPU s in all, RSS ${memory.rssMb.toFixed(0)} MB ` +
        `(peak ${memory.peakMb.toFixed(0)} MB)`,
    );
  } finally {
    await server.stop();
    await hub.stop();
  }
}

main().then(
  () => process.exit(),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
