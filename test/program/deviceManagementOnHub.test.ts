import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Registry } from "azure-iothub";
import { startHub, type TestHub } from "../support/hubProcess";
import { startProviderServer, type ProviderServer } from "../support/providerServer";
import { hubRegistry } from "../support/suiteHub";
import { Deployment, serializeProgramProviders } from "./support/deployment";
import { PROJECT_DIR, runProgram, type ProgramRun } from "./support/runProgram";

/**
 * The program's deployments and configurations against a running local hub (its ADM engine every 200 ms), through
 * the real provider server, over several `pulumi up`s; and `verify` on the program's outputs: each deployment and
 * configuration applied to every twin it targets, per-deployment results in --json.
 */
jest.setTimeout(240_000);

const BASE_FILE = "test/program/fixtures/edge/base.json";
const baseManifest = JSON.parse(readFileSync(path.join(PROJECT_DIR, BASE_FILE), "utf8")) as {
  modulesContent: Record<string, Record<string, unknown>>;
};

interface VerifyJson {
  ok: boolean;
  modules: Array<Record<string, unknown>>;
  configurations: Array<{
    name: string;
    configurationId: string;
    ok: boolean;
    targeted: number;
    applied: number;
    superseded: number;
    systemMetrics: Record<string, number>;
    problems: string[];
  }>;
}

/** `npm run verify -- --outputs FILE --json` on the program's outputs. */
function verify(
  outputs: Record<string, unknown>,
  ...args: string[]
): { status: number | null; json?: VerifyJson; text: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), "adm-e2e-outputs-"));
  const file = path.join(dir, "outputs.json");
  try {
    writeFileSync(file, JSON.stringify(outputs), { mode: 0o600 });
    const run = spawnSync(
      process.execPath,
      ["--import", "tsx", "verify/cli.ts", "--outputs", file, "--json", ...args],
      {
        cwd: PROJECT_DIR,
        encoding: "utf8",
      },
    );
    let json: VerifyJson | undefined;
    try {
      json = JSON.parse(run.stdout) as VerifyJson;
    } catch {
      json = undefined;
    }
    return { status: run.status, json, text: run.stdout + run.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("deployments and configurations on a running local hub", () => {
  let hub: TestHub;
  let server: ProviderServer;
  let deployment: Deployment;
  let registry: Registry;

  beforeAll(async () => {
    [hub, server] = await Promise.all([startHub({ args: ["--adm-interval", "200"] }), startProviderServer()]);
    deployment = new Deployment(server, serializeProgramProviders());
    registry = hubRegistry(hub.info);
  });

  afterAll(async () => {
    await server?.stop();
    await hub?.stop();
  });

  const config = (manifest: unknown = BASE_FILE): Record<string, unknown> => ({
    target: "local",
    localHub: { stateDir: hub.stateDir },
    devices: [
      { deviceId: "gateway-1", edgeEnabled: true, tags: { site: "munich" } },
      { deviceId: "line-1", modules: [{ moduleId: "thermo", desired: { mode: "eco" } }] },
    ],
    deployments: [{ name: "munich-base", targetCondition: "tags.site = 'munich'", priority: 10, manifest }],
    configurations: [
      {
        name: "thermo-interval",
        targetCondition: "FROM devices.modules WHERE moduleId = 'thermo'",
        content: { moduleContent: { "properties.desired.telemetry": { interval: 30 } } },
      },
      {
        name: "firmware",
        targetCondition: "*",
        content: { deviceContent: { "properties.desired.firmware": { version: "1.2" } } },
      },
    ],
  });

  async function up(stackConfig: Record<string, unknown>): Promise<ProgramRun> {
    deployment.beginRun();
    const run = await runProgram({ stack: "local", config: stackConfig, engine: deployment });
    await deployment.endRun();
    return run;
  }

  const ids = async (): Promise<string[]> =>
    (await registry.getConfigurations()).responseBody.map((configuration) => configuration.id).sort();

  let firstRun: ProgramRun;

  it("up creates them; verify finds each applied to every twin it targets and reports them in --json", async () => {
    firstRun = await up(config());
    const [edge] = firstRun.outputs.deployments as Array<{ configurationId: string }>;
    const [thermo, firmware] = firstRun.outputs.configurations as Array<{ configurationId: string }>;
    expect(edge.configurationId).toMatch(/^munich-base-[0-9a-f]{8}$/);
    expect(thermo.configurationId).toMatch(/^thermo-interval-[0-9a-f]{8}$/);
    expect(await ids()).toEqual(
      [edge.configurationId, thermo.configurationId, firmware.configurationId].sort(),
    );

    const result = verify(firstRun.outputs);
    expect(result.text).not.toContain("unexpected error");
    expect(result.status).toBe(0);
    expect(result.json?.configurations).toEqual([
      expect.objectContaining({
        name: "munich-base",
        configurationId: edge.configurationId,
        ok: true,
        targeted: 1,
        applied: 1,
        problems: [],
        systemMetrics: expect.objectContaining({ targetedCount: 1, appliedCount: 1 }),
      }),
      expect.objectContaining({ name: "thermo-interval", ok: true, targeted: 1, applied: 1, problems: [] }),
      // `*`: every device of the hub (the edge device and the leaf device)
      expect.objectContaining({ name: "firmware", ok: true, targeted: 2, applied: 2, problems: [] }),
    ]);
    const agent = (await registry.getModuleTwin("gateway-1", "$edgeAgent")).responseBody as unknown as {
      properties: { desired: { modules: Record<string, unknown> } };
    };
    expect(Object.keys(agent.properties.desired.modules)).toEqual(["SimulatedTemperatureSensor"]);
  });

  it("a second up changes nothing", async () => {
    await up(config());
    expect(deployment.steps).toMatchObject({ create: [], update: [], replace: [], delete: [] });
  });

  it("a changed manifest replaces the deployment (the new one first), and verify passes on the new one", async () => {
    const manifest = structuredClone(baseManifest);
    const agent = manifest.modulesContent.$edgeAgent["properties.desired"] as {
      modules: Record<string, { settings: { image: string } }>;
    };
    agent.modules.SimulatedTemperatureSensor.settings.image =
      "mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.6";
    const run = await up(config(manifest));
    expect(deployment.steps.replace).toEqual(["adm-deployment-munich-base"]);
    const [edge] = run.outputs.deployments as Array<{ configurationId: string }>;
    const [before] = firstRun.outputs.deployments as Array<{ configurationId: string }>;
    expect(edge.configurationId).not.toBe(before.configurationId);
    expect(await ids()).not.toContain(before.configurationId);
    expect(await ids()).toContain(edge.configurationId);
    const result = verify(run.outputs);
    expect(result.status).toBe(0);
    expect(result.json?.configurations[0]).toMatchObject({
      configurationId: edge.configurationId,
      ok: true,
      applied: 1,
    });
    firstRun = run;
  });

  it("verify fails, naming the twin, when a targeted twin no longer carries the content", async () => {
    await registry.updateModuleTwin(
      "line-1",
      "thermo",
      { properties: { desired: { telemetry: { interval: 1 } } } },
      "*",
    );
    const result = verify(firstRun.outputs, "--timeout", "2");
    expect(result.status).toBe(1);
    const thermo = result.json?.configurations.find((c) => c.name === "thermo-interval");
    expect(thermo).toMatchObject({ ok: false, applied: 0 });
    expect(thermo?.problems).toContain(
      "line-1/thermo: says Applied but its desired properties do not carry the configuration's content",
    );
    expect(result.json?.configurations.find((c) => c.name === "munich-base")?.ok).toBe(true);
    // The module client sees it too: the configuration's content is part of the module's expected desired state.
    expect(result.json?.modules).toEqual([
      expect.objectContaining({
        deviceId: "line-1",
        moduleId: "thermo",
        ok: false,
        failure: expect.objectContaining({
          kind: "desired-mismatch",
          mismatches: [{ key: "telemetry.interval", expected: 30, found: 1 }],
        }),
      }),
    ]);
  });

  it("destroy removes the configurations from the hub", async () => {
    await deployment.destroy();
    expect(await ids()).toEqual([]);
  });
});
