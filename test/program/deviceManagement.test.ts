import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseStackConfig, StackConfigError } from "../../components/config";
import { fakeCloud } from "./support/fakeCloud";
import {
  isSecretInput,
  plainInputs,
  runProgram,
  type Registration,
  appearsInClear,
} from "./support/runProgram";

/**
 * The stack config's `deployments` and `configurations`, under mocks: the resources the program makes of them,
 * what is secret, the stack outputs verify reads, and every refusal (named by its config path, nothing created).
 */

const BASE_FILE = "test/program/fixtures/edge/base.json";
const baseManifest = JSON.parse(fs.readFileSync(path.resolve(__dirname, "../..", BASE_FILE), "utf8")) as {
  modulesContent: Record<string, Record<string, unknown>>;
};

const debugLayer = {
  name: "debug-layer",
  layered: true,
  priority: 20,
  targetCondition: "tags.site = 'munich' AND tags.debug = true",
  manifest: {
    modulesContent: {
      $edgeAgent: {
        "properties.desired.modules.debug": {
          type: "docker",
          status: "running",
          restartPolicy: "always",
          settings: { image: "debug:1" },
        },
      },
    },
  },
};

const admConfig = {
  target: "local",
  devices: [{ deviceId: "gateway-1", edgeEnabled: true, tags: { site: "munich" } }],
  deployments: [
    {
      name: "munich-base",
      targetCondition: "tags.site = 'munich'",
      priority: 10,
      labels: { team: "edge" },
      manifest: BASE_FILE,
    },
    debugLayer,
  ],
  configurations: [
    {
      name: "thermo-interval",
      targetCondition: "FROM devices.modules WHERE tags.kind = 'thermo'",
      priority: 5,
      metrics: { reporting: "SELECT deviceId FROM devices.modules WHERE properties.reported.interval = 30" },
      content: { moduleContent: { "properties.desired.telemetry": { interval: 30 } } },
    },
  ],
};

const byType = (registrations: Registration[], type: string): Registration[] =>
  registrations.filter((registration) => registration.type === `pulumi-nodejs:dynamic/iothub:${type}`);

describe("deployments and configurations in the stack config", () => {
  it("become an EdgeDeployment per deployment and a Configuration per configuration, under one component", async () => {
    const cloud = fakeCloud();
    const run = await runProgram({ stack: "local", config: admConfig, engine: cloud });
    const component = run.registrations.find((r) => r.type === "iothub-provisioner:adm:DeviceManagement");
    expect(component?.name).toBe("adm");
    const deployments = byType(run.registrations, "EdgeDeployment");
    expect(deployments.map((r) => r.name).sort()).toEqual([
      "adm-deployment-debug-layer",
      "adm-deployment-munich-base",
    ]);
    const named = (name: string) => deployments.find((r) => r.name === `adm-deployment-${name}`)!;
    expect(plainInputs(named("munich-base").inputs)).toMatchObject({
      name: "munich-base",
      targetCondition: "tags.site = 'munich'",
      priority: 10,
      labels: { team: "edge" },
      layered: false,
      // the file's manifest, read relative to the project
      modulesContent: baseManifest.modulesContent,
    });
    expect(plainInputs(named("debug-layer").inputs)).toMatchObject({ layered: true, priority: 20 });
    const [configuration] = byType(run.registrations, "Configuration");
    expect(configuration.name).toBe("adm-configuration-thermo-interval");
    expect(plainInputs(configuration.inputs)).toMatchObject(admConfig.configurations[0]);
    for (const registration of [...deployments, configuration]) {
      expect(isSecretInput(registration.inputs.serviceConnectionString)).toBe(true);
      expect(registration.additionalSecretOutputs).toContain("serviceConnectionString");
      expect(registration.deleteBeforeReplace).toBe(false);
    }

    expect(run.outputs.deployments).toEqual([
      {
        name: "munich-base",
        configurationId: "munich-base-00000000",
        kind: "edge",
        layered: false,
        priority: 10,
        targetCondition: "tags.site = 'munich'",
        content: { modulesContent: baseManifest.modulesContent },
      },
      {
        name: "debug-layer",
        configurationId: "debug-layer-00000000",
        kind: "edge",
        layered: true,
        priority: 20,
        targetCondition: debugLayer.targetCondition,
        content: debugLayer.manifest,
      },
    ]);
    expect(run.outputs.configurations).toEqual([
      {
        name: "thermo-interval",
        configurationId: "thermo-interval-00000000",
        kind: "module",
        priority: 5,
        targetCondition: admConfig.configurations[0].targetCondition,
        content: admConfig.configurations[0].content,
      },
    ]);
  });

  it("keep a manifest with registry credentials secret: its input, its state and its stack output", async () => {
    const manifest = structuredClone(baseManifest);
    const runtime = (
      manifest.modulesContent.$edgeAgent["properties.desired"] as { runtime: { settings: object } }
    ).runtime;
    runtime.settings = {
      registryCredentials: { acr: { username: "u", password: "hunter2-pw", address: "acr.example" } },
    };
    const cloud = fakeCloud();
    const run = await runProgram({
      stack: "local",
      config: { target: "local", deployments: [{ name: "private", targetCondition: "*", manifest }] },
      engine: cloud,
    });
    const [deployment] = byType(run.registrations, "EdgeDeployment");
    expect(isSecretInput(deployment.inputs.modulesContent)).toBe(true);
    expect(deployment.additionalSecretOutputs).toContain("modulesContent");
    expect(run.secretOutputs).toContain("deployments[0].content");
    expect(run.registrations.some((r) => appearsInClear(r.inputs, "hunter2"))).toBe(false);
  });

  const refused: Array<[string, Record<string, unknown>, string]> = [
    [
      "an unknown key of an entry, with a suggestion",
      { deployments: [{ ...debugLayer, priorty: 3 }] },
      "iothub-provisioner:deployments[0].priorty: is not a known key (did you mean priority?)",
    ],
    [
      "a manifest file outside the project",
      { deployments: [{ name: "x", targetCondition: "*", manifest: "../../etc/passwd" }] },
      'iothub-provisioner:deployments[0].manifest: "../../etc/passwd" must be a path inside the project directory',
    ],
    [
      "an absolute manifest path",
      { deployments: [{ name: "x", targetCondition: "*", manifest: "/etc/hostname" }] },
      'iothub-provisioner:deployments[0].manifest: "/etc/hostname" must be a path relative to the project directory',
    ],
    [
      "a manifest file that does not exist",
      { deployments: [{ name: "x", targetCondition: "*", manifest: "deployments/missing.json" }] },
      'iothub-provisioner:deployments[0].manifest: "deployments/missing.json" names no file',
    ],
    [
      "a manifest that is no path and no object",
      { deployments: [{ name: "x", targetCondition: "*", manifest: 42 }] },
      "iothub-provisioner:deployments[0].manifest: must be a path to a JSON file (relative to the project) or an object",
    ],
    [
      "a manifest without modulesContent",
      { deployments: [{ name: "x", targetCondition: "*", manifest: { $edgeAgent: {} } }] },
      "iothub-provisioner:deployments[0].manifest: must hold modulesContent (or content.modulesContent)",
    ],
    [
      "a malformed manifest, named at its path",
      {
        deployments: [
          {
            name: "x",
            targetCondition: "*",
            manifest: { modulesContent: { $edgeAgent: { "properties.desired": {} } } },
          },
        ],
      },
      "iothub-provisioner:deployments[0].manifest.modulesContent.$edgeAgent.properties.desired.schemaVersion: is required",
    ],
    [
      "a configuration name IoT Hub refuses",
      { configurations: [{ ...admConfig.configurations[0], name: "Thermo" }] },
      "iothub-provisioner:configurations[0].name: may contain only lowercase letters",
    ],
    [
      "a target condition that does not parse",
      {
        configurations: [{ ...admConfig.configurations[0], targetCondition: "FROM devices.modules WHERE (" }],
      },
      "iothub-provisioner:configurations[0].targetCondition: ",
    ],
    [
      "module content under the wrong key",
      {
        configurations: [
          { ...admConfig.configurations[0], content: { moduleContent: { "tags.kind": "x" } } },
        ],
      },
      "iothub-provisioner:configurations[0].content.moduleContent.tags.kind: keys must be 'properties.desired'",
    ],
    [
      "a name used twice across both lists",
      {
        deployments: [{ ...debugLayer, layered: false, name: "same" }],
        configurations: [{ ...admConfig.configurations[0], name: "same" }],
      },
      "iothub-provisioner:configurations[0].name: must be unique among deployments and configurations (deployments[0] has the same name)",
    ],
    [
      "a layered deployment at or below every base's priority",
      { deployments: [admConfig.deployments[0], { ...debugLayer, priority: 10 }] },
      "iothub-provisioner:deployments[1].priority: must be higher than a base deployment's priority (the lowest declared is 10)",
    ],
  ];

  it.each(refused)("refuse %s, creating nothing", async (_case, overrides, expected) => {
    const cloud = fakeCloud();
    await expect(
      runProgram({ stack: "local", config: { target: "local", ...overrides }, engine: cloud }),
    ).rejects.toThrow(expected);
    expect(cloud.resourceCount()).toBe(0);
  });
});

describe("manifest files", () => {
  let project: string;
  let outside: string;
  beforeAll(() => {
    project = fs.mkdtempSync(path.join(os.tmpdir(), "adm-project-"));
    outside = fs.mkdtempSync(path.join(os.tmpdir(), "adm-outside-"));
    fs.mkdirSync(path.join(project, "deployments"));
    fs.writeFileSync(path.join(project, "deployments", "base.json"), JSON.stringify(baseManifest));
    fs.writeFileSync(path.join(outside, "secret.json"), JSON.stringify(baseManifest));
    fs.symlinkSync(path.join(outside, "secret.json"), path.join(project, "deployments", "link.json"));
    fs.writeFileSync(
      path.join(project, "deployments", "broken.json"),
      '{"modulesContent": {"$edgeAgent": {"password": "hunter2-pw" ',
    );
    fs.writeFileSync(path.join(project, "deployments", "huge.json"), " ".repeat(1024 * 1024 + 1));
  });
  afterAll(() => {
    fs.rmSync(project, { recursive: true, force: true });
    fs.rmSync(outside, { recursive: true, force: true });
  });

  const parse = (manifest: unknown) =>
    parseStackConfig(
      { target: "local", deployments: [{ name: "d", targetCondition: "*", manifest }] },
      project,
    );

  const problems = (manifest: unknown): string => {
    try {
      parse(manifest);
      return "";
    } catch (error) {
      if (!(error instanceof StackConfigError)) throw error;
      return error.message;
    }
  };

  it("are read relative to the project directory", () => {
    expect(parse("deployments/base.json").deployments[0].modulesContent).toEqual(baseManifest.modulesContent);
    expect(parse("./deployments/../deployments/base.json").deployments[0].modulesContent).toEqual(
      baseManifest.modulesContent,
    );
  });

  it("may not lead outside it through a symbolic link", () => {
    expect(problems("deployments/link.json")).toContain(
      '"deployments/link.json" must be a file inside the project directory (a link leads outside)',
    );
  });

  it("must hold JSON, and the error never quotes the file", () => {
    const message = problems("deployments/broken.json");
    expect(message).toContain('"deployments/broken.json" must hold JSON');
    expect(message).not.toContain("hunter2");
  });

  it("are refused above 1 MB without being read, and a directory is no file", () => {
    expect(problems("deployments/huge.json")).toContain(
      "must be at most 1048576 bytes (the file has 1048577)",
    );
    expect(problems("deployments")).toContain('"deployments" must name a file');
  });

  it("name the file in the problems of their content", () => {
    const broken = structuredClone(baseManifest);
    delete (broken.modulesContent.$edgeHub["properties.desired"] as Record<string, unknown>).routes;
    fs.writeFileSync(path.join(project, "deployments", "noroutes.json"), JSON.stringify(broken));
    expect(problems("deployments/noroutes.json")).toContain(
      "iothub-provisioner:deployments[0].manifest (file deployments/noroutes.json).modulesContent.$edgeHub.properties.desired.routes: is required",
    );
  });
});
