import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Registry } from "azure-iothub";
import { startHub, type TestHub } from "../support/hubProcess";
import { startProviderServer, type ProviderServer } from "../support/providerServer";
import { Deployment, serializeProgramProviders } from "./support/deployment";
import { PROJECT_DIR, runProgram, type ProgramRun } from "./support/runProgram";
import { hubRegistry, policyNames } from "../support/suiteHub";
import * as yaml from "js-yaml";

/**
 * The program with the local stack's config over many runs (languageHost.test.ts starts it as `pulumi up` does; here
 * it runs in this process, which makes config changes cheap): index.ts runs under mocks whose dynamic resources go to the real dynamic-provider server, against a running local hub. The registry
 * must then hold exactly what the config declares, through an up, a grown config, a shrunk and changed config,
 * and a destroy; and the verify command must pass on the program's outputs.
 */

// Each step is a whole `pulumi up` plus a verify run in child processes: on a loaded machine that can take more
// than jest's default minute. A guard against hangs, not a speed assertion.
jest.setTimeout(240_000);

/** Pulumi.local.yaml's config, keys without the namespace. */
function localStackConfig(): Record<string, unknown> {
  const file = yaml.load(readFileSync(path.join(PROJECT_DIR, "Pulumi.local.yaml"), "utf8")) as {
    config: Record<string, unknown>;
  };
  return Object.fromEntries(
    Object.entries(file.config).map(([key, value]) => [key.replace(/^iothub-provisioner:/, ""), value]),
  );
}

interface RegistrySnapshot {
  devices: Record<
    string,
    { status: string; edge: boolean; parents: string[]; tags: unknown; desired: Record<string, unknown> }
  >;
  modules: Record<string, Record<string, unknown>>;
}

/** What the hub holds: every device (status, tags, desired) and every module's desired properties. */
async function snapshot(hub: TestHub): Promise<RegistrySnapshot> {
  const registry = hubRegistry(hub.info);
  // The SDK's Device type omits the scopes the REST body carries.
  const devices = (await registry.list()).responseBody as Array<
    Registry.DeviceDescription & { deviceScope?: string; parentScopes?: string[] }
  >;
  const result: RegistrySnapshot = { devices: {}, modules: {} };
  const idOfScope = new Map(devices.map((device) => [device.deviceScope, device.deviceId]));
  for (const device of devices) {
    const twin = (await registry.getTwin(device.deviceId)).responseBody;
    result.devices[device.deviceId] = {
      status: device.status ?? "enabled",
      edge: device.capabilities?.iotEdge === true,
      parents: (device.parentScopes ?? []).map((scope) => idOfScope.get(scope) ?? `unknown scope ${scope}`),
      tags: twin.tags ?? {},
      desired: withoutMetadata(twin.properties.desired),
    };
    for (const module of (await registry.getModulesOnDevice(device.deviceId)).responseBody) {
      const moduleTwin = (await registry.getModuleTwin(device.deviceId, module.moduleId)).responseBody;
      result.modules[`${device.deviceId}/${module.moduleId}`] = withoutMetadata(
        moduleTwin.properties.desired,
      );
    }
  }
  return result;
}

function withoutMetadata(section: Record<string, unknown> | undefined): Record<string, unknown> {
  return Object.fromEntries(Object.entries(section ?? {}).filter(([key]) => !key.startsWith("$")));
}

/** `npm run verify -- --outputs FILE --json` on the program's outputs, as `npm run local` runs it. */
function verify(outputs: Record<string, unknown>): { status: number | null; report: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), "program-e2e-outputs-"));
  const file = path.join(dir, "outputs.json");
  try {
    writeFileSync(file, JSON.stringify(outputs), { mode: 0o600 });
    const run = spawnSync(
      process.execPath,
      ["--import", "tsx", "verify/cli.ts", "--outputs", file, "--json"],
      {
        cwd: PROJECT_DIR,
        encoding: "utf8",
      },
    );
    return { status: run.status, report: run.stdout + run.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("the program against a running local hub, through the real provider server", () => {
  let hub: TestHub;
  let server: ProviderServer;
  let deployment: Deployment;

  beforeAll(async () => {
    [hub, server] = await Promise.all([startHub(), startProviderServer()]);
    deployment = new Deployment(server, serializeProgramProviders());
  });

  afterAll(async () => {
    await server?.stop();
    await hub?.stop();
  });

  /** One `pulumi up` of the local stack with these config overrides. */
  async function up(overrides: Record<string, unknown> = {}): Promise<ProgramRun> {
    deployment.beginRun();
    const run = await runProgram({
      stack: "local",
      config: { ...localStackConfig(), localHub: { stateDir: hub.stateDir }, ...overrides },
      engine: deployment,
    });
    await deployment.endRun();
    return run;
  }

  const tutorialModule = { moduleId: "myFirstModule", desired: { telemetryInterval: 122 } };

  it("up with the local stack's config: the policy, exactly the declared identities and twins, and verify passes", async () => {
    const run = await up();
    expect(await policyNames(hub)).toContain("provisioner");
    expect(await snapshot(hub)).toEqual({
      devices: { myFirstDevice: { status: "enabled", edge: false, parents: [], tags: {}, desired: {} } },
      modules: { "myFirstDevice/myFirstModule": { telemetryInterval: 122 } },
    });
    expect(run.outputs).toMatchObject({
      hostName: hub.info.hostName,
      caFile: path.join(hub.stateDir, "ca.pem"),
      modules: [
        { deviceId: "myFirstDevice", moduleId: "myFirstModule", desired: { telemetryInterval: 122 } },
      ],
    });
    expect(String(run.outputs.serviceConnectionString)).toContain("SharedAccessKeyName=provisioner;");
    expect(run.secretOutputs).toEqual(
      expect.arrayContaining(["serviceConnectionString", "modules[0].connectionString"]),
    );

    const verdict = verify(run.outputs);
    expect(verdict.report).toContain("myFirstModule");
    expect(verdict.status).toBe(0);
  });

  it("a second up with the same config changes nothing", async () => {
    await up();
    expect(deployment.steps).toMatchObject({ create: [], update: [], replace: [], delete: [] });
    expect(deployment.steps.same.length).toBe(deployment.resources().length);
  });

  it("a grown config adds a module, a device with tags and desired properties, and a disabled child of an edge device", async () => {
    await up({
      devices: [
        {
          deviceId: "myFirstDevice",
          modules: [tutorialModule, { moduleId: "mySecondModule", desired: { mode: "eco" } }],
        },
        {
          deviceId: "line:2",
          tags: { site: "north" },
          desired: { firmware: "1.2" },
          modules: [{ moduleId: "m" }],
        },
        { deviceId: "spare", status: "disabled", statusReason: "not installed", parentDeviceId: "gateway" },
        { deviceId: "gateway", edgeEnabled: true },
      ],
    });
    expect(await snapshot(hub)).toEqual({
      devices: {
        myFirstDevice: { status: "enabled", edge: false, parents: [], tags: {}, desired: {} },
        "line:2": {
          status: "enabled",
          edge: false,
          parents: [],
          tags: { site: "north" },
          desired: { firmware: "1.2" },
        },
        spare: { status: "disabled", edge: false, parents: ["gateway"], tags: {}, desired: {} },
        gateway: { status: "enabled", edge: true, parents: [], tags: {}, desired: {} },
      },
      modules: {
        "myFirstDevice/myFirstModule": { telemetryInterval: 122 },
        "myFirstDevice/mySecondModule": { mode: "eco" },
        "line:2/m": {},
        // IoT Hub gives every IoT Edge device the runtime's two module identities; the program declares neither.
        "gateway/$edgeAgent": {},
        "gateway/$edgeHub": {},
      },
    });
  });

  it("a changed config converges: a module and two devices removed (child first), a desired key changed, one dropped", async () => {
    const run = await up({
      devices: [
        {
          deviceId: "myFirstDevice",
          modules: [{ moduleId: "myFirstModule", desired: { telemetryInterval: 60 } }],
        },
        { deviceId: "line:2", tags: { site: "north" }, modules: [{ moduleId: "m" }] },
      ],
    });
    expect(await snapshot(hub)).toEqual({
      devices: {
        myFirstDevice: { status: "enabled", edge: false, parents: [], tags: {}, desired: {} },
        "line:2": { status: "enabled", edge: false, parents: [], tags: { site: "north" }, desired: {} },
      },
      modules: {
        "myFirstDevice/myFirstModule": { telemetryInterval: 60 },
        "line:2/m": {},
      },
    });
    const deleted = deployment.steps.delete;
    expect([...deleted].sort()).toEqual(
      [
        "fleet-device-gateway",
        "fleet-device-spare",
        "fleet-module-myFirstDevice/mySecondModule",
        "fleet-moduletwin-myFirstDevice/mySecondModule",
      ].sort(),
    );
    // dependents go first: the twin before its module, the child before its edge parent
    expect(deleted.indexOf("fleet-moduletwin-myFirstDevice/mySecondModule")).toBeLessThan(
      deleted.indexOf("fleet-module-myFirstDevice/mySecondModule"),
    );
    expect(deleted.indexOf("fleet-device-spare")).toBeLessThan(deleted.indexOf("fleet-device-gateway"));
    const verdict = verify(run.outputs);
    expect(verdict.status).toBe(0);
  });

  it("destroy empties the registry and removes the policy", async () => {
    await deployment.destroy();
    expect(await snapshot(hub)).toEqual({ devices: {}, modules: {} });
    expect(await policyNames(hub)).not.toContain("provisioner");
    expect(deployment.resources()).toEqual([]);
  });
});
