import type { ConfigurationResult } from "../../verify/configurationCheck";
import type { ModuleResult } from "../../verify/moduleCheck";
import { buildReport, renderJson, renderTable } from "../../verify/report";

const passed: ModuleResult = {
  deviceId: "dev-1",
  moduleId: "sensor",
  ok: true,
  passedSteps: ["connect", "readTwin", "checkDesired", "report", "roundTrip", "cleanup"],
  roundTripMs: 12.345,
  durationMs: 40.6,
};
const failed: ModuleResult = {
  deviceId: "dev-2",
  moduleId: "camera",
  ok: false,
  passedSteps: ["connect", "readTwin"],
  failure: {
    kind: "desired-mismatch",
    step: "checkDesired",
    message: 'desired mismatch: "interval": expected 30, found 10',
    mismatches: [{ key: "interval", expected: 30, found: 10 }],
  },
  durationMs: 20,
};

describe("report", () => {
  it("counts passes and failures; ok only when every module passed", () => {
    expect(buildReport("hub", [passed], 100)).toMatchObject({ ok: true, total: 1, passed: 1, failed: 0 });
    expect(buildReport("hub", [passed, failed], 100)).toMatchObject({
      ok: false,
      total: 2,
      passed: 1,
      failed: 1,
    });
  });

  it("renders a table naming each module, its result and the cause of a failure", () => {
    const table = renderTable(buildReport("hub.local", [passed, failed], 2345));
    const lines = table.split("\n");
    expect(lines[0]).toMatch(/^MODULE\s+RESULT\s+ROUND TRIP\s+DETAIL$/);
    expect(lines[1]).toMatch(/^dev-1\/sensor\s+pass\s+12\.3 ms\s+connected/);
    expect(lines[2]).toMatch(
      /^dev-2\/camera\s+FAIL\s+-\s+desired mismatch: "interval": expected 30, found 10$/,
    );
    expect(lines.at(-1)).toBe("1 of 2 modules FAILED (1 passed) in 2.3 s on hub.local");
  });

  it("renders JSON a pipeline can read back", () => {
    const json = JSON.parse(renderJson(buildReport("hub", [failed], 5)));
    expect(json).toMatchObject({ ok: false, failed: 1 });
    expect(json.modules[0].failure).toMatchObject({
      kind: "desired-mismatch",
      mismatches: [{ key: "interval" }],
    });
  });
});

describe("report with deployments and configurations", () => {
  const applied: ConfigurationResult = {
    name: "base",
    configurationId: "base-0a1b2c3d",
    kind: "edge",
    ok: true,
    targeted: 3,
    applied: 2,
    superseded: 1,
    systemMetrics: { targetedCount: 3, appliedCount: 2 },
    problems: [],
    durationMs: 12,
  };
  const notApplied: ConfigurationResult = {
    ...applied,
    name: "fw",
    configurationId: "fw-0a1b2c3d",
    kind: "device",
    ok: false,
    applied: 1,
    superseded: 0,
    problems: ["dev-9: targeted, but not applied (Targeted)"],
  };

  it("is ok only when every module passed and every deployment and configuration is applied", () => {
    expect(buildReport("hub", [passed], 1, [applied]).ok).toBe(true);
    expect(buildReport("hub", [passed], 1, [applied, notApplied]).ok).toBe(false);
  });

  it("lists each one with its counts and problems, and says how many failed", () => {
    const lines = renderTable(buildReport("hub.local", [passed], 1000, [applied, notApplied])).split("\n");
    expect(lines).toContain("base-0a1b2c3d (deployment)  pass  3  2  1");
    expect(lines).toContain("fw-0a1b2c3d (device configuration)  FAIL  3  1  0");
    expect(lines).toContain("  - dev-9: targeted, but not applied (Targeted)");
    expect(lines.at(-1)).toBe(
      "all 1 modules passed, 1 of 2 deployments and configurations FAILED in 1.0 s on hub.local",
    );
    expect(JSON.parse(renderJson(buildReport("hub", [passed], 1, [notApplied]))).configurations).toEqual([
      notApplied,
    ]);
  });
});
