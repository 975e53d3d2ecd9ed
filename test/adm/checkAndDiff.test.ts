import {
  serializedProviders,
  startProviderServer,
  type Props,
  type ProviderServer,
} from "../support/providerServer";
import { configurationIdFor } from "../../components/adm/configurationId";
import { baseManifest, dockerModule } from "./manifests";

/**
 * check() and diff() of the ADM providers through the real dynamic-provider server; neither calls the hub (the
 * connection string names one that does not exist). Every refusal names the resource, the field and the rule.
 */
const hubConnection = {
  serviceConnectionString:
    "HostName=hub.example;SharedAccessKeyName=provisioner;SharedAccessKey=" + "A".repeat(44),
};

let server: ProviderServer;
let providers: Record<string, string>;

beforeAll(async () => {
  [server, providers] = await Promise.all([startProviderServer(), serializedProviders()]);
});
afterAll(() => server?.stop());

const configuration = (overrides: Props = {}): Props => ({
  ...hubConnection,
  name: "fw",
  targetCondition: "tags.kind = 'thermo'",
  content: { deviceContent: { "properties.desired.firmware": { version: "1.2" } } },
  ...overrides,
});

const deployment = (overrides: Props = {}): Props => ({
  ...hubConnection,
  name: "base",
  targetCondition: "tags.site = 'munich'",
  priority: 10,
  modulesContent: baseManifest({ sensor: dockerModule("sensor:1") }),
  ...overrides,
});

/** An object nested `depth` levels deep. */
function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

/** `$edgeAgent`'s desired document, loosely typed: the tests change it in ways no type would allow. */
/* eslint-disable-next-line @typescript-eslint/no-explicit-any -- deliberately malformed manifests */
type LooseDocument = Record<string, any>;

/** The manifest with one path of `$edgeAgent`'s desired document changed. */
function agentWith(change: (desired: LooseDocument) => void): Props {
  const manifest = baseManifest({ sensor: dockerModule("sensor:1") });
  change(manifest.$edgeAgent["properties.desired"] as LooseDocument);
  return deployment({ modulesContent: manifest });
}

async function reasons(kind: string, inputs: Props): Promise<string[]> {
  return (await server.check(providers[kind], {}, inputs)).failures.map((failure) => failure.reason);
}

describe("check", () => {
  it("accepts a device configuration, a module configuration, a base and a layered deployment unchanged", async () => {
    const valid: Array<[string, Props]> = [
      [
        "Configuration",
        configuration({ labels: { team: "a" }, metrics: { m: "SELECT deviceId FROM devices" } }),
      ],
      [
        "Configuration",
        configuration({
          targetCondition: "FROM devices.modules WHERE moduleId = 'sensor'",
          content: { moduleContent: { "properties.desired": { interval: 5 } } },
        }),
      ],
      ["EdgeDeployment", deployment()],
      [
        "EdgeDeployment",
        deployment({
          layered: true,
          priority: 20,
          modulesContent: {
            $edgeAgent: { "properties.desired.modules.debug": dockerModule("debug:1") },
            $edgeHub: {
              "properties.desired.routes.debug": { route: "FROM /messages/* INTO $upstream", priority: 1 },
            },
            debug: { "properties.desired.level": "verbose" },
          },
        }),
      ],
    ];
    for (const [kind, inputs] of valid) {
      const result = await server.check(providers[kind], {}, inputs);
      expect(result.failures).toEqual([]);
      expect(result.inputs).toEqual(inputs);
    }
  });

  const refused: Array<[string, Props, string]> = [
    [
      "Configuration",
      configuration({ name: "Firmware" }),
      `configuration "Firmware": name: may contain only lowercase letters`,
    ],
    ["Configuration", configuration({ name: "x".repeat(120) }), "name: must be at most 119 characters"],
    [
      "Configuration",
      configuration({ targetCondition: "" }),
      "targetCondition: must be a non-empty condition",
    ],
    ["Configuration", configuration({ targetCondition: "tags.kind = " }), "targetCondition: "],
    ["Configuration", configuration({ targetCondition: "x".repeat(9000) }), "over IoT Hub's limit of 8192"],
    [
      "Configuration",
      configuration({ targetCondition: "properties.desired.x = 1" }),
      "targetCondition: 'properties.desired.x' cannot be targeted",
    ],
    [
      "Configuration",
      configuration({ content: { moduleContent: { "properties.desired.x": 1 } } }),
      "targetCondition: a module configuration's condition must start with FROM devices.modules WHERE",
    ],
    ["Configuration", configuration({ priority: -1 }), "priority: must be a non-negative integer"],
    ["Configuration", configuration({ priority: 1.5 }), "priority: must be a non-negative integer"],
    ["Configuration", configuration({ priority: "high" }), "priority: must be a non-negative integer"],
    ["Configuration", configuration({ labels: { $team: "a" } }), "labels key '$team': may contain only"],
    [
      "Configuration",
      configuration({ labels: { team: "y".repeat(129) } }),
      "labels.team: must be at most 128",
    ],
    ["Configuration", configuration({ labels: "team=a" }), "labels: must be an object of strings"],
    ["Configuration", configuration({ metrics: { m: "" } }), "metrics.m: must be a query string"],
    ["Configuration", configuration({ metrics: { m: "SELECT FROM" } }), "metrics.m: "],
    [
      "Configuration",
      configuration({ content: { deviceContent: { "tags.site": "x" } } }),
      "content.deviceContent.tags.site: keys must be 'properties.desired' or 'properties.desired.<property path>'",
    ],
    [
      "Configuration",
      configuration({
        content: {
          deviceContent: { "properties.desired.a": 1 },
          moduleContent: { "properties.desired.a": 1 },
        },
      }),
      "content: must hold exactly one of deviceContent, moduleContent, modulesContent",
    ],
    [
      "Configuration",
      configuration({ content: { modulesContent: { $edgeAgent: {} } } }),
      "content.modulesContent: is an IoT Edge deployment's content: declare it as an EdgeDeployment",
    ],
    [
      "Configuration",
      configuration({ content: { deviceContent: { "properties.desired": nested(100) } } }),
      "must be nested at most 10 levels deep",
    ],
    [
      "Configuration",
      configuration({ content: { deviceContent: { "properties.desired.big": "z".repeat(5000) } } }),
      "strings must be at most 4096 bytes",
    ],
    ["EdgeDeployment", deployment({ modulesContent: { sensor: {} } }), "modulesContent: must set $edgeAgent"],
    ["EdgeDeployment", deployment({ modulesContent: [] }), "modulesContent: must be an object of modules"],
    [
      "EdgeDeployment",
      deployment({ modulesContent: { $edgeAgent: baseManifest({}).$edgeAgent } }),
      "modulesContent.$edgeHub.properties.desired: is required: a base deployment sets $edgeHub's whole desired document",
    ],
    [
      "EdgeDeployment",
      agentWith((desired) => delete desired.systemModules),
      "modulesContent.$edgeAgent.properties.desired.systemModules: is required",
    ],
    [
      "EdgeDeployment",
      agentWith((desired) => (desired.schemaVersion = 2)),
      "modulesContent.$edgeAgent.properties.desired.schemaVersion: is required: the manifest schema version",
    ],
    [
      "EdgeDeployment",
      agentWith((desired) => (desired.runtime = { type: "podman" })),
      "modulesContent.$edgeAgent.properties.desired.runtime.type: must be 'docker'",
    ],
    [
      "EdgeDeployment",
      agentWith((desired) => delete desired.modules.sensor.settings.image),
      "modulesContent.$edgeAgent.properties.desired.modules.sensor.settings.image: is required: the container image",
    ],
    [
      "EdgeDeployment",
      agentWith((desired) => (desired.modules.sensor.settings.createOptions = { HostConfig: {} })),
      "modules.sensor.settings.createOptions: must be JSON text of an object",
    ],
    [
      "EdgeDeployment",
      agentWith((desired) => (desired.modules.sensor.restartPolicy = "sometimes")),
      "modules.sensor.restartPolicy: must be one of 'never', 'on-failure', 'on-unhealthy', 'always'",
    ],
    [
      "EdgeDeployment",
      agentWith((desired) => (desired.runtime.settings.registryCredentials = { acr: { username: "u" } })),
      "runtime.settings.registryCredentials.acr.password: is required: a non-empty string",
    ],
    [
      "EdgeDeployment",
      deployment({
        modulesContent: {
          ...baseManifest({}),
          $edgeHub: {
            "properties.desired": {
              schemaVersion: "1.1",
              routes: { r: "SELECT * INTO $upstream" },
              storeAndForwardConfiguration: { timeToLiveSecs: 10 },
            },
          },
        },
      }),
      "modulesContent.$edgeHub.properties.desired.routes.r: must be a route: FROM <source> [WHERE <condition>] INTO <sink>",
    ],
    [
      "EdgeDeployment",
      deployment({ layered: true }),
      "modulesContent.$edgeAgent.properties.desired: a layered deployment sets 'properties.desired.<path>' keys only",
    ],
    [
      "EdgeDeployment",
      deployment({
        layered: true,
        modulesContent: { $edgeAgent: { "properties.desired.runtime.type": "docker" } },
      }),
      "modulesContent.$edgeAgent.properties.desired.runtime.type: a layered deployment may set only 'properties.desired.modules.<module>'",
    ],
    [
      "EdgeDeployment",
      deployment({
        layered: true,
        modulesContent: { $edgeAgent: { "properties.desired.modules.x": { type: "docker" } } },
      }),
      "modulesContent.$edgeAgent.properties.desired.modules.x.settings: is required",
    ],
    ["EdgeDeployment", deployment({ layered: "yes" }), "layered: must be true or false"],
    [
      "EdgeDeployment",
      deployment({
        modulesContent: baseManifest(
          Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`m${i}`, dockerModule("m:1")])),
        ),
      }),
      "modulesContent: may set at most 50 modules (it sets 51)",
    ],
    [
      "EdgeDeployment",
      deployment({
        modulesContent: baseManifest(
          {},
          Object.fromEntries(
            Array.from({ length: 20 }, (_, i) => [
              `m${i}`,
              {
                "properties.desired": Object.fromEntries(
                  Array.from({ length: 8 }, (_, k) => [`k${k}`, "v".repeat(4000)]),
                ),
              },
            ]),
          ),
        ),
      }),
      "modulesContent: must be at most 262144 bytes as JSON, the largest request the service API takes",
    ],
    [
      "EdgeDeployment",
      // As deep as the engine's protobuf Structs carry (40,000 levels: test/adm/admRules.test.ts, without the wire).
      deployment({ modulesContent: { ...baseManifest({}), deep: { "properties.desired": nested(100) } } }),
      `modulesContent.deep${".a".repeat(11)}: must be nested at most 10 levels deep`,
    ],
  ];

  it.each(refused.map(([kind, inputs, expected]) => [kind, expected, inputs] as const))(
    "%s refuses it: %s",
    async (kind, expected, inputs) => {
      const found = await reasons(kind, inputs);
      expect(found.join("\n")).toContain(expected);
    },
  );

  it("names the resource and every violation at once", async () => {
    const found = await reasons("Configuration", configuration({ name: "", priority: -2, labels: 3 }));
    expect(found).toEqual([
      'configuration "": name: must be a non-empty string',
      'configuration "": priority: must be a non-negative integer',
      'configuration "": labels: must be an object of strings',
    ]);
  });
});

describe("diff", () => {
  /** The state a create of `inputs` leaves (the hub is not called): the inputs and the id derived from them. */
  const stateOf = (inputs: Props): Props => ({
    ...inputs,
    configurationId: configurationIdFor(inputs.name as string, {
      modulesContent: inputs.modulesContent as Record<string, Record<string, unknown>>,
    }),
    etag: "MQ==",
  });
  const diff = (olds: Props, news: Props) => server.diff(providers.EdgeDeployment, "id", olds, news);

  it("sees no change for the same inputs, also with the manifest's keys in another order or empty labels", async () => {
    const olds = stateOf(deployment());
    expect((await diff(olds, deployment())).changes).toBe("none");
    const reordered = Object.fromEntries(Object.entries(deployment().modulesContent as object).reverse());
    expect((await diff(olds, deployment({ modulesContent: reordered }))).changes).toBe("none");
    expect((await diff(olds, deployment({ labels: {}, metrics: {} }))).changes).toBe("none");
  });

  it("reads the empty kinds IoT Hub's GET adds to a content as none (no replace after a refresh)", async () => {
    const declared = configuration();
    const content = declared.content as Record<string, Record<string, unknown>>;
    const asAzureAnswers: Props = {
      ...declared,
      configurationId: configurationIdFor("fw", content),
      etag: "MQ==",
      content: { ...content, moduleContent: {}, modulesContent: {} },
    };
    expect((await server.diff(providers.Configuration, "id", asAzureAnswers, declared)).changes).toBe("none");
  });

  it("updates priority, target condition, labels and metrics in place", async () => {
    const olds = stateOf(deployment());
    for (const change of [
      { priority: 11 },
      { targetCondition: "tags.site = 'berlin'" },
      { labels: { a: "b" } },
      { metrics: { m: "SELECT deviceId FROM devices" } },
    ]) {
      expect(await diff(olds, deployment(change))).toEqual({
        changes: "some",
        replaces: [],
        deleteBeforeReplace: false,
      });
    }
  });

  it("replaces for other content or another name, creating the new configuration before deleting the old", async () => {
    const olds = stateOf(deployment());
    const manifest = baseManifest({ sensor: dockerModule("sensor:2") });
    expect(await diff(olds, deployment({ modulesContent: manifest }))).toEqual({
      changes: "some",
      replaces: ["modulesContent"],
      deleteBeforeReplace: false,
    });
    expect(await diff(olds, deployment({ name: "base2" }))).toEqual({
      changes: "some",
      replaces: ["name"],
      deleteBeforeReplace: false,
    });
    const otherHub = {
      serviceConnectionString: hubConnection.serviceConnectionString.replace("hub.example", "other.example"),
    };
    expect((await diff(olds, deployment(otherHub))).replaces).toEqual(["serviceConnectionString"]);
  });
});
