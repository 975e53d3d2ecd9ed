import type { ModuleResult } from "./moduleCheck";

/** The outcome of one run, as `--json` prints it. */
export interface VerifyReport {
  ok: boolean;
  hostName: string;
  total: number;
  passed: number;
  failed: number;
  durationMs: number;
  modules: ModuleResult[];
}

export function buildReport(hostName: string, modules: ModuleResult[], durationMs: number): VerifyReport {
  const passed = modules.filter((module) => module.ok).length;
  return {
    ok: passed === modules.length,
    hostName,
    total: modules.length,
    passed,
    failed: modules.length - passed,
    durationMs: Math.round(durationMs),
    modules: modules.map((module) => ({
      ...module,
      durationMs: Math.round(module.durationMs),
      roundTripMs: module.roundTripMs === undefined ? undefined : Math.round(module.roundTripMs * 10) / 10,
    })),
  };
}

export function renderJson(report: VerifyReport): string {
  return JSON.stringify(report, null, 2);
}

/** A table a person reads top to bottom: one row per module, the cause in words on failing rows. */
export function renderTable(report: VerifyReport): string {
  const header = ["MODULE", "RESULT", "ROUND TRIP", "DETAIL"];
  const rows = report.modules.map((module) => [
    `${module.deviceId}/${module.moduleId}${module.key ? ` (${module.key} key)` : ""}`,
    module.ok ? "pass" : "FAIL",
    module.roundTripMs === undefined ? "-" : `${module.roundTripMs} ms`,
    module.ok
      ? "connected, desired as declared, reported, canary patch received"
      : (module.failure?.message ?? ""),
  ]);
  const widths = header
    .slice(0, 3)
    .map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column < 3 ? cell.padEnd(widths[column]) : cell))
      .join("  ")
      .trimEnd();
  const seconds = (report.durationMs / 1000).toFixed(1);
  const verdict = report.ok
    ? `all ${report.total} modules passed in ${seconds} s on ${report.hostName}`
    : `${report.failed} of ${report.total} modules FAILED (${report.passed} passed) in ${seconds} s on ${report.hostName}`;
  return [line(header), ...rows.map(line), "", verdict].join("\n");
}
