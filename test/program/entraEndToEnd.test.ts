import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Registry } from "azure-iothub";
import { addPrincipal, principalRegistry, type AddedPrincipal } from "../local-hub/entraSupport";
import { startHub, type TestHub } from "../support/hubProcess";
import { startProviderServer, type ProviderServer } from "../support/providerServer";
import { policyNames } from "../support/suiteHub";
import { Deployment, serializeProgramProviders } from "./support/deployment";
import { PROJECT_DIR, runProgram, type ProgramRun } from "./support/runProgram";

/**
 * The program with `auth: entra` on the local target, over several runs: index.ts under mocks whose dynamic
 * resources go to the real provider server, against a hub that refuses every shared access policy
 * (`--disable-local-auth`). The providers sign in as a principal of the hub's with the real @azure/identity: up,
 * a second up that changes nothing, verify on the outputs, destroy.
 */

// Each step is a whole `pulumi up` (and a verify run in a child process): a guard against hangs, not a speed test.
jest.setTimeout(240_000);

let hub: TestHub;
let server: ProviderServer;
let deployment: Deployment;
let admin: Registry;
let provisioner: AddedPrincipal;

beforeAll(async () => {
  [hub, server] = await Promise.all([startHub({ args: ["--disable-local-auth"] }), startProviderServer()]);
  deployment = new Deployment(server, serializeProgramProviders());
  admin = principalRegistry(hub.info, await addPrincipal(hub, "admin", ["IoT Hub Data Contributor"]));
  provisioner = await addPrincipal(hub, "provisioner", [
    "IoT Hub Registry Contributor",
    "IoT Hub Twin Contributor",
  ]);
});

afterAll(async () => {
  await server?.stop();
  await hub?.stop();
});

const devices = [
  {
    deviceId: "myFirstDevice",
    modules: [{ moduleId: "myFirstModule", desired: { telemetryInterval: 122 } }],
  },
];

async function up(): Promise<ProgramRun> {
  deployment.beginRun();
  const run = await runProgram({
    stack: "local",
    config: {
      target: "local",
      auth: "entra",
      entra: { clientId: provisioner.clientId, clientSecret: provisioner.clientSecret },
      localHub: { stateDir: hub.stateDir },
      devices,
    },
    secretKeys: ["entra"],
    engine: deployment,
  });
  await deployment.endRun();
  return run;
}

/** `npm run verify -- --outputs FILE --json` with the principal's secret in AZURE_CLIENT_SECRET. */
function verify(outputs: Record<string, unknown>): { status: number | null; report: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), "program-entra-outputs-"));
  const file = path.join(dir, "outputs.json");
  try {
    writeFileSync(file, JSON.stringify(outputs), { mode: 0o600 });
    const run = spawnSync(
      process.execPath,
      ["--import", "tsx", "verify/cli.ts", "--outputs", file, "--json"],
      {
        cwd: PROJECT_DIR,
        encoding: "utf8",
        env: { ...process.env, AZURE_CLIENT_SECRET: provisioner.clientSecret },
      },
    );
    return { status: run.status, report: run.stdout + run.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("auth entra on the local target, through the real provider server", () => {
  it("up: the declared identities and twin, no policy made, no connection string in the outputs; verify passes", async () => {
    const policiesBefore = await policyNames(hub);
    const run = await up();
    expect(await policyNames(hub)).toEqual(policiesBefore);
    const module = (await admin.getModule("myFirstDevice", "myFirstModule")).responseBody;
    const twin = (await admin.getModuleTwin("myFirstDevice", "myFirstModule")).responseBody;
    expect(twin.properties.desired.telemetryInterval).toBe(122);
    expect(run.outputs).toMatchObject({
      hostName: hub.info.hostName,
      auth: "entra",
      entra: {
        authorityHost: hub.info.entra!.authorityHost,
        tenantId: hub.info.entra!.tenantId,
        clientId: provisioner.clientId,
      },
    });
    expect(run.outputs).not.toHaveProperty("serviceConnectionString");
    expect(JSON.stringify(run.outputs)).not.toContain(provisioner.clientSecret);
    expect(
      String((run.outputs.modules as Array<{ connectionString: string }>)[0].connectionString),
    ).toContain(`SharedAccessKey=${module.authentication!.symmetricKey!.primaryKey}`);

    const verdict = verify(run.outputs);
    expect(verdict.report).toContain("myFirstModule");
    expect(verdict.status).toBe(0);
  });

  it("a second up changes nothing", async () => {
    await up();
    expect(deployment.steps).toMatchObject({ create: [], update: [], replace: [], delete: [] });
  });

  it("destroy removes every identity", async () => {
    await deployment.destroy();
    expect((await admin.list()).responseBody).toEqual([]);
    expect(deployment.resources()).toEqual([]);
  });
});
