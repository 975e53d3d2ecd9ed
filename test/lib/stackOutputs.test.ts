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

describe("readStackOutputs: the DPS", () => {
  const dps = {
    idScope: "0ne000A1B2C",
    serviceHostName: "my-dps.azure-devices-provisioning.net",
    provisioningHost: "global.azure-devices-provisioning.net",
    enrollmentGroups: ["fleet-a", "fleet-b"],
  };
  const dpsServiceConnectionString = `HostName=my-dps.azure-devices-provisioning.net;SharedAccessKeyName=verify;SharedAccessKey=${"B".repeat(44)}`;

  it("reads it with its connection string, and outputs without it as none", () => {
    expect(readStackOutputs({ ...base, dps, dpsServiceConnectionString }).outputs).toMatchObject({
      dps,
      dpsServiceConnectionString,
    });
    const local = { ...dps, provisioningHost: "127.0.0.2:8883", gatewayHostName: "127.0.0.1:8883" };
    expect(readStackOutputs({ ...base, dps: local, dpsServiceConnectionString }).outputs?.dps).toEqual(local);
    const none = readStackOutputs({ ...base, dps: null }).outputs;
    expect(none).toBeDefined();
    expect(none).not.toHaveProperty("dps");
    expect(none).not.toHaveProperty("dpsServiceConnectionString");
  });

  it.each<[string, Record<string, unknown>, string]>([
    ["a dps that is no object", { dps: "my-dps" }, "dps: must be an object"],
    ["an id scope DPS never hands out", { dps: { ...dps, idScope: "0ne-1" } }, "dps.idScope: must be 0ne"],
    ["no service host", { dps: { ...dps, serviceHostName: "" } }, "dps.serviceHostName: must be a non-empty"],
    [
      "no provisioning host",
      { dps: { ...dps, provisioningHost: 8883 } },
      "dps.provisioningHost: must be a non-empty",
    ],
    [
      "a gateway that is no string",
      { dps: { ...dps, gatewayHostName: ["x"] } },
      "dps.gatewayHostName: must be a non-empty string",
    ],
    [
      "groups that are no list",
      { dps: { ...dps, enrollmentGroups: "fleet-a" } },
      "dps.enrollmentGroups: must be",
    ],
    [
      "a group id DPS refuses",
      { dps: { ...dps, enrollmentGroups: ["Fleet A"] } },
      "dps.enrollmentGroups[0]: may contain only",
    ],
    [
      "an oversized group id",
      { dps: { ...dps, enrollmentGroups: ["g".repeat(129)] } },
      "dps.enrollmentGroups[0]: must be at most 128",
    ],
    [
      "a group listed twice",
      { dps: { ...dps, enrollmentGroups: ["fleet-a", "fleet-a"] } },
      "dps.enrollmentGroups[1]: fleet-a is listed twice",
    ],
    [
      "no connection string with it",
      { dps, dpsServiceConnectionString: undefined },
      "dpsServiceConnectionString: must be",
    ],
    [
      "a hidden connection string",
      { dps, dpsServiceConnectionString: "[secret]" },
      'dpsServiceConnectionString: is hidden as "[secret]"',
    ],
    [
      "a connection string without a key",
      { dps, dpsServiceConnectionString: "HostName=my-dps;SharedAccessKeyName=verify" },
      "dpsServiceConnectionString: must hold SharedAccessKey",
    ],
  ])("refuses %s, naming the field", (_case, overrides, expected) => {
    const reading = readStackOutputs({ ...base, dpsServiceConnectionString, ...overrides });
    expect(reading.outputs).toBeUndefined();
    const described = (reading.violations ?? []).map((violation) => `${violation.field}: ${violation.rule}`);
    expect(described).toEqual(expect.arrayContaining([expect.stringContaining(expected)]));
    expect(described.join("\n")).not.toContain("B".repeat(44));
  });
});
