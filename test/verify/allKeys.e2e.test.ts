import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Registry } from "azure-iothub";
import type { VerifyReport } from "../../verify/report";
import { startHub, type TestHub } from "../support/hubProcess";
import { hubRegistry } from "../support/suiteHub";
import { moduleConnectionString, newKey, stackOutputs } from "./fleet";
import { runVerify } from "./runVerify";

/**
 * `verify --all-keys` as a pipeline runs it against a real local hub: a module with both connection strings of a
 * rotated SAS identity (the active key and the one active before), as the stack outputs carry them.
 */

const directory = mkdtempSync(join(tmpdir(), "verify-all-keys-"));
const ids = { deviceId: "rotated", moduleId: "agent" };
const primary = newKey();
const secondary = newKey();
let hub: TestHub;
let registry: Registry;

/** Outputs at rotation 1: the secondary key is active, the primary the previous one. */
function outputsFile(name: string, module: Record<string, unknown>): string {
  const file = join(directory, name);
  const outputs = stackOutputs(hub.info, [module as never]);
  writeFileSync(file, JSON.stringify(outputs), { mode: 0o600 });
  return file;
}

const rotatedModule = () => ({
  ...ids,
  connectionString: moduleConnectionString(hub.info, ids.deviceId, ids.moduleId, secondary),
  previousConnectionString: moduleConnectionString(hub.info, ids.deviceId, ids.moduleId, primary),
  desired: {},
});

beforeAll(async () => {
  hub = await startHub();
  registry = hubRegistry(hub.info);
  await registry.create({ deviceId: ids.deviceId });
  await registry.addModule({
    ...ids,
    authentication: { type: "sas", symmetricKey: { primaryKey: primary, secondaryKey: secondary } },
  } as Parameters<Registry["addModule"]>[0]);
}, 120000);

afterAll(async () => {
  await hub?.stop();
});

describe("verify --all-keys", () => {
  it("checks the active key, then the previous one, and reports each", async () => {
    const result = await runVerify([
      "--outputs",
      outputsFile("both.json", rotatedModule()),
      "--all-keys",
      "--json",
    ]);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as VerifyReport;
    expect(report).toMatchObject({ ok: true, total: 2, passed: 2 });
    expect(report.modules.map((module) => [module.key, module.ok])).toEqual([
      ["active", true],
      ["previous", true],
    ]);
  });

  it("fails on a previous key the hub no longer holds, which a run without --all-keys does not check", async () => {
    const module = (await registry.getModule(ids.deviceId, ids.moduleId)).responseBody;
    // The next rotation replaced the primary key.
    await registry.updateModule(
      {
        ...module,
        authentication: { type: "sas", symmetricKey: { primaryKey: newKey(), secondaryKey: secondary } },
      } as never,
      true,
    );
    const file = outputsFile("stale-previous.json", rotatedModule());
    const all = await runVerify(["--outputs", file, "--all-keys", "--json"]);
    expect(all.code).toBe(1);
    const report = JSON.parse(all.stdout) as VerifyReport;
    expect(report.modules.map((entry) => [entry.key, entry.ok, entry.failure?.kind])).toEqual([
      ["active", true, undefined],
      ["previous", false, "bad-key"],
    ]);
    const table = await runVerify(["--outputs", file, "--all-keys"]);
    expect(table.stdout).toMatch(/^rotated\/agent \(previous key\)\s+FAIL\s/m);
    const activeOnly = await runVerify(["--outputs", file, "--json"]);
    expect(activeOnly.code).toBe(0);
    expect((JSON.parse(activeOnly.stdout) as VerifyReport).modules).toEqual([
      expect.not.objectContaining({ key: expect.anything() }),
    ]);
  });

  it("refuses outputs whose module has no previous connection string, with exit 2, before connecting", async () => {
    const { previousConnectionString: _previous, ...activeOnly } = rotatedModule();
    const result = await runVerify(["--outputs", outputsFile("no-previous.json", activeOnly), "--all-keys"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      "modules[0].previousConnectionString: is required with --all-keys (the connection string with the key " +
        "active before the last rotation)",
    );
    expect(result.stdout).toBe("");
  });
});
