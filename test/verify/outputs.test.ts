import { InputError } from "../../verify/inputError";
import { mqttEndpoint, parseStackOutputs } from "../../verify/outputs";

const KEY = Buffer.alloc(32, 7).toString("base64");
const PREVIOUS_KEY = Buffer.alloc(32, 8).toString("base64");
const moduleConnectionString = (deviceId: string, moduleId: string, extra = "") =>
  `HostName=hub.local;DeviceId=${deviceId};ModuleId=${moduleId};SharedAccessKey=${KEY}${extra}`;

function outputs(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    hostName: "hub.local",
    serviceConnectionString: `HostName=hub.local;SharedAccessKeyName=provisioner;SharedAccessKey=${KEY}`,
    caFile: "/tmp/ca.pem",
    modules: [
      {
        deviceId: "dev-1",
        moduleId: "sensor",
        connectionString: moduleConnectionString("dev-1", "sensor"),
        desired: { a: 1 },
      },
    ],
    ...overrides,
  };
}

function problems(json: unknown): string {
  try {
    parseStackOutputs(JSON.stringify(json), "outputs.json");
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return (error as Error).message;
  }
  throw new Error("expected the outputs to be rejected");
}

describe("parseStackOutputs", () => {
  it("reads the stack outputs shape", () => {
    const parsed = parseStackOutputs(JSON.stringify(outputs()), "outputs.json");
    expect(parsed.hostName).toBe("hub.local");
    expect(parsed.caFile).toBe("/tmp/ca.pem");
    expect(parsed.modules).toEqual([
      expect.objectContaining({ deviceId: "dev-1", moduleId: "sensor", desired: { a: 1 } }),
    ]);
  });

  it("treats a module without desired as declaring none, and caFile as optional", () => {
    const parsed = parseStackOutputs(
      JSON.stringify(
        outputs({
          caFile: undefined,
          modules: [{ deviceId: "d", moduleId: "m", connectionString: moduleConnectionString("d", "m") }],
        }),
      ),
      "x",
    );
    expect(parsed.caFile).toBeUndefined();
    expect(parsed.modules[0].desired).toEqual({});
  });

  it("reads a module's previous connection string when present, and requires it of every module with --all-keys", () => {
    const previous = moduleConnectionString("dev-1", "sensor").replace(KEY, PREVIOUS_KEY);
    const withPrevious = outputs({
      modules: [
        {
          deviceId: "dev-1",
          moduleId: "sensor",
          connectionString: moduleConnectionString("dev-1", "sensor"),
          previousConnectionString: previous,
        },
        {
          deviceId: "dev-2",
          moduleId: "sensor",
          connectionString: moduleConnectionString("dev-2", "sensor"),
        },
      ],
    });
    const parsed = parseStackOutputs(JSON.stringify(withPrevious), "outputs.json");
    expect(parsed.modules[0].previousConnectionString).toBe(previous);
    expect(parsed.modules[1]).not.toHaveProperty("previousConnectionString");
    let message = "";
    try {
      parseStackOutputs(JSON.stringify(withPrevious), "outputs.json", { allKeys: true });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe(
      "outputs.json: invalid stack outputs:\n  - modules[1].previousConnectionString: is required with " +
        "--all-keys (the connection string with the key active before the last rotation)",
    );
  });

  it("refuses a previous connection string of another module or without a key, never echoing it", () => {
    const message = problems(
      outputs({
        modules: [
          {
            deviceId: "dev-1",
            moduleId: "sensor",
            connectionString: moduleConnectionString("dev-1", "sensor"),
            previousConnectionString: moduleConnectionString("dev-1", "other").replace(KEY, PREVIOUS_KEY),
          },
          {
            deviceId: "dev-2",
            moduleId: "sensor",
            connectionString: moduleConnectionString("dev-2", "sensor"),
            previousConnectionString: "HostName=hub.local;DeviceId=dev-2;ModuleId=sensor",
          },
        ],
      }),
    );
    expect(message).toMatch(
      /modules\[0\]\.previousConnectionString: must name the same DeviceId and ModuleId as the entry/,
    );
    expect(message).toMatch(/modules\[1\]\.previousConnectionString: must carry SharedAccessKey/);
    expect(message).not.toContain(PREVIOUS_KEY);
  });

  it("rejects text that is not JSON, naming the source", () => {
    expect(() => parseStackOutputs("{nope", "outputs.json")).toThrow(/outputs.json: not valid JSON/);
  });

  it("names each bad field and its rule", () => {
    const message = problems(
      outputs({
        hostName: "",
        modules: [
          { deviceId: "bad id", moduleId: "$edgeAgent", connectionString: "HostName=x", desired: [] },
        ],
      }),
    );
    expect(message).toMatch(/hostName: must be a non-empty string/);
    expect(message).toMatch(/modules\[0\]\.deviceId: may contain only/);
    expect(message).toMatch(/modules\[0\]\.moduleId: must not start with \$/);
    expect(message).toMatch(/modules\[0\]\.connectionString: must carry DeviceId, ModuleId, SharedAccessKey/);
    expect(message).toMatch(/modules\[0\]\.desired: must be an object/);
  });

  it("says how to fix secrets hidden by pulumi, and never echoes a key", () => {
    const message = problems(outputs({ serviceConnectionString: "[secret]" }));
    expect(message).toMatch(
      /serviceConnectionString: is hidden as "\[secret\]": read the outputs with --show-secrets/,
    );
    const mismatched = problems(
      outputs({
        modules: [{ deviceId: "a", moduleId: "m", connectionString: moduleConnectionString("b", "m") }],
      }),
    );
    expect(mismatched).toMatch(/modules\[0\]\.connectionString: its DeviceId is not "a"/);
    expect(mismatched).not.toContain(KEY);
  });

  it("rejects a document that is not an object, and a caFile that is not a path", () => {
    expect(problems([outputs()])).toBe("outputs.json: must be a JSON object with hostName and modules");
    expect(problems(outputs({ caFile: "" }))).toMatch(
      /caFile: must be a path \(a non-empty string\) when present/,
    );
  });

  it("rejects an empty module list and duplicates", () => {
    expect(problems(outputs({ modules: [] }))).toMatch(/modules: is empty/);
    const entry = { deviceId: "d", moduleId: "m", connectionString: moduleConnectionString("d", "m") };
    expect(problems(outputs({ modules: [entry, entry] }))).toMatch(/modules\[1\]: d\/m is listed twice/);
  });

  it("takes an empty module list when a deployment is declared (an edge fleet's modules come from it)", () => {
    const deployment = {
      name: "base",
      configurationId: "base-0a1b2c3d",
      kind: "edge",
      targetCondition: "*",
      content: { modulesContent: { $edgeAgent: { "properties.desired": { schemaVersion: "1.1" } } } },
    };
    const parsed = parseStackOutputs(
      JSON.stringify(outputs({ modules: [], deployments: [deployment] })),
      "o.json",
    );
    expect(parsed.modules).toEqual([]);
    expect(parsed.deployments).toEqual([deployment]);
  });
});

describe("mqttEndpoint", () => {
  it("uses GatewayHostName with its port when present, else HostName on 8883", () => {
    expect(mqttEndpoint(moduleConnectionString("d", "m", ";GatewayHostName=127.0.0.9:18883"))).toEqual({
      host: "127.0.0.9",
      port: 18883,
      hostName: "hub.local",
    });
    expect(mqttEndpoint(moduleConnectionString("d", "m"))).toEqual({
      host: "hub.local",
      port: 8883,
      hostName: "hub.local",
    });
  });
});
