import { InputError } from "../../verify/inputError";
import { mqttEndpoint, parseStackOutputs } from "../../verify/outputs";

const KEY = Buffer.alloc(32, 7).toString("base64");
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
