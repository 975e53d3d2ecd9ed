import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Registry } from "azure-iothub";
import { runCli, startHub, type TestHub } from "../support/hubProcess";
import type { ModuleOutput } from "../../verify/outputs";
import type { VerifyReport } from "../../verify/report";
import { CANARY_DESIRED_PROPERTY, VERIFIED_REPORTED_PROPERTY } from "../../verify/moduleCheck";
import { createFleet, moduleConnectionString, newKey, stackOutputs, type HubEndpoint } from "./fleet";
import { runVerify, startVerify, waitForOutput } from "./runVerify";
import { hubRegistry } from "../support/suiteHub";

/**
 * The verify CLI end to end, as a pipeline runs it (a child process), against a real local hub in its own
 * process, with real module identities made by the service SDK.
 */

const directory = mkdtempSync(join(tmpdir(), "verify-e2e-"));
let hub: TestHub;
let endpoint: HubEndpoint;
let registry: Registry;
let fleet: ModuleOutput[];

function writeOutputs(name: string, outputs: Record<string, unknown>): string {
  const file = join(directory, name);
  writeFileSync(file, JSON.stringify(outputs), { mode: 0o600 });
  return file;
}

function parseReport(stdout: string): VerifyReport {
  return JSON.parse(stdout) as VerifyReport;
}

/** `iothub-local <args> --state <the hub's state dir>`, failing loudly: a fault that was not set proves nothing. */
async function hubCli(...args: string[]): Promise<void> {
  const result = await hub.cli(...args);
  if (result.code !== 0) throw new Error(`iothub-local ${args.join(" ")} failed: ${result.stderr}`);
}

beforeAll(async () => {
  hub = await startHub();
  endpoint = hub.info;
  registry = hubRegistry(hub.info);
  fleet = await createFleet(endpoint, [
    { deviceId: "line-1", moduleId: "sensor", desired: { interval: 30, thresholds: { high: 80, low: 10 } } },
    { deviceId: "line-1", moduleId: "camera", desired: { resolution: "1080p" } },
    { deviceId: "line-2", moduleId: "sensor", desired: { interval: 60 } },
  ]);
}, 120000);

afterAll(async () => {
  await hub?.stop();
});

describe("verify against a local hub", () => {
  it("passes every module: connected, desired as declared, reported, canary round trip; exit 0", async () => {
    const result = await runVerify([
      "--outputs",
      writeOutputs("all.json", stackOutputs(endpoint, fleet)),
      "--json",
    ]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const report = parseReport(result.stdout);
    expect(report).toMatchObject({ ok: true, total: 3, passed: 3, failed: 0 });
    for (const module of report.modules) {
      expect(module.passedSteps).toEqual([
        "connect",
        "readTwin",
        "checkDesired",
        "report",
        "roundTrip",
        "cleanup",
      ]);
      expect(module.roundTripMs).toBeGreaterThan(0);
    }
    // What the module reported is on the hub, and the canary is gone again.
    const twin = (await registry.getModuleTwin("line-1", "sensor")).responseBody;
    expect(twin.properties.reported[VERIFIED_REPORTED_PROPERTY]).toMatchObject({ status: "verified" });
    expect(twin.properties.desired[CANARY_DESIRED_PROPERTY]).toBeUndefined();
    expect(twin.properties.desired.interval).toBe(30);
  });

  it("prints a summary table for people", async () => {
    const result = await runVerify(["--outputs", writeOutputs("table.json", stackOutputs(endpoint, fleet))]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^MODULE\s+RESULT\s+ROUND TRIP\s+DETAIL$/m);
    expect(result.stdout).toMatch(/^line-2\/sensor\s+pass\s+[\d.]+ ms/m);
    expect(result.stdout).toMatch(/all 3 modules passed in [\d.]+ s on /);
  });

  it("fails with exit 1 naming the key when a desired property was changed out of band", async () => {
    await registry.updateModuleTwin(
      "line-1",
      "sensor",
      { properties: { desired: { thresholds: { high: 95 } } } },
      "*",
    );
    try {
      const result = await runVerify([
        "--outputs",
        writeOutputs("drift.json", stackOutputs(endpoint, fleet)),
        "--json",
      ]);
      expect(result.code).toBe(1);
      const report = parseReport(result.stdout);
      expect(report).toMatchObject({ ok: false, passed: 2, failed: 1 });
      const failed = report.modules.find((module) => !module.ok)!;
      expect(failed).toMatchObject({ deviceId: "line-1", moduleId: "sensor" });
      expect(failed.failure).toMatchObject({
        kind: "desired-mismatch",
        mismatches: [{ key: "thresholds.high", expected: 80, found: 95 }],
      });
      expect(failed.failure!.message).toMatch(
        /^desired mismatch: "thresholds\.high": expected 80, found 95\. .*run `pulumi up` to set them again/,
      );
    } finally {
      await registry.updateModuleTwin(
        "line-1",
        "sensor",
        { properties: { desired: { thresholds: { high: 80 } } } },
        "*",
      );
    }
  });

  it("names a wrong key as a bad key (a connect failure), not a generic 'not authorized'", async () => {
    const wrong = {
      ...fleet[1],
      connectionString: moduleConnectionString(endpoint, "line-1", "camera", newKey()),
    };
    const result = await runVerify([
      "--outputs",
      writeOutputs("badkey.json", stackOutputs(endpoint, [wrong])),
      "--json",
    ]);
    expect(result.code).toBe(1);
    const [module] = parseReport(result.stdout).modules;
    expect(module.failure).toMatchObject({ kind: "bad-key", step: "connect" });
    expect(module.failure!.message).toMatch(
      /^bad key: the SharedAccessKey in line-1\/camera's connection string/,
    );
    expect(result.stdout).not.toContain(wrong.connectionString.split("SharedAccessKey=")[1].split(";")[0]);
  });

  it("names a module the hub does not have", async () => {
    const ghost = {
      deviceId: "line-1",
      moduleId: "ghost",
      desired: {},
      connectionString: moduleConnectionString(endpoint, "line-1", "ghost", newKey()),
    };
    const result = await runVerify([
      "--outputs",
      writeOutputs("ghost.json", stackOutputs(endpoint, [ghost])),
      "--json",
    ]);
    expect(result.code).toBe(1);
    expect(parseReport(result.stdout).modules[0].failure).toMatchObject({ kind: "module-not-found" });
  });

  it("names a disabled device as the reason its module cannot connect", async () => {
    const key = newKey();
    await registry.create({ deviceId: "line-3", status: "disabled" });
    await registry.addModule({
      deviceId: "line-3",
      moduleId: "sensor",
      authentication: { type: "sas", symmetricKey: { primaryKey: key, secondaryKey: newKey() } },
    } as Parameters<Registry["addModule"]>[0]);
    const disabled = {
      deviceId: "line-3",
      moduleId: "sensor",
      desired: {},
      connectionString: moduleConnectionString(endpoint, "line-3", "sensor", key),
    };
    const result = await runVerify([
      "--outputs",
      writeOutputs("disabled.json", stackOutputs(endpoint, [disabled])),
      "--json",
    ]);
    expect(result.code).toBe(1);
    const { failure } = parseReport(result.stdout).modules[0];
    expect(failure).toMatchObject({ kind: "device-disabled", step: "connect" });
    expect(failure!.message).toMatch(/device line-3 is disabled.*set the device's status to enabled/);
  });

  it("says the service key's signature did not match when the service connection string has a wrong key", async () => {
    const wrongKey = stackOutputs(endpoint, [fleet[2]]);
    wrongKey.serviceConnectionString = String(wrongKey.serviceConnectionString).replace(
      /SharedAccessKey=[^;]+/,
      `SharedAccessKey=${newKey()}`,
    );
    const result = await runVerify(["--outputs", writeOutputs("wrong-service-key.json", wrongKey), "--json"]);
    expect(result.code).toBe(1);
    const { failure } = parseReport(result.stdout).modules[0];
    expect(failure).toMatchObject({ kind: "canary-set-failed", step: "roundTrip" });
    expect(failure!.message).toMatch(/signature did not match/);
    expect(failure!.message).not.toMatch(/ServiceConnect/);
  });

  it("names the missing right when the service policy lacks ServiceConnect", async () => {
    const added = await hub.cli("policy", "add", "readonly", "--rights", "RegistryRead");
    expect(added.code).toBe(0);
    const readOnly = { ...stackOutputs(endpoint, [fleet[2]]), serviceConnectionString: added.stdout.trim() };
    const result = await runVerify(["--outputs", writeOutputs("read-only.json", readOnly), "--json"]);
    expect(result.code).toBe(1);
    const { failure } = parseReport(result.stdout).modules[0];
    expect(failure).toMatchObject({ kind: "canary-set-failed", step: "roundTrip" });
    expect(failure!.message).toMatch(/policy lacks ServiceConnect/);
    expect(failure!.message).not.toMatch(/signature/);
  });

  it("names an unreachable hub", async () => {
    const unreachable = {
      ...fleet[2],
      connectionString: moduleConnectionString({ ...endpoint, mqttPort: 1 }, "line-2", "sensor", "x"),
    };
    const result = await runVerify([
      "--outputs",
      writeOutputs("unreachable.json", stackOutputs(endpoint, [unreachable])),
      "--json",
    ]);
    expect(result.code).toBe(1);
    const [module] = parseReport(result.stdout).modules;
    expect(module.failure).toMatchObject({ kind: "hub-unreachable", step: "connect" });
    expect(module.failure!.message).toMatch(/ECONNREFUSED/);
  });

  it("names an untrusted CA: a --ca that did not sign the hub's certificate", async () => {
    const otherState = join(directory, "other-ca");
    const otherCa = (await runCli(["ca", "--state", otherState])).stdout.trim();
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    const outputs = stackOutputs(endpoint, [fleet[2]], false);
    const result = await runVerify(
      ["--outputs", writeOutputs("untrusted.json", outputs), "--ca", otherCa, "--json"],
      env,
    );
    expect(result.code).toBe(1);
    const [module] = parseReport(result.stdout).modules;
    expect(module.failure).toMatchObject({ kind: "untrusted-ca", step: "connect" });
    expect(module.failure!.message).toContain(`--ca ${otherCa}`);
  });

  it("trusts the outputs' caFile in both SDKs without NODE_EXTRA_CA_CERTS (the canary write goes through the service SDK)", async () => {
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    const result = await runVerify(
      ["--outputs", writeOutputs("cafile.json", stackOutputs(endpoint, [fleet[0]])), "--json"],
      env,
    );
    expect(result.code).toBe(0);
    expect(parseReport(result.stdout)).toMatchObject({ ok: true, passed: 1 });
  });

  it("trusts a --ca, or NODE_EXTRA_CA_CERTS, when the outputs carry no caFile", async () => {
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    const outputs = writeOutputs("no-cafile.json", stackOutputs(endpoint, [fleet[0]], false));
    const withFlag = await runVerify(["--outputs", outputs, "--ca", hub.info.caFile, "--json"], env);
    expect(withFlag.code).toBe(0);
    expect(parseReport(withFlag.stdout)).toMatchObject({ ok: true, passed: 1 });
    const withEnvironment = await runVerify(["--outputs", outputs, "--json"], {
      ...env,
      NODE_EXTRA_CA_CERTS: hub.info.caFile,
    });
    expect(withEnvironment.code).toBe(0);
    expect(parseReport(withEnvironment.stdout)).toMatchObject({ ok: true, passed: 1 });
  });

  it("names a patch the hub never delivered as a timeout", async () => {
    await hubCli("fault", "add", "desiredPush", "--mode", "drop");
    try {
      const result = await runVerify([
        "--outputs",
        writeOutputs("drop.json", stackOutputs(endpoint, [fleet[1]])),
        "--timeout",
        "3",
        "--json",
      ]);
      expect(result.code).toBe(1);
      const [module] = parseReport(result.stdout).modules;
      expect(module.passedSteps).toEqual(["connect", "readTwin", "checkDesired", "report"]);
      expect(module.failure).toMatchObject({ kind: "patch-timeout", step: "roundTrip" });
      expect(module.failure!.message).toMatch(/^patch not received within 3 s.*larger --timeout/);
    } finally {
      await hubCli("fault", "clear");
    }
    // The canary was removed even though the round trip failed.
    const twin = (await registry.getModuleTwin("line-1", "camera")).responseBody;
    expect(twin.properties.desired[CANARY_DESIRED_PROPERTY]).toBeUndefined();
  });

  it("names a twin read the hub never answered", async () => {
    await hubCli("fault", "add", "deviceTwin", "--mode", "hang");
    try {
      const result = await runVerify([
        "--outputs",
        writeOutputs("hang.json", stackOutputs(endpoint, [fleet[2]])),
        "--timeout",
        "2",
        "--json",
      ]);
      expect(result.code).toBe(1);
      const [module] = parseReport(result.stdout).modules;
      expect(module.passedSteps).toEqual(["connect"]);
      expect(module.failure).toMatchObject({ kind: "twin-read-failed", step: "readTwin" });
      expect(module.failure!.message).toMatch(
        /could not read its twin \(StepTimeoutError: did not finish within 2 s\)/,
      );
    } finally {
      await hubCli("fault", "clear");
    }
  });

  it("retries a canary write the hub refused with 503, as the provisioner does", async () => {
    await hubCli("fault", "add", "twinUpdate", "--mode", "503", "--count", "1");
    try {
      const result = await runVerify([
        "--outputs",
        writeOutputs("503.json", stackOutputs(endpoint, [fleet[2]])),
        "--json",
      ]);
      expect(result.code).toBe(0);
      // The fault was used up by verify's write, so the pass really went through a refusal.
      expect(JSON.parse((await hub.cli("fault", "list")).stdout)).toEqual([]);
    } finally {
      await hubCli("fault", "clear");
    }
  });

  it("reads the outputs from `pulumi stack output --json --show-secrets --stack NAME`", async () => {
    // A stand-in for the Pulumi CLI that prints the stack outputs only when asked exactly as verify must ask.
    const outputsFile = writeOutputs("stack.json", stackOutputs(endpoint, [fleet[0]]));
    const fakePulumi = join(directory, "pulumi-stack");
    writeFileSync(
      fakePulumi,
      `#!/bin/sh\n[ "$*" = "stack output --json --show-secrets --stack dev" ] || { echo "unexpected: $*" >&2; exit 9; }\ncat '${outputsFile}'\n`,
    );
    chmodSync(fakePulumi, 0o755);
    const result = await runVerify(["--stack", "dev", "--json"], { ...process.env, PULUMI_CLI: fakePulumi });
    expect(result.code).toBe(0);
    expect(parseReport(result.stdout)).toMatchObject({ ok: true, total: 1 });
  });

  it("--watch prints each desired patch as it arrives, until SIGINT", async () => {
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    const watcher = startVerify(
      ["--outputs", writeOutputs("watch.json", stackOutputs(endpoint, fleet)), "--watch", "line-2/sensor"],
      env,
    );
    const exited = new Promise<number | null>((resolve) => watcher.on("exit", (code) => resolve(code)));
    const greeting = await waitForOutput(watcher, /watching line-2\/sensor/);
    expect(greeting).toMatch(/line-2\/sensor desired properties: .*"interval":60/);
    const patchPrinted = waitForOutput(watcher, /desired patch .*"message":"hello from the service"/);
    await registry.updateModuleTwin(
      "line-2",
      "sensor",
      { properties: { desired: { message: "hello from the service" } } },
      "*",
    );
    expect(await patchPrinted).toMatch(
      /line-2\/sensor desired patch \(version \d+\): \{"message":"hello from the service"/,
    );
    watcher.kill("SIGINT");
    expect(await exited).toBe(0);
  });

  it("--watch --json prints one JSON line per event, for pipelines", async () => {
    const watcher = startVerify([
      "--outputs",
      writeOutputs("watch-json.json", stackOutputs(endpoint, fleet)),
      "--watch",
      "line-1/camera",
      "--json",
    ]);
    const exited = new Promise<number | null>((resolve) => watcher.on("exit", (code) => resolve(code)));
    await waitForOutput(watcher, /"event":"watching"/);
    const patchPrinted = waitForOutput(watcher, /"event":"patch".*\n/);
    await registry.updateModuleTwin("line-1", "camera", { properties: { desired: { fps: 25 } } }, "*");
    const line = (await patchPrinted).split("\n").find((text) => text.includes('"event":"patch"'))!;
    expect(JSON.parse(line)).toMatchObject({ event: "patch", module: "line-1/camera", patch: { fps: 25 } });
    watcher.kill("SIGTERM");
    expect(await exited).toBe(0);
  });
});
