import { mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Registry } from "azure-iothub";
import { startHub, type TestHub } from "../support/hubProcess";
import { startProviderServer, type ProviderServer } from "../support/providerServer";
import { startEngineStandIn, type EngineStandIn, type ProgramRunResult } from "./support/engineStandIn";
import { programCommand, splitShellWords, stackConfigOf } from "./support/languageHost";
import { PROJECT_DIR } from "./support/runProgram";
import { hubRegistry, policyNames } from "../support/suiteHub";

/**
 * index.ts started as `pulumi up` starts it: the command line and environment the nodejs language host builds from
 * Pulumi.yaml (runtime options, main) and package.json (main, through @pulumi/pulumi's own run entry point), against
 * a stand-in engine and resource monitor over gRPC whose dynamic resources go to the real dynamic-provider server
 * and a running local hub. So a runtime option in Pulumi.yaml that cannot run the program fails here first.
 */

const yaml = require("js-yaml") as { load(text: string): unknown; dump(value: unknown): string };

// Each up starts the program (tsx, @pulumi/pulumi) and the providers run the hub CLI: a guard against hangs, not a
// speed assertion.
jest.setTimeout(120_000);

const temporaryDirs: string[] = [];
afterAll(() => {
  for (const dir of temporaryDirs) rmSync(dir, { recursive: true, force: true });
});

/** This project with another Pulumi.yaml: every other top-level entry is a symlink to the real one. */
function projectWith(pulumiYaml: unknown): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "language-host-project-"));
  temporaryDirs.push(dir);
  for (const entry of readdirSync(PROJECT_DIR)) {
    if (entry === "Pulumi.yaml" || entry === ".git") continue;
    symlinkSync(path.join(PROJECT_DIR, entry), path.join(dir, entry));
  }
  writeFileSync(
    path.join(dir, "Pulumi.yaml"),
    typeof pulumiYaml === "string" ? pulumiYaml : yaml.dump(pulumiYaml),
  );
  return dir;
}

/** This project's Pulumi.yaml with its runtime options changed (undefined removes one). */
function projectWithOptions(changes: Record<string, unknown>): string {
  const project = yaml.load(readFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), "utf8")) as {
    runtime: { options: Record<string, unknown> };
  };
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete project.runtime.options[key];
    else project.runtime.options[key] = value;
  }
  return projectWith(project);
}

const addresses = { monitorAddress: "127.0.0.1:1", engineAddress: "127.0.0.1:2" };

describe("the language host's command line, from Pulumi.yaml", () => {
  it("puts nodeargs before @pulumi/pulumi's run entry point, then the engine's flags, then the entry point", () => {
    const dir = projectWith({
      name: "demo",
      runtime: {
        name: "nodejs",
        options: { typescript: false, nodeargs: "--import tsx --max-old-space-size=512" },
      },
    });
    const command = programCommand({ projectDir: dir, stack: "dev", config: {}, parallel: 8, ...addresses });
    expect(command.command).toBe(process.execPath);
    expect(command.args).toEqual([
      "--import",
      "tsx",
      "--max-old-space-size=512",
      require.resolve("@pulumi/pulumi/cmd/run"),
      "--monitor",
      "127.0.0.1:1",
      "--engine",
      "127.0.0.1:2",
      "--organization",
      "organization",
      "--project",
      "demo",
      "--root-directory",
      dir,
      "--stack",
      "dev",
      "--pwd",
      dir,
      "--parallel",
      "8",
      ".",
    ]);
    expect(command.env.PULUMI_NODEJS_TYPESCRIPT).toBeUndefined();
  });

  it("passes config with `<namespace>:config:<name>` keys and the secret keys, as the language host does", () => {
    const dir = projectWith({ name: "demo", runtime: "nodejs" });
    const command = programCommand({
      projectDir: dir,
      stack: "dev",
      config: { "demo:target": "local", "aws:region": "x" },
      configSecretKeys: ["demo:target"],
      dryRun: true,
      ...addresses,
    });
    expect(JSON.parse(command.env.PULUMI_CONFIG!)).toEqual({
      "demo:config:target": "local",
      "aws:config:region": "x",
    });
    expect(JSON.parse(command.env.PULUMI_CONFIG_SECRET_KEYS!)).toEqual(["demo:target"]);
    expect(command.args).toContain("--dry-run");
    // typescript defaults to true: @pulumi/pulumi then registers ts-node
    expect(command.env.PULUMI_NODEJS_TYPESCRIPT).toBe("true");
  });

  it("runs Pulumi.yaml's main from its directory, and passes tsconfig on", () => {
    const dir = projectWith({
      name: "demo",
      main: "components/config.ts",
      runtime: { name: "nodejs", options: { tsconfig: "tsconfig.json" } },
    });
    const command = programCommand({ projectDir: dir, stack: "dev", config: {}, ...addresses });
    const pwd = command.args.indexOf("--pwd");
    expect(command.args[pwd + 1]).toBe(path.join(dir, "components"));
    expect(command.args[command.args.length - 1]).toBe("config.ts");
    expect(command.cwd).toBe(path.join(dir, "components"));
    expect(command.env.PULUMI_NODEJS_TSCONFIG_PATH).toBe("tsconfig.json");
  });

  it.each([
    [
      { runtime: { name: "nodejs", options: { nodeargs: ["--import", "tsx"] } } },
      "runtime.options.nodeargs: must be a string",
    ],
    [
      { runtime: { name: "nodejs", options: { typescript: "false" } } },
      "runtime.options.typescript: must be a boolean",
    ],
    [
      { runtime: { name: "nodejs", options: { packagemanager: "pip" } } },
      "runtime.options.packagemanager: must be one of",
    ],
    [{ runtime: "node" }, 'runtime.name: must be "nodejs" for this program, got "node"'],
    [{ runtime: "nodejs", main: "missing.ts" }, "project 'main' could not be read"],
  ])("refuses %j with an error naming the field and the rule", (fields, message) => {
    const dir = projectWith({ name: "demo", ...fields });
    expect(() => programCommand({ projectDir: dir, stack: "dev", config: {}, ...addresses })).toThrow(
      message,
    );
  });

  it("refuses a config key that is not `<namespace>:<name>`", () => {
    const dir = projectWith({ name: "demo", runtime: "nodejs" });
    expect(() =>
      programCommand({ projectDir: dir, stack: "dev", config: { "a:b:c": "x" }, ...addresses }),
    ).toThrow("could not parse a:b:c as a configuration key");
  });

  it("splits nodeargs like a shell: quotes and escapes", () => {
    expect(splitShellWords(` --import tsx  --title "my program" 'a b'\\ c `)).toEqual([
      "--import",
      "tsx",
      "--title",
      "my program",
      "a b c",
    ]);
    expect(() => splitShellWords(`--title "open`)).toThrow('nodeargs: unclosed " quote');
  });
});

describe("index.ts run the way `pulumi up` runs it, against the local hub", () => {
  let hub: TestHub;
  let server: ProviderServer;
  let engine: EngineStandIn;
  let registry: Registry;

  beforeAll(async () => {
    [hub, server] = await Promise.all([startHub(), startProviderServer()]);
    engine = await startEngineStandIn(server);
    registry = hubRegistry(hub.info);
  });

  afterAll(async () => {
    await engine?.stop();
    await server?.stop();
    await hub?.stop();
  });

  /** The local stack's config (Pulumi.local.yaml) with this test hub's state dir, as the CLI hands it over. */
  function localConfig(projectDir = PROJECT_DIR): Record<string, string> {
    return {
      ...stackConfigOf(projectDir, "local"),
      "iothub-provisioner:localHub": JSON.stringify({ stateDir: hub.stateDir }),
    };
  }

  function up(projectDir = PROJECT_DIR): Promise<ProgramRunResult> {
    return engine.up({ projectDir, stack: "local", config: localConfig(projectDir) });
  }

  /** Exit code and error logs together, so a failing run shows why. */
  function outcome(run: ProgramRunResult): { exitCode: number | null; errors: string[] } {
    return {
      exitCode: run.exitCode,
      errors: run.logs.filter((log) => log.severity === "error").map((log) => log.message),
    };
  }

  async function deviceIds(): Promise<string[]> {
    return (await registry.list()).responseBody.map((device) => device.deviceId);
  }

  // Measured: without tsx node parses index.ts as JavaScript (SyntaxError); `typescript: true` next to tsx makes
  // @pulumi/pulumi register ts-node too, which type-checks tsx's output and fails (TS7006).
  it.each([
    ["without nodeargs", { nodeargs: undefined }, /SyntaxError/],
    ["with typescript: true next to tsx", { typescript: true }, /TSError: ⨯ Unable to compile TypeScript/],
  ])("a Pulumi.yaml %s fails the up, saying why, and creates nothing", async (_case, options, reason) => {
    const run = await up(projectWithOptions(options));
    expect(run.exitCode).not.toBe(0);
    const errors = run.logs.filter((log) => log.severity === "error").map((log) => log.message);
    expect(errors.join("\n")).toMatch(/Running program '.*index\.ts' failed with an unhandled exception:/);
    expect(errors.join("\n")).toMatch(reason);
    expect(run.steps.create).toEqual([]);
    expect(engine.resources()).toEqual([]);
    expect(await deviceIds()).toEqual([]);
    expect(await policyNames(hub)).not.toContain("provisioner");
  });

  const declared = [
    "hub-policy",
    "fleet-device-myFirstDevice",
    "fleet-module-myFirstDevice/myFirstModule",
    "fleet-moduletwin-myFirstDevice/myFirstModule",
  ].sort();

  it("the preview `pulumi up` runs first plans every resource and changes nothing", async () => {
    const preview = await engine.preview({ projectDir: PROJECT_DIR, stack: "local", config: localConfig() });
    expect(outcome(preview)).toEqual({ exitCode: 0, errors: [] });
    expect(preview.steps).toMatchObject({ update: [], replace: [], delete: [], same: [] });
    expect(preview.steps.create.sort()).toEqual(declared);
    expect(engine.resources()).toEqual([]);
    expect(await deviceIds()).toEqual([]);
    expect(await policyNames(hub)).not.toContain("provisioner");
  });

  let first: ProgramRunResult;

  it("up creates the policy, the device, the module and its twin in the hub, and the stack outputs", async () => {
    first = await up();
    expect(outcome(first)).toEqual({ exitCode: 0, errors: [] });
    expect(first.steps.create.sort()).toEqual(declared);

    expect(await policyNames(hub)).toContain("provisioner");
    expect(await deviceIds()).toEqual(["myFirstDevice"]);
    const modules = (await registry.getModulesOnDevice("myFirstDevice")).responseBody;
    expect(modules.map((module) => module.moduleId)).toEqual(["myFirstModule"]);
    const twin = (await registry.getModuleTwin("myFirstDevice", "myFirstModule")).responseBody;
    expect(twin.properties.desired).toMatchObject({ telemetryInterval: 122 });

    expect(first.outputs).toMatchObject({
      hostName: hub.info.hostName,
      caFile: path.join(hub.stateDir, "ca.pem"),
      modules: [
        { deviceId: "myFirstDevice", moduleId: "myFirstModule", desired: { telemetryInterval: 122 } },
      ],
    });
    expect(String(first.outputs.serviceConnectionString)).toContain(`HostName=${hub.info.hostName};`);
    expect(String(first.outputs.serviceConnectionString)).toContain("SharedAccessKeyName=provisioner;");
    // The module's connection string carries the key the hub holds for it.
    const moduleKey = modules[0].authentication?.symmetricKey?.primaryKey;
    const outputModules = first.outputs.modules as Array<{ connectionString: string }>;
    expect(outputModules[0].connectionString).toContain(
      `DeviceId=myFirstDevice;ModuleId=myFirstModule;SharedAccessKey=${moduleKey}`,
    );
  });

  it("the outputs with keys are secret, the others are not", () => {
    const isSecret = (outputPath: string): boolean =>
      first.secretOutputs.some(
        (secret) =>
          outputPath === secret || outputPath.startsWith(`${secret}.`) || outputPath.startsWith(`${secret}[`),
      );
    expect(isSecret("serviceConnectionString")).toBe(true);
    expect(isSecret("modules[0].connectionString")).toBe(true);
    expect(isSecret("hostName")).toBe(false);
    expect(isSecret("caFile")).toBe(false);
    expect(isSecret("modules[0].deviceId")).toBe(false);
  });

  it("a second up with the same config changes nothing and reads back the same outputs", async () => {
    const second = await up();
    expect(outcome(second)).toEqual({ exitCode: 0, errors: [] });
    expect(second.steps).toMatchObject({ create: [], update: [], replace: [], delete: [] });
    expect(second.steps.same.sort()).toEqual(declared);
    expect(second.outputs).toEqual(first.outputs);
    expect(second.secretOutputs.sort()).toEqual([...first.secretOutputs].sort());
  });

  it("a preview after the up plans no change", async () => {
    const preview = await engine.preview({ projectDir: PROJECT_DIR, stack: "local", config: localConfig() });
    expect(outcome(preview)).toEqual({ exitCode: 0, errors: [] });
    expect(preview.steps).toMatchObject({ create: [], update: [], replace: [], delete: [] });
    expect(preview.steps.same.sort()).toEqual(declared);
  });

  it("destroy deletes everything, dependents first, and empties the registry", async () => {
    const steps = await engine.destroy();
    expect(steps.delete).toHaveLength(4);
    const position = (name: string): number => steps.delete.indexOf(name);
    expect(position("fleet-moduletwin-myFirstDevice/myFirstModule")).toBeLessThan(
      position("fleet-module-myFirstDevice/myFirstModule"),
    );
    expect(position("fleet-module-myFirstDevice/myFirstModule")).toBeLessThan(
      position("fleet-device-myFirstDevice"),
    );
    expect(position("fleet-device-myFirstDevice")).toBeLessThan(position("hub-policy"));
    expect(engine.resources()).toEqual([]);
    expect(await deviceIds()).toEqual([]);
    expect(await policyNames(hub)).not.toContain("provisioner");
  });
});
