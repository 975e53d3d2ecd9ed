import { serializedProviders, startProviderServer, type ProviderServer } from "../support/providerServer";

/** check() and diff() through the real dynamic-provider server; neither calls the hub. */
const hubConnection = {
  serviceConnectionString:
    "HostName=hub.example;SharedAccessKeyName=provisioner;SharedAccessKey=" + "A".repeat(44),
};
const KEY_A = Buffer.alloc(32, 1).toString("base64");
const KEY_B = Buffer.alloc(32, 2).toString("base64");

let server: ProviderServer;
let providers: Record<string, string>;

beforeAll(async () => {
  [server, providers] = await Promise.all([startProviderServer(), serializedProviders()]);
});
afterAll(() => server?.stop());

describe("check", () => {
  it("accepts valid inputs unchanged", async () => {
    const news = {
      ...hubConnection,
      deviceId: "dev-1",
      authentication: { type: "sas", primaryKey: KEY_A, secondaryKey: KEY_B },
    };
    const result = await server.check(providers.DeviceIdentity, {}, news);
    expect(result.failures).toEqual([]);
    expect(result.inputs).toMatchObject(news);
  });

  it.each([
    ["DeviceIdentity", { deviceId: "x".repeat(129) }, "deviceId", "at most 128 characters"],
    ["DeviceIdentity", { deviceId: "has space" }, "deviceId", "may contain only"],
    [
      "DeviceIdentity",
      { deviceId: "d", authentication: { type: "sas", primaryKey: KEY_A } },
      "authentication.secondaryKey",
      "both keys",
    ],
    [
      "DeviceIdentity",
      { deviceId: "d", authentication: { type: "sas", primaryKey: "bm90LWEta2V5", secondaryKey: KEY_B } },
      "authentication.primaryKey",
      "16-64 bytes",
    ],
    [
      "DeviceIdentity",
      { deviceId: "d", authentication: { type: "selfSigned", primaryThumbprint: "abc" } },
      "authentication.primaryThumbprint",
      "40 hex",
    ],
    [
      "DeviceIdentity",
      { deviceId: "d", authentication: { type: "selfSigned" } },
      "authentication.primaryThumbprint",
      "is required for selfSigned authentication",
    ],
    [
      "ModuleIdentity",
      { deviceId: "d", moduleId: "m", authentication: { type: "sas", primaryKye: KEY_A } },
      "authentication.primaryKye",
      "is not a known key (did you mean primaryKey?)",
    ],
    [
      "DeviceIdentity",
      { deviceId: "d", authentication: { type: "password" } },
      "authentication.type",
      "must be one of sas, selfSigned, certificateAuthority",
    ],
    ["DeviceIdentity", { deviceId: "d", status: "paused" }, "status", "must be enabled or disabled"],
    [
      "DeviceIdentity",
      { deviceId: "d", statusReason: "r".repeat(129) },
      "statusReason",
      "must be at most 128 characters",
    ],
    ["ModuleIdentity", { deviceId: "d", moduleId: "$edgeAgent" }, "moduleId", "must not start with $"],
    [
      "ModuleTwin",
      { deviceId: "d", moduleId: "m", desired: { "a.b": 1 } },
      "desired.a.b",
      "must not contain",
    ],
    [
      "ModuleTwin",
      { deviceId: "d", moduleId: "m", desired: { s: "x".repeat(4097) } },
      "desired.s",
      "at most 4096 bytes",
    ],
    [
      "DeviceTwin",
      { deviceId: "d", tags: { big: "x".repeat(4000), more: "y".repeat(4000), most: "z".repeat(300) } },
      "tags",
      "at most 8192 bytes",
    ],
    [
      "ModuleIdentity",
      {
        deviceId: "d",
        moduleId: "m",
        caCertificate: "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
      },
      "caCertificate",
      "not a readable X.509 certificate",
    ],
    [
      "DeviceTwin",
      {
        deviceId: "d",
        serviceConnectionString:
          "HostName=hub.example:8443;SharedAccessKeyName=p;SharedAccessKey=" + "A".repeat(44),
      },
      "serviceConnectionString",
      "must not carry a port",
    ],
    [
      "DeviceIdentity",
      { deviceId: "d", registry: { opsPerSecond: -1 } },
      "registry.opsPerSecond",
      "positive number",
    ],
  ])("%s %j fails naming the resource, %s and the rule", async (resource, inputs, field, rule) => {
    const { failures } = await server.check(providers[resource], {}, { ...hubConnection, ...inputs });
    const failure = failures.find((f) => f.reason.includes(`: ${field}: `));
    expect(failure?.reason).toContain(rule);
    expect(failure?.reason).toMatch(
      /^(device|module|module twin|device twin) "d|^device "x+"|^device "has space"/,
    );
    expect(failure?.property).toBe(field.split(/[.[]/)[0]);
  });

  it("rejects a connection string without a key, without quoting it", async () => {
    const secretish = "HostName=h;SharedAccessKeyName=p";
    const { failures } = await server.check(
      providers.DeviceIdentity,
      {},
      { serviceConnectionString: secretish, deviceId: "d" },
    );
    expect(failures).toEqual([
      {
        property: "serviceConnectionString",
        reason: 'device "d": serviceConnectionString: must hold SharedAccessKey (Key=Value;...)',
      },
    ]);
  });
});

describe("preview of values not known yet", () => {
  const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"; // the engine's placeholder

  it("checks what is known and leaves unknown fields for later", async () => {
    const news = { serviceConnectionString: unknown, deviceId: "x".repeat(129), authentication: unknown };
    const { failures } = await server.check(providers.DeviceIdentity, {}, news);
    expect(failures.map((f) => f.property)).toEqual(["deviceId"]);
    const twin = await server.check(
      providers.ModuleTwin,
      {},
      { serviceConnectionString: unknown, deviceId: "d", moduleId: "m", desired: unknown },
    );
    expect(twin.failures).toEqual([]);
  });

  it("does not replace for a connection string not known yet", async () => {
    const olds = { ...hubConnection, deviceId: "d", moduleId: "m", desired: { a: 1 }, version: 1, etag: "e" };
    const news = { serviceConnectionString: unknown, deviceId: "d", moduleId: "m", desired: { a: 1 } };
    expect(await server.diff(providers.ModuleTwin, "d/m", olds, news)).toEqual({
      changes: "some",
      replaces: [],
      deleteBeforeReplace: false,
    });
  });
});

describe("diff", () => {
  const oldDevice = {
    ...hubConnection,
    deviceId: "dev-1",
    hostName: "hub.example",
    status: "enabled",
    edgeEnabled: false,
    authenticationType: "sas",
    primaryKey: KEY_A,
    secondaryKey: KEY_B,
    etag: "e1",
    generationId: "g1",
    connectionString: "HostName=hub.example;DeviceId=dev-1;SharedAccessKey=" + KEY_A,
  };

  it("reports no change when nothing changed (a second up is a no-op)", async () => {
    const result = await server.diff(providers.DeviceIdentity, "dev-1", oldDevice, {
      ...hubConnection,
      deviceId: "dev-1",
    });
    expect(result).toEqual({ changes: "none", replaces: [], deleteBeforeReplace: false });
  });

  it("updates in place when the status or declared keys change", async () => {
    for (const news of [
      { ...hubConnection, deviceId: "dev-1", status: "disabled" },
      {
        ...hubConnection,
        deviceId: "dev-1",
        authentication: { type: "sas", primaryKey: KEY_B, secondaryKey: KEY_A },
      },
      { ...hubConnection, deviceId: "dev-1", edgeEnabled: true },
    ]) {
      expect(await server.diff(providers.DeviceIdentity, "dev-1", oldDevice, news)).toEqual({
        changes: "some",
        replaces: [],
        deleteBeforeReplace: false,
      });
    }
  });

  it("replaces when the id or the hub changes", async () => {
    const renamed = await server.diff(providers.DeviceIdentity, "dev-1", oldDevice, {
      ...hubConnection,
      deviceId: "dev-2",
    });
    expect(renamed.replaces).toEqual(["deviceId"]);
    const otherHub = await server.diff(providers.DeviceIdentity, "dev-1", oldDevice, {
      serviceConnectionString: hubConnection.serviceConnectionString.replace("hub.example", "other.example"),
      deviceId: "dev-1",
    });
    expect(otherHub.replaces).toEqual(["serviceConnectionString"]);
  });

  it("updates a twin when a desired key changes and replaces it when the module changes", async () => {
    const olds = { ...hubConnection, deviceId: "d", moduleId: "m", desired: { a: 1 }, version: 2, etag: "e" };
    const same = await server.diff(providers.ModuleTwin, "d/m", olds, {
      ...hubConnection,
      deviceId: "d",
      moduleId: "m",
      desired: { a: 1 },
    });
    expect(same.changes).toBe("none");
    const changed = await server.diff(providers.ModuleTwin, "d/m", olds, {
      ...hubConnection,
      deviceId: "d",
      moduleId: "m",
      desired: { a: 2 },
    });
    expect(changed).toEqual({ changes: "some", replaces: [], deleteBeforeReplace: false });
    const moved = await server.diff(providers.ModuleTwin, "d/m", olds, {
      ...hubConnection,
      deviceId: "d",
      moduleId: "m2",
      desired: { a: 1 },
    });
    expect(moved.replaces).toEqual(["moduleId"]);
  });
});

describe("rotation", () => {
  const device = { ...hubConnection, deviceId: "dev-r" };
  const stored = (rotation: number) => ({
    ...device,
    rotation,
    hostName: "hub.example",
    authenticationType: "sas",
    primaryKey: KEY_A,
    secondaryKey: KEY_B,
    etag: "e1",
    generationId: "g1",
    connectionString: "HostName=hub.example;DeviceId=dev-r;SharedAccessKey=" + KEY_A,
  });

  it.each([
    [2, 1, "must not be lowered (the state is at rotation 2, the declaration at 1)"],
    [2, 0, "must not be lowered"],
    [1, 3, "must rise by one at a time (the state is at rotation 1, the declaration at 3)"],
    [0, 2, "must rise by one at a time"],
  ])("from %i to %i is refused in check and in diff: %s", async (from, to, rule) => {
    const { failures } = await server.check(
      providers.DeviceIdentity,
      { ...device, rotation: from },
      { ...device, rotation: to },
    );
    expect(failures).toEqual([
      { property: "rotation", reason: expect.stringContaining(`rotation: ${rule}`) },
    ]);
    expect(failures[0].reason).toMatch(/^device "dev-r": rotation: /);
    await expect(
      server.diff(providers.DeviceIdentity, "dev-r", stored(from), { ...device, rotation: to }),
    ).rejects.toThrow(`device "dev-r": rotation: ${rule}`);
  });

  it("accepts the same rotation (no change) and one more (an update, never a replace)", async () => {
    expect(
      (await server.check(providers.DeviceIdentity, { ...device, rotation: 1 }, { ...device, rotation: 2 }))
        .failures,
    ).toEqual([]);
    expect(
      await server.diff(providers.DeviceIdentity, "dev-r", stored(1), { ...device, rotation: 1 }),
    ).toEqual({
      changes: "none",
      replaces: [],
      deleteBeforeReplace: false,
    });
    expect(
      await server.diff(providers.DeviceIdentity, "dev-r", stored(1), { ...device, rotation: 2 }),
    ).toEqual({
      changes: "some",
      replaces: [],
      deleteBeforeReplace: false,
    });
  });

  it("lets a new resource start at any rotation", async () => {
    const { failures } = await server.check(
      providers.ModuleIdentity,
      {},
      { ...device, moduleId: "m", rotation: 5 },
    );
    expect(failures).toEqual([]);
  });

  it.each([
    [-1, "rotation: must be a whole number (0 or more)"],
    [1.5, "rotation: must be a whole number (0 or more)"],
    ["2", "rotation: must be a whole number (0 or more)"],
  ])("refuses rotation %j: %s", async (rotation, rule) => {
    const { failures } = await server.check(
      providers.ModuleIdentity,
      {},
      { ...device, moduleId: "m", rotation },
    );
    expect(failures).toEqual([{ property: "rotation", reason: `module "dev-r/m": ${rule}` }]);
  });

  it("refuses a rotation above 0 on an X.509 identity", async () => {
    const { failures } = await server.check(
      providers.DeviceIdentity,
      {},
      { ...device, rotation: 1, authentication: { type: "selfSigned", primaryThumbprint: "A".repeat(40) } },
    );
    expect(failures).toEqual([
      {
        property: "rotation",
        reason: expect.stringMatching(/^device "dev-r": rotation: applies to SAS identities only/),
      },
    ]);
  });
});
