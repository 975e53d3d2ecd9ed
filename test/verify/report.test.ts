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
