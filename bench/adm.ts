import * as fs from "node:fs";
import type { Registry } from "azure-iothub";
import { startHub, type TestHub } from "../test/support/hubProcess";
import {
  serializedProviders,
  startProviderServer,
  type ProviderServer,
} from "../test/support/providerServer";
import { hubRegistry } from "../test/support/suiteHub";
import { baseManifest, dockerModule } from "../test/adm/manifests";
import { ensureSuiteCa } from "./support/benchHub";

/**
 * `npm run bench:adm [-- --twins N] [--interval MS]`: ADM at fleet size on the local hub (its engine every
 * `--interval` ms, default 1000), the resources driven through the real provider server as `pulumi up` would.
 * 1. A Configuration targeting N module twins: seconds from the provider's create until the hub counts all N applied.
 * 2. An EdgeDeployment on N IoT Edge devices whose manifest changes (the replace as the engine runs it: create the
 *    new deployment, then delete the old): the $edgeAgent twins are sampled throughout, each sample counting the
 *    devices that have no deployment applied; prints the samples, the most devices without one, and the seconds
 *    until all N run the new manifest.
 */

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const TWINS = option("twins", 1000);
const INTERVAL_MS = option("interval", 1000);

interface Twin {
  deviceId: string;
  configurations?: Record<string, { status?: string }>;
}

async function queryAll(registry: Registry, sql: string): Promise<Twin[]> {
  const query = registry.createQuery(sql, 1000);
  const rows: Twin[] = [];
  do {
    const page = await query.next(query.continuationToken);
    rows.push(...((page.result as Twin[] | undefined) ?? []));
  } while (query.hasMoreResults);
  return rows;
}

/** Devices in bulk (100 per call, as IoT Hub takes them). */
async function createDevices(registry: Registry, prefix: string, edge: boolean): Promise<string[]> {
  const ids = Array.from({ length: TWINS }, (_, i) => `${prefix}-${i}`);
  for (let i = 0; i < ids.length; i += 100) {
    const batch = ids.slice(i, i + 100).map((deviceId) => ({ deviceId, capabilities: { iotEdge: edge } }));
    const result = (await registry.addDevices(batch as never)).responseBody as { isSuccessful: boolean };
    if (!result.isSuccessful) throw new Error(`bulk create of ${prefix} devices failed`);
  }
  return ids;
}

const seconds = (ms: number): string => (ms / 1000).toFixed(2);

async function bench(hub: TestHub, server: ProviderServer, texts: Record<string, string>): Promise<void> {
  const registry = hubRegistry(hub.info);
  const hubArgs = {
    serviceConnectionString: hub.info.connectionString,
    caCertificate: fs.readFileSync(hub.info.caFile, "utf8"),
  };
  const create = async (
    kind: string,
    inputs: Record<string, unknown>,
  ): Promise<{ id: string; outs: Record<string, unknown> }> => {
    const checked = await server.check(texts[kind], {}, inputs);
    if (checked.failures.length > 0) throw new Error(JSON.stringify(checked.failures));
    return server.create(texts[kind], checked.inputs);
  };

  // 1. A configuration of N module twins.
  const devices = await createDevices(registry, "adm-leaf", false);
  for (const deviceId of devices) await registry.addModule({ deviceId, moduleId: "sensor" } as never);
  const allApplied = (name: string): Promise<string> =>
    hub.waitForOutput(new RegExp(`adm: ${name}-[0-9a-f]{8} targetedCount=${TWINS} appliedCount=${TWINS}\\b`));
  const configured = allApplied("sensor-interval");
  const configurationStarted = performance.now();
  await create("Configuration", {
    ...hubArgs,
    name: "sensor-interval",
    targetCondition: "FROM devices.modules WHERE moduleId = 'sensor'",
    content: { moduleContent: { "properties.desired.telemetry": { interval: 30 } } },
  });
  await configured;
  const configurationMs = performance.now() - configurationStarted;
  console.log(`configuration: ${TWINS} module twins applied ${seconds(configurationMs)} s after create`);

  // 2. A manifest change across N IoT Edge devices.
  await createDevices(registry, "adm-edge", true);
  const deployment = (image: string) => ({
    ...hubArgs,
    name: "fleet-base",
    targetCondition: "*",
    priority: 10,
    modulesContent: baseManifest({ sensor: dockerModule(image) }),
  });
  const firstApplied = allApplied("fleet-base");
  const first = await create("EdgeDeployment", deployment("sensor:1"));
  await firstApplied;

  let sampling = true;
  let samples = 0;
  let worst = 0;
  const sampler = (async () => {
    while (sampling) {
      const agents = await queryAll(registry, "SELECT * FROM devices.modules WHERE moduleId = '$edgeAgent'");
      const without = agents.filter(
        (twin) => !Object.values(twin.configurations ?? {}).some((entry) => entry.status === "Applied"),
      ).length;
      samples++;
      worst = Math.max(worst, without + (TWINS - agents.length));
    }
  })();
  const secondApplied = allApplied("fleet-base");
  const changeStarted = performance.now();
  const second = await create("EdgeDeployment", deployment("sensor:2"));
  await secondApplied;
  const changeMs = performance.now() - changeStarted;
  await server.delete(texts.EdgeDeployment, first.id, first.outs);
  // Until the old deployment has left every $edgeAgent twin.
  for (;;) {
    const agents = await queryAll(registry, "SELECT * FROM devices.modules WHERE moduleId = '$edgeAgent'");
    if (agents.every((twin) => !(first.id in (twin.configurations ?? {})))) break;
  }
  sampling = false;
  await sampler;
  console.log(
    `deployment change: ${TWINS} edge devices on ${second.id} ${seconds(changeMs)} s after its create; ` +
      `${samples} samples of all $edgeAgent twins, at most ${worst} devices without a deployment applied`,
  );
}

async function main(): Promise<void> {
  ensureSuiteCa();
  const [hub, server, texts] = await Promise.all([
    startHub({ args: ["--adm-interval", String(INTERVAL_MS)] }),
    startProviderServer(),
    serializedProviders(),
  ]);
  try {
    console.log(`bench:adm: ${TWINS} twins, ADM period ${INTERVAL_MS} ms`);
    await bench(hub, server, texts);
  } finally {
    await server.stop();
    await hub.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
