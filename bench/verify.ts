import { spawn } from "node:child_process";
import { join } from "node:path";
import { PROJECT_ROOT } from "../test/support/hubProcess";
import { createFleet, stackOutputs, type FleetModule } from "../test/verify/fleet";
import type { VerifyReport } from "../verify/report";
import { runWithHub } from "./support/benchHub";
import { percentile } from "./support/measure";

/**
 * `npm run bench:verify`: how fast verify proves a fleet. Starts a local hub, provisions 100 modules (10 devices x
 * 10 modules) with desired properties, runs the verify CLI on them as a pipeline would (child process, --json,
 * outputs on stdin), and prints modules verified per second and the canary round trip p50/p99.
 */

const DEVICES = 10;
const MODULES_PER_DEVICE = 10;
const CONCURRENCIES = (process.env.BENCH_CONCURRENCY ?? "8,32").split(",").map(Number);

function runVerify(outputs: string, concurrency: number): Promise<{ report: VerifyReport; wallMs: number }> {
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(PROJECT_ROOT, "verify", "cli.ts"),
      "--outputs",
      "-",
      "--json",
      "--concurrency",
      String(concurrency),
    ],
    { cwd: PROJECT_ROOT, stdio: ["pipe", "pipe", "inherit"] },
  );
  child.stdin.end(outputs);
  let stdout = "";
  child.stdout.on("data", (chunk) => (stdout += chunk));
  return new Promise((resolvePromise, reject) =>
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`verify exited ${code}: ${stdout.slice(0, 2000)}`));
      resolvePromise({ report: JSON.parse(stdout) as VerifyReport, wallMs: performance.now() - started });
    }),
  );
}

runWithHub(async (hub) => {
  const modules: FleetModule[] = [];
  for (let d = 0; d < DEVICES; d++) {
    for (let m = 0; m < MODULES_PER_DEVICE; m++) {
      modules.push({
        deviceId: `bench-${d}`,
        moduleId: `module-${m}`,
        desired: { interval: 10 + m, site: `s${d}` },
      });
    }
  }
  const fleet = await createFleet(hub.info, modules);
  const outputs = JSON.stringify(stackOutputs(hub.info, fleet));
  console.log(`verify benchmark: ${fleet.length} modules on a local hub (${hub.info.host})`);
  for (const concurrency of CONCURRENCIES) {
    const { report, wallMs } = await runVerify(outputs, concurrency);
    const roundTrips = report.modules.map((module) => module.roundTripMs ?? NaN).sort((a, b) => a - b);
    const perSecond = report.total / (report.durationMs / 1000);
    console.log(
      `  concurrency ${String(concurrency).padStart(3)}: ${perSecond.toFixed(1)} modules verified/s ` +
        `(${report.passed}/${report.total} passed in ${(report.durationMs / 1000).toFixed(2)} s; ` +
        `${(wallMs / 1000).toFixed(2)} s with process start), canary round trip ` +
        `p50 ${percentile(roundTrips, 50).toFixed(1)} ms, p99 ${percentile(roundTrips, 99).toFixed(1)} ms`,
    );
  }
});
