import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Registry } from "azure-iothub";
import { CANARY_DESIRED_PROPERTY, VERIFIED_REPORTED_PROPERTY } from "../../verify/moduleCheck";
import type { VerifyReport } from "../../verify/report";
import { addPrincipal, principalRegistry, type AddedPrincipal } from "../local-hub/entraSupport";
import { startHub, type TestHub } from "../support/hubProcess";
import { moduleConnectionString, newKey } from "./fleet";
import { runVerify } from "./runVerify";

/**
 * verify with `auth: entra` outputs, as a pipeline runs it (a child process), against a local hub that refuses
 * every shared access policy (`--disable-local-auth`): its service side (the canary patch) signs in as the
 * outputs' principal with AZURE_CLIENT_SECRET, while the module connects with its own SAS key over MQTT.
 */

const directory = mkdtempSync(join(tmpdir(), "verify-entra-"));
let hub: TestHub;
let admin: Registry;
let verifier: AddedPrincipal;
let outputs: Record<string, unknown>;

function writeOutputs(name: string, value: Record<string, unknown>): string {
  const file = join(directory, name);
  writeFileSync(file, JSON.stringify(value), { mode: 0o600 });
  return file;
}

/** The test's environment without any client secret of its own, plus `extra`. */
function environment(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const { AZURE_CLIENT_SECRET: _secret, ...rest } = process.env;
  return { ...rest, ...extra };
}

beforeAll(async () => {
  hub = await startHub({ args: ["--disable-local-auth"] });
  admin = principalRegistry(hub.info, await addPrincipal(hub, "admin", ["IoT Hub Data Contributor"]));
  // The canary patch writes a module twin: IoT Hub Twin Contributor is all verify's service side needs.
  verifier = await addPrincipal(hub, "verifier", ["IoT Hub Twin Contributor"]);
  const key = newKey();
  await admin.create({ deviceId: "line-1" });
  await admin.addModule({
    deviceId: "line-1",
    moduleId: "sensor",
    authentication: { type: "sas", symmetricKey: { primaryKey: key, secondaryKey: newKey() } },
  } as Parameters<Registry["addModule"]>[0]);
  await admin.updateModuleTwin("line-1", "sensor", { properties: { desired: { interval: 30 } } }, "*");
  outputs = {
    hostName: hub.info.hostName,
    auth: "entra",
    entra: {
      authorityHost: hub.info.entra!.authorityHost,
      tenantId: hub.info.entra!.tenantId,
      clientId: verifier.clientId,
    },
    caFile: hub.info.caFile,
    modules: [
      {
        deviceId: "line-1",
        moduleId: "sensor",
        connectionString: moduleConnectionString(hub.info, "line-1", "sensor", key),
        desired: { interval: 30 },
      },
    ],
  };
}, 120000);

afterAll(async () => {
  await hub?.stop();
});

describe("verify with auth entra", () => {
  it("passes with the principal's secret from AZURE_CLIENT_SECRET: canary round trip through Entra, module on SAS", async () => {
    const result = await runVerify(
      ["--outputs", writeOutputs("entra.json", outputs), "--json"],
      environment({ AZURE_CLIENT_SECRET: verifier.clientSecret }),
    );
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as VerifyReport;
    expect(report).toMatchObject({ ok: true, total: 1, passed: 1 });
    expect(report.modules[0].passedSteps).toContain("roundTrip");
    const twin = (await admin.getModuleTwin("line-1", "sensor")).responseBody;
    expect(twin.properties.reported[VERIFIED_REPORTED_PROPERTY]).toMatchObject({ status: "verified" });
    expect(twin.properties.desired[CANARY_DESIRED_PROPERTY]).toBeUndefined();
  });

  it("says the client secret is missing (exit 2) when AZURE_CLIENT_SECRET is not set", async () => {
    const result = await runVerify(["--outputs", writeOutputs("no-secret.json", outputs)], environment());
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      "the stack uses auth entra: entra.clientSecret: is required with authorityHost",
    );
  });

  it("fails the module (exit 1) naming the refusal when the principal's secret is wrong", async () => {
    const result = await runVerify(
      ["--outputs", writeOutputs("wrong-secret.json", outputs), "--json"],
      environment({ AZURE_CLIENT_SECRET: "not-the-secret" }),
    );
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as VerifyReport;
    expect(report.ok).toBe(false);
    expect(report.modules[0].failure).toMatchObject({ step: "roundTrip" });
    expect(report.modules[0].failure?.message).toContain("Invalid client secret provided");
    expect(report.modules[0].failure?.message).toContain("The Microsoft Entra credential got no token");
    expect(result.stdout).not.toContain("not-the-secret");
  });

  it("fails the module (exit 1) naming the role when the principal lacks the twin write action", async () => {
    const reader = await addPrincipal(hub, "reader", ["IoT Hub Registry Contributor"]);
    const result = await runVerify(
      [
        "--outputs",
        writeOutputs("reader.json", {
          ...outputs,
          entra: { ...(outputs.entra as object), clientId: reader.clientId },
        }),
        "--json",
      ],
      environment({ AZURE_CLIENT_SECRET: reader.clientSecret }),
    );
    expect(result.code).toBe(1);
    const failure = (JSON.parse(result.stdout) as VerifyReport).modules[0].failure;
    expect(failure?.message).toContain("Microsoft.Devices/IotHubs/twins/write");
    expect(failure?.message).toContain("IoT Hub Twin Contributor");
  });

  it("refuses outputs that carry a client secret or an unknown auth mode, naming the field (exit 2)", async () => {
    const withSecret = await runVerify(
      [
        "--outputs",
        writeOutputs("secret.json", {
          ...outputs,
          entra: { ...(outputs.entra as object), clientSecret: "x" },
        }),
      ],
      environment(),
    );
    expect(withSecret.code).toBe(2);
    expect(withSecret.stderr).toContain("entra.clientSecret: must not be in the stack outputs");
    const unknownMode = await runVerify(
      ["--outputs", writeOutputs("mode.json", { ...outputs, auth: "kerberos" })],
      environment(),
    );
    expect(unknownMode.code).toBe(2);
    expect(unknownMode.stderr).toContain("auth: must be sas or entra when present");
  });
});
