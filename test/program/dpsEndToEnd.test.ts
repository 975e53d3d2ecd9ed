import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { dpsServiceClient } from "../../lib/dps/serviceClient";
import type { EnrollmentReport } from "../../verify/enrollment";
import { startHub, type TestHub } from "../support/hubProcess";
import { startProviderServer, type ProviderServer } from "../support/providerServer";
import { Deployment, serializeProgramProviders } from "./support/deployment";
import { PROJECT_DIR, runProgram, type ProgramRun } from "./support/runProgram";

/**
 * The local target with `dps`, as `pulumi up` runs it here: index.ts under mocks whose dynamic resources go to the
 * real provider server, against a running local hub with its DPS. The group lands in the DPS allocating to the
 * stack's hub, the stack outputs name the DPS, and `verify --enrollment --outputs` registers devices through it.
 */

// A whole up plus a verify run in a child process: a guard against hangs, not a speed assertion.
jest.setTimeout(240_000);

let hub: TestHub;
let server: ProviderServer;
let deployment: Deployment;

beforeAll(async () => {
  [hub, server] = await Promise.all([startHub({ dps: true }), startProviderServer()]);
  deployment = new Deployment(server, serializeProgramProviders());
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await hub?.stop();
});

const config = () => ({
  target: "local",
  localHub: { stateDir: hub.stateDir },
  dps: {},
  enrollmentGroups: [
    {
      enrollmentGroupId: "line-a",
      attestation: { type: "symmetricKey" },
      initialTwin: { properties: { desired: { interval: 30 } } },
    },
  ],
});

async function up(): Promise<ProgramRun> {
  deployment.beginRun();
  const run = await runProgram({ stack: "local", config: config(), engine: deployment });
  await deployment.endRun();
  return run;
}

/** `npm run verify -- --enrollment GROUP --simulate N --outputs FILE --json` on the program's outputs. */
function verifyEnrollment(outputs: Record<string, unknown>, simulate: number) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "dps-e2e-outputs-"));
  const file = path.join(dir, "outputs.json");
  try {
    writeFileSync(file, JSON.stringify(outputs), { mode: 0o600 });
    return spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "verify/cli.ts",
        "--enrollment",
        "line-a",
        "--simulate",
        String(simulate),
        "--outputs",
        file,
        "--json",
      ],
      { cwd: PROJECT_DIR, encoding: "utf8", env: { ...process.env, IOTHUB_DPS_GROUP_KEY: "" } },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("the local target with dps, through the real provider server", () => {
  it("creates the group allocating to the stack's hub, exports the DPS, and verify --enrollment passes on the outputs", async () => {
    const run = await up();
    const dps = hub.info.dps!;
    expect(run.outputs.dps).toEqual({
      idScope: dps.idScope,
      serviceHostName: dps.hostName,
      provisioningHost: `${dps.host}:${dps.mqttPort}`,
      gatewayHostName: `${hub.info.host}:${hub.info.mqttPort}`,
      enrollmentGroups: ["line-a"],
    });
    expect(run.secretOutputs).toEqual(expect.arrayContaining(["dpsServiceConnectionString"]));

    const client = dpsServiceClient(dps.connectionString, readFileSync(hub.info.caFile, "utf8"));
    const group = (await client.getEnrollmentGroup("line-a")).responseBody;
    expect(group.iotHubs).toEqual([hub.info.hostName]);

    const verdict = verifyEnrollment(run.outputs, 2);
    expect(verdict.stderr).toBe("");
    expect(verdict.status).toBe(0);
    const report = JSON.parse(verdict.stdout) as EnrollmentReport;
    expect(report).toMatchObject({ ok: true, idScope: dps.idScope, total: 2, passed: 2 });
  });

  it("a second up changes nothing, and destroy removes the group", async () => {
    await up();
    expect(deployment.steps).toMatchObject({ create: [], update: [], replace: [], delete: [] });
    await deployment.destroy();
    const client = dpsServiceClient(hub.info.dps!.connectionString, readFileSync(hub.info.caFile, "utf8"));
    await expect(client.getEnrollmentGroup("line-a")).rejects.toMatchObject({
      response: { statusCode: 404 },
    });
  });
});
