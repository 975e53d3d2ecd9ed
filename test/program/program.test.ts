import * as path from "node:path";
import { paceFor } from "../../components/registry/options";
import { parseStackOutputs } from "../../verify/outputs";
import {
  FAKE_CA_PEM,
  FAKE_LOCAL_HOST,
  FAKE_POLICY_KEY,
  FAKE_PREVIOUS_KEY,
  fakeCloud,
} from "./support/fakeCloud";
import {
  PROJECT_DIR,
  isSecretInput,
  plainInputs,
  runProgram,
  type Registration,
  appearsInClear,
  onlyRegistration,
} from "./support/runProgram";

/**
 * The program's resource graph for both targets, under mocks (azure-native cannot reach Azure here and the
 * registry resources are answered by a fake): what is created, with which inputs, what is secret, and which
 * config errors stop it before anything is created.
 */

const tutorialDevices = [
  {
    deviceId: "myFirstDevice",
    modules: [{ moduleId: "myFirstModule", desired: { telemetryInterval: 122 } }],
  },
];

const azureConfig = {
  target: "azure",
  hub: { name: "my-hub", sku: "S1", capacity: 1, resourceGroupName: "my-rg", location: "westeurope" },
  policyName: "provisioner",
  devices: tutorialDevices,
};

const localConfig = { target: "local", devices: tutorialDevices };

function byType(registrations: Registration[], type: string): Registration[] {
  return registrations.filter((registration) => registration.type === type);
}

const only = onlyRegistration;

const REGISTRY_TYPES = [
  "pulumi-nodejs:dynamic/iothub:DeviceIdentity",
  "pulumi-nodejs:dynamic/iothub:ModuleIdentity",
  "pulumi-nodejs:dynamic/iothub:ModuleTwin",
];

describe("the program on the azure target", () => {
  it("creates a resource group and a hub whose only policy is the provisioner's (RegistryWrite, ServiceConnect)", async () => {
    const cloud = fakeCloud();
    const run = await runProgram({ stack: "dev", config: azureConfig, engine: cloud });

    const group = only(run.registrations, "azure-native:resources:ResourceGroup");
    expect(group.inputs).toMatchObject({ resourceGroupName: "my-rg", location: "westeurope" });
    const hub = only(run.registrations, "azure-native:iothub:IotHubResource");
    expect(hub.inputs).toMatchObject({
      resourceName: "my-hub",
      resourceGroupName: "my-rg",
      sku: { name: "S1", capacity: 1 },
    });
    expect((hub.inputs.properties as Record<string, unknown>).authorizationPolicies).toEqual([
      { keyName: "provisioner", rights: "RegistryWrite, ServiceConnect" },
    ]);
    expect(byType(run.registrations, "pulumi-nodejs:dynamic/iothub:LocalHubPolicy")).toHaveLength(0);
    // both carry fixed names (hub names are global): a replacement must delete the old one first
    expect(group.deleteBeforeReplace).toBe(true);
    expect(hub.deleteBeforeReplace).toBe(true);

    const keyCalls = cloud.calls.filter(
      (call) => call.token === "azure-native:iothub:listIotHubResourceKeysForKeyName",
    );
    expect(keyCalls).toHaveLength(1);
    expect(keyCalls[0].inputs).toEqual({
      keyName: "provisioner",
      resourceGroupName: "my-rg",
      resourceName: "my-hub",
    });
  });

  it("keeps an owner policy only when hub.ownerPolicy is set", async () => {
    const run = await runProgram({
      stack: "dev",
      config: { ...azureConfig, hub: { ...azureConfig.hub, ownerPolicy: true } },
      engine: fakeCloud(),
    });
    const hub = only(run.registrations, "azure-native:iothub:IotHubResource");
    expect((hub.inputs.properties as Record<string, unknown>).authorizationPolicies).toEqual([
      { keyName: "provisioner", rights: "RegistryWrite, ServiceConnect" },
      { keyName: "iothubowner", rights: "RegistryRead, RegistryWrite, ServiceConnect, DeviceConnect" },
    ]);
  });

  it("exports hostName, the secret service connection string and the modules, and no caFile", async () => {
    const run = await runProgram({ stack: "dev", config: azureConfig, engine: fakeCloud() });
    const connectionString = `HostName=my-hub.azure-devices.net;SharedAccessKeyName=provisioner;SharedAccessKey=${FAKE_POLICY_KEY}`;
    expect(run.outputs.hostName).toBe("my-hub.azure-devices.net");
    expect(run.outputs.serviceConnectionString).toBe(connectionString);
    expect(run.outputs).not.toHaveProperty("caFile");
    expect(run.outputs.modules).toEqual([
      {
        deviceId: "myFirstDevice",
        moduleId: "myFirstModule",
        connectionString: `HostName=hub;DeviceId=myFirstDevice;ModuleId=myFirstModule;SharedAccessKey=${FAKE_POLICY_KEY}`,
        previousConnectionString: `HostName=hub;DeviceId=myFirstDevice;ModuleId=myFirstModule;SharedAccessKey=${FAKE_PREVIOUS_KEY}`,
        desired: { telemetryInterval: 122 },
      },
    ]);
    expect(run.secretOutputs).toEqual(
      expect.arrayContaining([
        "serviceConnectionString",
        "modules[0].connectionString",
        "modules[0].previousConnectionString",
      ]),
    );
  });

  it("hands every registry resource the policy's connection string as a secret, never in clear", async () => {
    const run = await runProgram({ stack: "dev", config: azureConfig, engine: fakeCloud() });
    for (const type of REGISTRY_TYPES) {
      const resource = only(run.registrations, type);
      expect(isSecretInput(resource.inputs.serviceConnectionString)).toBe(true);
      expect(plainInputs(resource.inputs.serviceConnectionString)).toContain(
        "SharedAccessKeyName=provisioner;",
      );
      expect(appearsInClear(resource.inputs, FAKE_POLICY_KEY)).toBe(false);
      expect(resource.inputs.caCertificate).toBeUndefined();
    }
  });
});

describe("the program on the local target", () => {
  it("creates the provisioner policy in the local hub and no Azure resource", async () => {
    const run = await runProgram({ stack: "local", config: localConfig, engine: fakeCloud() });
    const policy = only(run.registrations, "pulumi-nodejs:dynamic/iothub:LocalHubPolicy");
    expect(policy.inputs).toMatchObject({
      stateDir: path.join(PROJECT_DIR, ".iothub-local"),
      policyName: "provisioner",
      rights: "RegistryWrite,ServiceConnect",
      hubCli: path.join(PROJECT_DIR, "bin", "iothub-local.js"),
    });
    expect(run.registrations.filter((registration) => registration.type.startsWith("azure-native:"))).toEqual(
      [],
    );
  });

  it("exports the same outputs as Azure plus caFile, and wires the hub's CA and MQTT gateway into the fleet", async () => {
    const run = await runProgram({
      stack: "local",
      config: { ...localConfig, localHub: { stateDir: "state/hub" }, policyName: "deployer" },
      engine: fakeCloud(),
    });
    expect(only(run.registrations, "pulumi-nodejs:dynamic/iothub:LocalHubPolicy").inputs).toMatchObject({
      stateDir: path.join(PROJECT_DIR, "state", "hub"),
      policyName: "deployer",
    });
    expect(run.outputs).toMatchObject({
      hostName: FAKE_LOCAL_HOST,
      serviceConnectionString: `HostName=${FAKE_LOCAL_HOST};SharedAccessKeyName=deployer;SharedAccessKey=${FAKE_POLICY_KEY}`,
      caFile: "/fake/state/ca.pem",
    });
    expect(Object.keys(run.outputs).sort()).toEqual([
      "caFile",
      "configurations",
      "deployments",
      "hostName",
      "modules",
      "serviceConnectionString",
    ]);
    expect(run.outputs).toMatchObject({ deployments: [], configurations: [] });
    expect(run.secretOutputs).toEqual(
      expect.arrayContaining(["serviceConnectionString", "modules[0].connectionString"]),
    );
    for (const type of REGISTRY_TYPES) {
      const resource = only(run.registrations, type);
      expect(resource.inputs.caCertificate).toBe(FAKE_CA_PEM);
      expect(resource.inputs.gatewayHostName).toBe(`${FAKE_LOCAL_HOST}:18883`);
      expect(isSecretInput(resource.inputs.serviceConnectionString)).toBe(true);
    }
  });
});

describe("the stack outputs contract", () => {
  it.each([
    ["dev", azureConfig],
    ["local", localConfig],
  ])("what the program exports on stack %s is what verify reads", async (stack, config) => {
    const run = await runProgram({ stack, config, engine: fakeCloud() });
    // as `pulumi stack output --json --show-secrets` prints them
    const read = parseStackOutputs(JSON.stringify(run.outputs), `stack ${stack}`);
    expect(read).toEqual(run.outputs);
    expect(read.modules).toEqual([
      expect.objectContaining({
        deviceId: "myFirstDevice",
        moduleId: "myFirstModule",
        desired: { telemetryInterval: 122 },
      }),
    ]);
  });
});

describe("secrets in the state", () => {
  const SECRET_OUTPUTS: Record<string, string[]> = {
    LocalHubPolicy: ["serviceConnectionString"],
    DeviceIdentity: ["primaryKey", "secondaryKey", "connectionString", "previousConnectionString"],
    ModuleIdentity: ["primaryKey", "secondaryKey", "connectionString", "previousConnectionString"],
  };

  it("every key and connection string a resource outputs is one the engine keeps secret", async () => {
    const run = await runProgram({
      stack: "local",
      config: { ...localConfig, devices: [{ ...tutorialDevices[0], tags: { a: 1 } }] },
      engine: fakeCloud(),
    });
    const dynamic = run.registrations.filter((registration) =>
      registration.type.startsWith("pulumi-nodejs:"),
    );
    expect(dynamic.map((registration) => registration.type.split(":").pop()).sort()).toEqual(
      ["DeviceIdentity", "DeviceTwin", "LocalHubPolicy", "ModuleIdentity", "ModuleTwin"].sort(),
    );
    for (const registration of dynamic) {
      const type = registration.type.split(":").pop()!;
      expect(registration.additionalSecretOutputs).toEqual(
        expect.arrayContaining(SECRET_OUTPUTS[type] ?? []),
      );
      // the hub's connection string is secret wherever it is an input (the engine re-marks the same output)
      if (type !== "LocalHubPolicy") {
        expect(
          isSecretInput(registration.inputs.serviceConnectionString) ||
            registration.additionalSecretOutputs.includes("serviceConnectionString"),
        ).toBe(true);
      }
    }
  });
});

describe("the fleet", () => {
  const key1 = Buffer.alloc(32, 1).toString("base64");
  const key2 = Buffer.alloc(32, 2).toString("base64");
  const fleetConfig = {
    ...localConfig,
    registry: { opsPerSecond: { registry: 1.5 }, maxAttempts: 4 },
    devices: [
      {
        deviceId: "sensor:01",
        parentDeviceId: "gateway",
        status: "disabled",
        statusReason: "not installed yet",
        tags: { site: "north" },
        desired: { firmware: "1.2" },
        authentication: { type: "sas", primaryKey: key1, secondaryKey: key2 },
        modules: [
          {
            moduleId: "temp",
            desired: { interval: 5 },
            authentication: { type: "sas", primaryKey: key2, secondaryKey: key1 },
          },
          { moduleId: "noTwin" },
        ],
      },
      { deviceId: "gateway", edgeEnabled: true },
      {
        deviceId: "x509-device",
        authentication: { type: "selfSigned", primaryThumbprint: "A".repeat(40) },
      },
    ],
  };

  it("names resources after the ids, URN-safe, and declares every identity and twin", async () => {
    const run = await runProgram({ stack: "local", config: fleetConfig, engine: fakeCloud() });
    const names = (type: string) =>
      byType(run.registrations, `pulumi-nodejs:dynamic/iothub:${type}`)
        .map((r) => r.name)
        .sort();
    expect(names("DeviceIdentity")).toEqual([
      "fleet-device-gateway",
      "fleet-device-sensor%3A01",
      "fleet-device-x509-device",
    ]);
    expect(names("DeviceTwin")).toEqual(["fleet-twin-sensor%3A01"]);
    expect(names("ModuleIdentity")).toEqual([
      "fleet-module-sensor%3A01/noTwin",
      "fleet-module-sensor%3A01/temp",
    ]);
    expect(names("ModuleTwin")).toEqual(["fleet-moduletwin-sensor%3A01/temp"]);
    for (const registration of run.registrations) expect(registration.name).not.toContain("::");

    const sensor = run.registrations.find((r) => r.name === "fleet-device-sensor%3A01")!;
    expect(plainInputs(sensor.inputs)).toMatchObject({
      deviceId: "sensor:01",
      status: "disabled",
      statusReason: "not installed yet",
      parentScope: "ms-azure-iot-edge://gateway-0001",
      registry: { opsPerSecond: { registry: 1.5 }, maxAttempts: 4 },
    });
    const twin = run.registrations.find((r) => r.name === "fleet-twin-sensor%3A01")!;
    expect(twin.inputs).toMatchObject({
      deviceId: "sensor:01",
      tags: { site: "north" },
      desired: { firmware: "1.2" },
    });
    const x509 = run.registrations.find((r) => r.name === "fleet-device-x509-device")!;
    expect(x509.inputs.authentication).toEqual({ type: "selfSigned", primaryThumbprint: "A".repeat(40) });

    expect(run.outputs.modules).toEqual([
      expect.objectContaining({ deviceId: "sensor:01", moduleId: "temp", desired: { interval: 5 } }),
      expect.objectContaining({ deviceId: "sensor:01", moduleId: "noTwin", desired: {} }),
    ]);
    expect(run.secretOutputs).toEqual(
      expect.arrayContaining(["modules[0].connectionString", "modules[1].connectionString"]),
    );
  });

  it.each([
    ["stored as config secrets", ["devices"]],
    ["written in clear in the stack file", []],
  ])("passes declared keys to the providers as secrets when %s", async (_case, secretKeys) => {
    const run = await runProgram({ stack: "local", config: fleetConfig, secretKeys, engine: fakeCloud() });
    const device = run.registrations.find((r) => r.name === "fleet-device-sensor%3A01")!;
    const module = run.registrations.find((r) => r.name === "fleet-module-sensor%3A01/temp")!;
    expect(plainInputs(device.inputs.authentication)).toEqual({
      type: "sas",
      primaryKey: key1,
      secondaryKey: key2,
    });
    expect(plainInputs(module.inputs.authentication)).toEqual({
      type: "sas",
      primaryKey: key2,
      secondaryKey: key1,
    });
    for (const registration of run.registrations) {
      expect(appearsInClear(registration.inputs, key1)).toBe(false);
      expect(appearsInClear(registration.inputs, key2)).toBe(false);
    }
  });
});

describe("key rotation in the stack config", () => {
  const key1 = Buffer.alloc(32, 1).toString("base64");
  const key2 = Buffer.alloc(32, 2).toString("base64");
  const rotationConfig = {
    ...localConfig,
    devices: [
      {
        deviceId: "rotating",
        rotation: 3,
        modules: [
          { moduleId: "inherits" },
          { moduleId: "own", rotation: 1 },
          { moduleId: "declared", authentication: { type: "sas", primaryKey: key1, secondaryKey: key2 } },
          { moduleId: "x509", authentication: { type: "selfSigned", primaryThumbprint: "A".repeat(40) } },
        ],
      },
    ],
  };

  it("gives the device its rotation and its modules the device's unless set or their keys are declared", async () => {
    const run = await runProgram({ stack: "local", config: rotationConfig, engine: fakeCloud() });
    const rotationOf = (name: string) =>
      (plainInputs(run.registrations.find((r) => r.name === name)!.inputs) as { rotation?: number }).rotation;
    expect(rotationOf("fleet-device-rotating")).toBe(3);
    expect(rotationOf("fleet-module-rotating/inherits")).toBe(3);
    expect(rotationOf("fleet-module-rotating/own")).toBe(1);
    expect(rotationOf("fleet-module-rotating/declared")).toBeUndefined();
    expect(rotationOf("fleet-module-rotating/x509")).toBeUndefined();
  });

  it("exports both connection strings of each SAS module as secrets, and no previous one for X.509", async () => {
    const run = await runProgram({ stack: "local", config: rotationConfig, engine: fakeCloud() });
    const modules = run.outputs.modules as Array<Record<string, unknown>>;
    expect(modules.map((module) => [module.moduleId, "previousConnectionString" in module])).toEqual([
      ["inherits", true],
      ["own", true],
      ["declared", true],
      ["x509", false],
    ]);
    expect(modules[0].previousConnectionString).toBe(
      `HostName=hub;DeviceId=rotating;ModuleId=inherits;SharedAccessKey=${FAKE_PREVIOUS_KEY}`,
    );
    expect(run.secretOutputs).toEqual(
      expect.arrayContaining(
        [0, 1, 2].flatMap((index) => [
          `modules[${index}].connectionString`,
          `modules[${index}].previousConnectionString`,
        ]),
      ),
    );
    expect(run.secretOutputs).not.toContain("modules[3].previousConnectionString");
  });

  it("refuses a rotation that is no whole number >= 0, or above 0 on an X.509 identity, naming the key", async () => {
    const cloud = fakeCloud();
    const error = await runProgram({
      stack: "local",
      config: {
        ...localConfig,
        devices: [
          { deviceId: "a", rotation: -1, modules: [{ moduleId: "m", rotation: 1.5 }] },
          { deviceId: "b", rotation: "2" },
          {
            deviceId: "c",
            rotation: 1,
            authentication: { type: "selfSigned", primaryThumbprint: "A".repeat(40) },
          },
        ],
      },
      engine: cloud,
    }).then(
      () => undefined,
      (thrown: unknown) => thrown as Error,
    );
    for (const expected of [
      "iothub-provisioner:devices[0].rotation: must be a whole number (0 or more)",
      "iothub-provisioner:devices[0].modules[0].rotation: must be a whole number (0 or more)",
      "iothub-provisioner:devices[1].rotation: must be a whole number (0 or more)",
      "iothub-provisioner:devices[2].rotation: applies to SAS identities only",
    ]) {
      expect(error?.message).toContain(expected);
    }
    expect(cloud.resourceCount()).toBe(0);
  });
});

describe("pulumi preview", () => {
  // As the engine previews: a resource's outputs are unknown until it exists, so nothing comes back but inputs.
  const previewEngine = () => {
    const calls: string[] = [];
    return {
      calls,
      newResource: async (args: { inputs: Record<string, unknown> }) => ({
        id: undefined,
        state: { ...args.inputs },
      }),
      call: (args: { token: string }) => {
        calls.push(args.token);
        return {};
      },
    };
  };

  it.each([
    ["dev", azureConfig],
    ["local", localConfig],
  ])("plans the same resources as an up on stack %s, before any output is known", async (stack, config) => {
    const up = await runProgram({ stack, config, engine: fakeCloud() });
    const engine = previewEngine();
    const preview = await runProgram({ stack, config, engine, preview: true });
    const planned = (run: { registrations: Registration[] }) =>
      run.registrations.map((registration) => `${registration.type} ${registration.name}`).sort();
    expect(planned(preview)).toEqual(planned(up));
    // the key listing needs the hub's name from Azure: it waits for the hub instead of running on unknowns
    expect(engine.calls).toEqual([]);
  });
});

describe("an invalid stack config", () => {
  it("stops the program before anything is created, naming every key path and rule at once", async () => {
    const cloud = fakeCloud();
    const error = await runProgram({
      stack: "local",
      config: {
        target: "local",
        policyName: "no spaces",
        devices: [
          { deviceId: "bad id", modules: [{ moduleId: "$edgeAgent" }, { moduleId: "m" }, { moduleId: "m" }] },
          {
            deviceId: "ok",
            authentication: { type: "sas", primaryKey: "c2hvcnQ=", secondaryKey: "c2hvcnQ=" },
          },
          { deviceId: "ok", desired: { "bad.key": 1 }, colour: "red" },
          {
            deviceId: "d3",
            status: "paused",
            statusReason: "r".repeat(129),
            authentication: { type: "selfSigned", primaryThumbprints: "A".repeat(40) },
          },
        ],
      },
      engine: cloud,
    }).then(
      () => undefined,
      (thrown: unknown) => thrown as Error,
    );
    expect(error).toBeInstanceOf(Error);
    const message = error!.message;
    for (const expected of [
      "iothub-provisioner:policyName: must be 1-64 letters",
      "iothub-provisioner:devices[0].deviceId: may contain only",
      "iothub-provisioner:devices[0].modules[0].moduleId: must not start with $",
      "iothub-provisioner:devices[0].modules[2].moduleId: must be unique on its device",
      "iothub-provisioner:devices[1].authentication.primaryKey: must decode to 16-64 bytes",
      "iothub-provisioner:devices[2].deviceId: must be unique",
      "iothub-provisioner:devices[2].desired.bad.key: property names must not contain",
      "iothub-provisioner:devices[2].colour: is not a known key (known keys: deviceId, status,",
      "iothub-provisioner:devices[3].status: must be enabled or disabled",
      "iothub-provisioner:devices[3].statusReason: must be at most 128 characters",
      "iothub-provisioner:devices[3].authentication.primaryThumbprint: is required for selfSigned authentication",
      "iothub-provisioner:devices[3].authentication.primaryThumbprints: is not a known key (did you mean primaryThumbprint?)",
    ]) {
      expect(message).toContain(expected);
    }
    expect(message).not.toContain("c2hvcnQ=");
    expect(cloud.resourceCount()).toBe(0);
  });

  it.each([
    [{ devices: tutorialDevices }, "iothub-provisioner:target: is required"],
    [{ target: "gcp" }, "iothub-provisioner:target: must be one of azure, local"],
    [{ target: "azure" }, "iothub-provisioner:hub: is required when target is azure"],
    [
      { target: "azure", hub: { name: "h-", resourceGroupName: "rg" } },
      "iothub-provisioner:hub.location: is required",
    ],
    [
      { ...azureConfig, policyName: "iothubowner", hub: { ...azureConfig.hub, ownerPolicy: true } },
      "iothub-provisioner:policyName: must not be iothubowner when hub.ownerPolicy is true",
    ],
    [
      { target: "local", registry: { opsPerSecond: 0 } },
      "iothub-provisioner:registry.opsPerSecond: must be a positive number",
    ],
    [
      { target: "local", devices: [{ deviceId: "child", parentDeviceId: "plain" }, { deviceId: "plain" }] },
      "iothub-provisioner:devices[0].parentDeviceId: must name an edge device",
    ],
    [
      { target: "local", registry: { burst: 0 } },
      "iothub-provisioner:registry.burst: must be a whole number of at least 1",
    ],
    [
      { target: "local", registry: { opsPerSecond: 2, brust: 20 } },
      "iothub-provisioner:registry.brust: is not a known key (did you mean burst?)",
    ],
    [
      { target: "local", devices: [{ deviceId: "d", desried: { a: 1 } }] },
      "iothub-provisioner:devices[0].desried: is not a known key (did you mean desired?)",
    ],
    [
      {
        target: "local",
        devices: [
          { deviceId: "a", edgeEnabled: true, parentDeviceId: "b" },
          { deviceId: "b", edgeEnabled: true, parentDeviceId: "a" },
        ],
      },
      'iothub-provisioner:devices[0].parentDeviceId: must not lead back to this device through other parents (a cycle: "a" -> "b" -> "a")',
    ],
  ])("%j is rejected: %s", async (config, expected) => {
    const cloud = fakeCloud();
    await expect(runProgram({ stack: "local", config, engine: cloud })).rejects.toThrow(expected);
    expect(cloud.resourceCount()).toBe(0);
  });

  // The program reads every key of its namespace: a misspelt one would otherwise leave its setting unread (a
  // misspelt `devices` deploys an empty fleet).
  it.each([
    ["device", [], "did you mean devices?"],
    ["Devices", [], "did you mean devices?"],
    ["policyname", "provisioner", "did you mean policyName?"],
    ["targt", "local", "did you mean target?"],
    ["hubs", {}, "did you mean hub?"],
    ["localhub", {}, "did you mean localHub?"],
    ["registery", {}, "did you mean registry?"],
    [
      "fleet",
      [],
      "known keys: target, hub, localHub, policyName, registry, devices, deployments, configurations, dps, enrollmentGroups, auth, entra",
    ],
  ])("refuses the unknown top-level key %s (%s)", async (key, value, suggestion) => {
    const cloud = fakeCloud();
    await expect(
      runProgram({ stack: "local", config: { ...localConfig, [key]: value }, engine: cloud }),
    ).rejects.toThrow(`iothub-provisioner:${key}: is not a known key (${suggestion})`);
    expect(cloud.resourceCount()).toBe(0);
  });

  it("names an unknown key without echoing its value, also when it is a config secret", async () => {
    const key = Buffer.alloc(32, 9).toString("base64");
    const cloud = fakeCloud();
    const error = await runProgram({
      stack: "local",
      config: { ...localConfig, primaryKey: key },
      secretKeys: ["primaryKey"],
      engine: cloud,
    }).then(
      () => undefined,
      (thrown: unknown) => thrown as Error,
    );
    expect(error?.message).toContain("iothub-provisioner:primaryKey: is not a known key");
    expect(error?.message).not.toContain(key);
  });

  it("reads other namespaces' keys as theirs, not as unknown keys of this program", async () => {
    const run = await runProgram({
      stack: "local",
      config: { ...localConfig, "azure-native:location": "westeurope" },
      engine: fakeCloud(),
    });
    expect(run.outputs.modules).toHaveLength(1);
  });

  it("says a module written at device level belongs under modules:, and reports a missing id once", async () => {
    const error = await runProgram({
      stack: "local",
      config: {
        target: "local",
        devices: [{ deviceId: "gateway" }, { moduleId: "sensor", desired: { interval: 5 } }],
      },
      engine: fakeCloud(),
    }).then(
      () => undefined,
      (thrown: unknown) => thrown as Error,
    );
    const lines = error!.message.split("\n").filter((line) => line.startsWith("  - "));
    expect(lines).toEqual([
      "  - iothub-provisioner:devices[1].deviceId: is required",
      "  - iothub-provisioner:devices[1].moduleId: is a module's key: a module belongs under its device's modules: list",
    ]);
  });

  it("requires the Azure hub settings on the azure target only", async () => {
    await expect(
      runProgram({
        stack: "dev",
        config: { target: "azure", devices: tutorialDevices },
        engine: fakeCloud(),
      }),
    ).rejects.toThrow("iothub-provisioner:hub: is required when target is azure");
    const local = await runProgram({ stack: "local", config: localConfig, engine: fakeCloud() });
    expect(local.outputs.hostName).toBe(FAKE_LOCAL_HOST);
  });
});

describe("the registry options", () => {
  it("passes burst with the pace to every registry resource, where the providers' pacing reads it", async () => {
    const registry = {
      opsPerSecond: { registry: 1.5, twinUpdate: 40 },
      burst: { registry: 100, twinUpdate: 5 },
    };
    const run = await runProgram({
      stack: "local",
      config: { ...localConfig, registry },
      engine: fakeCloud(),
    });
    for (const type of REGISTRY_TYPES) {
      const resource = only(run.registrations, type);
      const options = plainInputs(resource.inputs.registry) as Parameters<typeof paceFor>[0];
      expect(options).toEqual(registry);
      expect(paceFor(options, "registry")).toEqual({
        limiterName: "registry",
        opsPerSecond: 1.5,
        burst: 100,
      });
      expect(paceFor(options, "twinUpdate")).toEqual({
        limiterName: "twinUpdate",
        opsPerSecond: 40,
        burst: 5,
      });
    }
  });
});
