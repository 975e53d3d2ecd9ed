import { readFileSync } from "node:fs";
import { mapWithConcurrency } from "../../verify/pool";

/** What the benches measure and how they summarise it: concurrency, a process's CPU and memory, percentiles. */

/** Runs `work(i)` for i in [0, count) with at most `concurrency` in flight. */
export async function pool(
  count: number,
  concurrency: number,
  work: (i: number) => Promise<unknown>,
): Promise<void> {
  await mapWithConcurrency(
    Array.from({ length: count }, (_, i) => i),
    concurrency,
    (i) => work(i),
  );
}

/**
 * CPU seconds (user + system) a process has used. With the machine shared, wall-clock rates understate the hub,
 * so the benches also print the hub's CPU per operation, which does not depend on the machine's load.
 */
export function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

/** A process's resident memory now and its peak, in MB. */
export function memoryOf(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return { rssMb: kb("VmRSS") / 1024, peakMb: kb("VmHWM") / 1024 };
}

/** The p-th percentile (nearest rank) of ascending `sorted`. */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
