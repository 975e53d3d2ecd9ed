import type { ConfigurationResult } from "./configurationCheck";
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
  /** Extension: one entry per declared deployment, then per declared configuration. */
  configurations: ConfigurationResult[];
}

export function buildReport(
  hostName: string,
  modules: ModuleResult[],
  durationMs: number,
  configurations: ConfigurationResult[] = [],
): VerifyReport {
  const passed = modules.filter((module) => module.ok).length;
  return {
    ok: passed === modules.length && configurations.every((configuration) => configuration.ok),
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
    configurations,
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
  const failedConfigurations = report.configurations.filter((configuration) => !configuration.ok).length;
  const modulesVerdict =
    report.failed === 0
      ? `all ${report.total} modules passed`
      : `${report.failed} of ${report.total} modules FAILED (${report.passed} passed)`;
  const configurationsVerdict =
    report.configurations.length === 0
      ? ""
      : failedConfigurations === 0
        ? `, all ${report.configurations.length} deployments and configurations applied`
        : `, ${failedConfigurations} of ${report.configurations.length} deployments and configurations FAILED`;
  const verdict = `${modulesVerdict}${configurationsVerdict} in ${seconds} s on ${report.hostName}`;
  return [line(header), ...rows.map(line), ...configurationLines(report.configurations), "", verdict].join(
    "\n",
  );
}

/** One line per deployment or configuration, and its problems below it. */
function configurationLines(configurations: ConfigurationResult[]): string[] {
  if (configurations.length === 0) return [];
  const lines = ["", "CONFIGURATION  RESULT  TARGETED  APPLIED  SUPERSEDED"];
  for (const c of configurations) {
    lines.push(
      `${c.configurationId} (${c.kind === "edge" ? "deployment" : `${c.kind} configuration`})  ${c.ok ? "pass" : "FAIL"}  ${c.targeted}  ${c.applied}  ${c.superseded}`,
    );
    for (const problem of c.problems) lines.push(`  - ${problem}`);
  }
  return lines;
}
