import { existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkPolicyName } from "../../lib/iothub/rules";
import { runCli } from "../support/hubProcess";

/** The CLI refuses bad input, and state dirs that hold no hub, before it creates or changes anything. */

const freshParent = (): string => mkdtempSync(join(tmpdir(), "iothub-local-cli-input-"));

describe("iothub-local refuses before it changes anything", () => {
  it("policy add with a bad name exits non-zero naming the field and rule, and creates no state dir", async () => {
    const stateDir = join(freshParent(), "NEWDIR");
    const result = await runCli([
      "policy",
      "add",
      "bad name",
      "--rights",
      "RegistryRead",
      "--state",
      stateDir,
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/policy name: must be 1-64 letters, digits, '\.', '_' or '-'/);
    expect(existsSync(stateDir)).toBe(false);
  });

  it("policy add with an unknown right creates no state dir either", async () => {
    const stateDir = join(freshParent(), "NEWDIR");
    const result = await runCli(["policy", "add", "ops", "--rights", "Everything", "--state", stateDir]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/rights: 'Everything' is not a right/);
    expect(existsSync(stateDir)).toBe(false);
  });

  it("policy add next to a hub.json no hub wrote refuses, naming the file, field and rule, and creates no hub.db", async () => {
    const stateDir = freshParent();
    writeFileSync(join(stateDir, "hub.json"), JSON.stringify({ hostName: "localhost", pid: 0 }));
    const result = await runCli(["policy", "add", "ops", "--rights", "RegistryRead", "--state", stateDir]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(`${join(stateDir, "hub.json")} is not a valid hub.json (`);
    expect(result.stderr).toContain("pid: must be a positive whole number");
    expect(readdirSync(stateDir)).toEqual(["hub.json"]);
  });

  it.each([
    [["policy", "list"]],
    [["policy", "remove", "service"]],
    [["quota", "show"]],
    [["quota", "set", "S1"]],
    [["quota", "clear"]],
    [["fault", "list"]],
    [["fault", "add", "registry", "--mode", "503"]],
    [["fault", "clear"]],
  ])("%j on a state dir without hub.db refuses and creates nothing", async (args) => {
    const stateDir = freshParent(); // exists, empty
    const missing = join(freshParent(), "missing");
    for (const dir of [stateDir, missing]) {
      const result = await runCli([...args, "--state", dir]);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain(
        `no local hub state in ${dir}: start one with \`iothub-local start --state ${dir}\``,
      );
    }
    expect(readdirSync(stateDir)).toEqual([]);
    expect(existsSync(missing)).toBe(false);
  });
});

describe("checkPolicyName (lib/iothub/rules.ts)", () => {
  it("allows 1-64 letters, digits, '.', '_' and '-', naming the field otherwise", () => {
    expect(checkPolicyName("ops.read_1-a")).toEqual([]);
    expect(checkPolicyName("x".repeat(64))).toEqual([]);
    for (const bad of ["", "x".repeat(65), "no spaces", "semi;colon"]) {
      expect(checkPolicyName(bad, "policy name")).toEqual([
        { field: "policy name", rule: "must be 1-64 letters, digits, '.', '_' or '-'" },
      ]);
    }
    expect(checkPolicyName(7)).toEqual([{ field: "policyName", rule: "must be a string" }]);
  });
});
