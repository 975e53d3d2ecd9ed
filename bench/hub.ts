import { readFileSync } from "node:fs";
import type { TestHub } from "../test/support/hubProcess";
import { hubRegistry } from "../test/support/suiteHub";
import { runWithHub } from "./support/benchHub";
import { cpuSecondsOf, memoryOf, pool } from "./support/measure";

/**
 * `npm run bench:hub`: the local hub's speed and memory, measured the way users meet them.
 * 1. Registry operations per second through the real service SDK (create, get, twin update, delete), CONCURRENCY
 *    callers at once.
 * 2. The hub's resident memory with DEVICES devices x MODULES modules registered (made through the SDK: bulk
 *    create for devices, addModule for modules), then after paging through all module twins with a query.
 * Aims: >= 1,000 ops/s on a 2-core machine, RSS <= 300 MB.
 */

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const OPS_DEVICES = Number(process.env.BENCH_OPS_DEVICES ?? 1000);
const DEVICES = Number(process.env.BENCH_DEVICES ?? 10_000);
const MODULES = Number(process.env.BENCH_MODULES ?? 3);

let hubPid = 0;

async function timed(label: string, count: number, work: () => Promise<void>): Promise<number> {
  const started = performance.now();
  const hubCpu = cpuSecondsOf(hubPid);
  const clientCpu = process.cpuUsage();
  await work();
  const clientUsage = process.cpuUsage(clientCpu);
  const clientCpuMs = (clientUsage.user + clientUsage.system) / 1000 / count;
  const seconds = (performance.now() - started) / 1000;
  const hubCpuMs = ((cpuSecondsOf(hubPid) - hubCpu) * 1000) / count;
  const rate = count / seconds;
  console.log(
    `  ${label.padEnd(30)} ${String(count).padStart(6)} ops in ${seconds.toFixed(2)} s = ${rate.toFixed(0).padStart(5)} ops/s` +
      `  (hub CPU ${hubCpuMs.toFixed(2)} ms/op = ${(1000 / hubCpuMs).toFixed(0)} ops/s per core;` +
      ` SDK CPU ${clientCpuMs.toFixed(2)} ms/op)`,
  );
  return rate;
}

async function registryThroughput(hub: TestHub): Promise<void> {
  const registry = hubRegistry(hub.info);
  const id = (i: number): string => `bench-${i}`;
  console.log(`registry operations through azure-iothub, ${CONCURRENCY} concurrent callers:`);
  const rates = [
    await timed("create device", OPS_DEVICES, () =>
      pool(OPS_DEVICES, CONCURRENCY, (i) => registry.create({ deviceId: id(i) })),
    ),
    await timed("get device", OPS_DEVICES, () => pool(OPS_DEVICES, CONCURRENCY, (i) => registry.get(id(i)))),
    await timed("update twin (tags)", OPS_DEVICES, () =>
      pool(OPS_DEVICES, CONCURRENCY, (i) => registry.updateTwin(id(i), { tags: { n: i } }, "*")),
    ),
    await timed("delete device", OPS_DEVICES, () =>
      pool(OPS_DEVICES, CONCURRENCY, (i) => registry.delete(id(i))),
    ),
  ];
  const overall = rates.length / rates.reduce((sum, rate) => sum + 1 / rate, 0);
  console.log(`  => registry ops/s (all four kinds): ${overall.toFixed(0)} (aim >= 1000)`);
}

async function memoryWithFleet(hub: TestHub): Promise<void> {
  const registry = hubRegistry(hub.info);
  const pid = hub.info.pid;
  console.log(`\nhub memory with ${DEVICES} devices x ${MODULES} modules:`);
  console.log(`  idle hub                       RSS ${memoryOf(pid).rssMb.toFixed(0)} MB`);
  const batches = Math.ceil(DEVICES / 100);
  await timed("bulk create devices (x100)", DEVICES, () =>
    pool(batches, 4, async (b) => {
      const devices = Array.from({ length: Math.min(100, DEVICES - b * 100) }, (_, k) => ({
        deviceId: `fleet-${b * 100 + k}`,
      }));
      const result = await registry.addDevices(devices);
      if (!result.responseBody.isSuccessful)
        throw new Error(JSON.stringify(result.responseBody.errors.slice(0, 3)));
    }),
  );
  await timed("add module", DEVICES * MODULES, () =>
    pool(DEVICES * MODULES, CONCURRENCY, (i) =>
      registry.addModule({ deviceId: `fleet-${Math.floor(i / MODULES)}`, moduleId: `module-${i % MODULES}` }),
    ),
  );
  const afterCreate = memoryOf(pid);
  console.log(
    `  after registration             RSS ${afterCreate.rssMb.toFixed(0)} MB (peak ${afterCreate.peakMb.toFixed(0)} MB)`,
  );

  let twins = 0;
  await timed("query devices.modules (pages)", DEVICES * MODULES, async () => {
    const query = registry.createQuery("SELECT * FROM devices.modules", 1000);
    while (query.hasMoreResults) {
      const page = await query.next(query.continuationToken);
      twins += (page.result as unknown[]).length;
    }
  });
  const afterQuery = memoryOf(pid);
  console.log(
    `  after paging ${twins} module twins RSS ${afterQuery.rssMb.toFixed(0)} MB (peak ${afterQuery.peakMb.toFixed(0)} MB) (aim <= 300 MB)`,
  );
}

runWithHub(async (hub) => {
  hubPid = hub.info.pid;
  console.log(`load average now: ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
  await registryThroughput(hub);
  await memoryWithFleet(hub);
});
