import { readStackOutputs } from "../../lib/iothub/stackOutputs";

/** The stack outputs' deployments and configurations as verify reads them (an extension: absent = none). */
const base = {
  hostName: "hub.example",
  serviceConnectionString: `HostName=hub.example;SharedAccessKeyName=p;SharedAccessKey=${"A".repeat(44)}`,
  modules: [],
};

const deployment = {
  name: "base",
  configurationId: "base-0a1b2c3d",
  kind: "edge",
  layered: false,
  priority: 10,
  targetCondition: "tags.site = 'munich'",
  content: { modulesContent: { $edgeAgent: { "properties.desired": { schemaVersion: "1.1" } } } },
};

const configuration = {
  name: "fw",
  configurationId: "fw-0a1b2c3d",
  kind: "device",
  targetCondition: "*",
  content: { deviceContent: { "properties.desired.fw": "1.2" } },
};

describe("readStackOutputs: deployments and configurations", () => {
  it("reads them, and outputs without them as none", () => {
    expect(
      readStackOutputs({ ...base, deployments: [deployment], configurations: [configuration] }).outputs,
    ).toMatchObject({
      deployments: [deployment],
      configurations: [configuration],
    });
    expect(readStackOutputs(base).outputs).toMatchObject({ deployments: [], configurations: [] });
  });

  it.each<[string, Record<string, unknown>, string]>([
    ["a list that is none", { deployments: {} }, "deployments: must be an array"],
    ["an entry that is no object", { configurations: ["fw"] }, "configurations[0]: must be an object"],
    [
      "an id IoT Hub refuses",
      { deployments: [{ ...deployment, configurationId: "Base" }] },
      "deployments[0].configurationId: may contain only",
    ],
    [
      "hidden content",
      { deployments: [{ ...deployment, content: "[secret]" }] },
      'deployments[0].content: is hidden as "[secret]"',
    ],
    [
      "a deployment without modulesContent",
      { deployments: [{ ...deployment, content: configuration.content }] },
      "deployments[0].content: must hold modulesContent",
    ],
    [
      "a kind its content contradicts",
      { configurations: [{ ...configuration, kind: "module" }] },
      'configurations[0].kind: must be "device"',
    ],
    [
      "an entry listed twice",
      { configurations: [configuration, configuration] },
      "configurations[1]: fw-0a1b2c3d is listed twice",
    ],
    [
      "content too deep",
      {
        configurations: [
          {
            ...configuration,
            content: {
              deviceContent: {
                "properties.desired": JSON.parse(`${'{"a":'.repeat(5000)}1${"}".repeat(5000)}`),
              },
            },
          },
        ],
      },
      "must be nested at most 10 levels deep",
    ],
  ])("refuses %s, naming the field", (_case, extra, expected) => {
    const reading = readStackOutputs({ ...base, ...extra });
    expect(reading.outputs).toBeUndefined();
    expect(reading.violations?.map((v) => `${v.field}: ${v.rule}`).join("\n")).toContain(expected);
  });
});
