import { ModuleClient, type Twin } from "azure-iot-device";
import { Mqtt } from "azure-iot-device-mqtt";
import type { Props } from "../support/providerServer";
import { useProvidersOnHub } from "./providersOnHub";

/**
 * The registry providers driven the way the engine drives them (the real dynamic-provider server, the providers
 * as the SDK serializes them) against a real local hub, checked with the real service SDK.
 */
const suite = useProvidersOnHub();
/** What every resource takes to reach the hub, here with the MQTT port its connection strings name. */
let hubArgs: Props;

const KEY_A = Buffer.alloc(32, 7).toString("base64");
const KEY_B = Buffer.alloc(32, 8).toString("base64");

beforeAll(() => {
  hubArgs = {
    ...suite.hubArgs,
    gatewayHostName: `${suite.hub.info.hostName}:${suite.hub.info.mqttPort}`,
  };
});

/** check then create, as the engine does for a new resource. */
async function createResource(kind: string, inputs: Props): Promise<{ id: string; outs: Props }> {
  const checked = await suite.server.check(suite.texts[kind], {}, inputs);
  expect(checked.failures).toEqual([]);
  return suite.server.create(suite.texts[kind], checked.inputs);
}

/** Makes the hub fail the next `count` registry calls with `mode` (only calls naming `match`, when given). */
async function addRegistryFault(mode: string, count: number, match?: string): Promise<void> {
  const args = ["--mode", mode, "--count", String(count), ...(match ? ["--match", match] : [])];
  await suite.hub.cli("fault", "add", "registry", ...args);
}

function callCount(): number {
  return Object.values(suite.providerCalls()).reduce((a, b) => a + b, 0);
}

describe("DeviceIdentity", () => {
  it("creates a device with hub-generated keys and outputs its keys and connection string", async () => {
    const { id, outs } = await createResource("DeviceIdentity", { ...hubArgs, deviceId: "gen-keys" });
    const device = (await suite.registry.get("gen-keys")).responseBody;
    expect(id).toBe("gen-keys");
    expect(outs).toMatchObject({ deviceId: "gen-keys", status: "enabled", etag: device.etag });
    expect(outs.generationId).toBe(device.generationId);
    expect(outs.primaryKey).toBe(device.authentication?.symmetricKey?.primaryKey);
    expect(outs.connectionString).toBe(
      `HostName=${suite.hub.info.hostName};DeviceId=gen-keys;SharedAccessKey=${outs.primaryKey};` +
        `GatewayHostName=${suite.hub.info.hostName}:${suite.hub.info.mqttPort}`,
    );
  });

  it("is a no-op on a second up: diff reports no change and read reports no drift", async () => {
    const inputs = { ...hubArgs, deviceId: "steady" };
    const { outs } = await createResource("DeviceIdentity", inputs);
    expect((await suite.server.diff(suite.texts.DeviceIdentity, "steady", outs, inputs)).changes).toBe(
      "none",
    );
    const read = await suite.server.read(suite.texts.DeviceIdentity, "steady", outs);
    expect(read).toEqual({ id: "steady", props: outs });
  });

  it("uses given keys, and an update (disable) keeps them because it sends the full identity", async () => {
    const inputs = {
      ...hubArgs,
      deviceId: "given-keys",
      authentication: { type: "sas", primaryKey: KEY_A, secondaryKey: KEY_B },
    };
    const { outs } = await createResource("DeviceIdentity", inputs);
    expect(outs).toMatchObject({ primaryKey: KEY_A, secondaryKey: KEY_B });
    const disabled = { ...inputs, status: "disabled", statusReason: "maintenance" };
    expect((await suite.server.diff(suite.texts.DeviceIdentity, "given-keys", outs, disabled)).changes).toBe(
      "some",
    );
    const updated = await suite.server.update(suite.texts.DeviceIdentity, "given-keys", outs, disabled);
    const device = (await suite.registry.get("given-keys")).responseBody;
    expect(device.status).toBe("disabled");
    expect(device.authentication?.symmetricKey).toMatchObject({ primaryKey: KEY_A, secondaryKey: KEY_B });
    expect(updated).toMatchObject({ status: "disabled", statusReason: "maintenance", etag: device.etag });
  });

  it("keeps hub-generated keys across an update", async () => {
    const inputs = { ...hubArgs, deviceId: "kept-keys" };
    const { outs } = await createResource("DeviceIdentity", inputs);
    const updated = await suite.server.update(suite.texts.DeviceIdentity, "kept-keys", outs, {
      ...inputs,
      edgeEnabled: true,
    });
    const device = (await suite.registry.get("kept-keys")).responseBody;
    expect(device.capabilities?.iotEdge).toBe(true);
    expect(device.authentication?.symmetricKey?.primaryKey).toBe(outs.primaryKey);
    expect(updated.primaryKey).toBe(outs.primaryKey);
  });

  it("creates X.509 devices (self-signed thumbprints, CA-signed) whose connection strings say x509", async () => {
    const thumbprint = "A".repeat(40);
    const selfSigned = await createResource("DeviceIdentity", {
      ...hubArgs,
      deviceId: "x509-self",
      authentication: {
        type: "selfSigned",
        primaryThumbprint: thumbprint,
        secondaryThumbprint: "B".repeat(64),
      },
    });
    const device = (await suite.registry.get("x509-self")).responseBody;
    expect((device.authentication as { type?: string }).type).toBe("selfSigned");
    expect(device.authentication?.x509Thumbprint?.primaryThumbprint).toBe(thumbprint);
    expect(selfSigned.outs).toMatchObject({
      authenticationType: "selfSigned",
      primaryThumbprint: thumbprint,
    });
    expect(selfSigned.outs.primaryKey).toBeUndefined();
    expect(selfSigned.outs.connectionString).toContain(";DeviceId=x509-self;x509=true");
    const inputs = { ...hubArgs, deviceId: "x509-ca", authentication: { type: "certificateAuthority" } };
    const ca = await createResource("DeviceIdentity", inputs);
    const caDevice = (await suite.registry.get("x509-ca")).responseBody;
    expect((caDevice.authentication as { type?: string }).type).toBe("certificateAuthority");
    expect((await suite.server.diff(suite.texts.DeviceIdentity, "x509-ca", ca.outs, inputs)).changes).toBe(
      "none",
    );
  });

  it("refuses to create over an existing device, explaining adopt; adopts it when asked", async () => {
    await suite.registry.create({ deviceId: "pre-existing" });
    const before = (await suite.registry.get("pre-existing")).responseBody;
    const inputs = { ...hubArgs, deviceId: "pre-existing", status: "disabled" };
    await expect(suite.server.create(suite.texts.DeviceIdentity, inputs)).rejects.toMatchObject({
      details: expect.stringContaining("set `adopt: true`"),
    });
    const { outs } = await suite.server.create(suite.texts.DeviceIdentity, { ...inputs, adopt: true });
    const after = (await suite.registry.get("pre-existing")).responseBody;
    expect(after.status).toBe("disabled");
    expect(after.authentication?.symmetricKey?.primaryKey).toBe(
      before.authentication?.symmetricKey?.primaryKey,
    );
    expect(outs).toMatchObject({
      status: "disabled",
      primaryKey: before.authentication?.symmetricKey?.primaryKey,
    });
  });

  it("sees a device disabled out of band (refresh) and brings it back (up)", async () => {
    const inputs = { ...hubArgs, deviceId: "drifting" };
    const { outs } = await createResource("DeviceIdentity", inputs);
    const device = (await suite.registry.get("drifting")).responseBody;
    await suite.registry.update({ ...device, status: "disabled" } as never);
    const refreshed = await suite.server.read(suite.texts.DeviceIdentity, "drifting", outs);
    expect(refreshed.props.status).toBe("disabled");
    expect(
      (await suite.server.diff(suite.texts.DeviceIdentity, "drifting", refreshed.props, inputs)).changes,
    ).toBe("some");
    await suite.server.update(suite.texts.DeviceIdentity, "drifting", refreshed.props, inputs);
    expect((await suite.registry.get("drifting")).responseBody.status).toBe("enabled");
  });

  it("reports a device deleted out of band as gone, and deleting it again succeeds", async () => {
    const { outs } = await createResource("DeviceIdentity", { ...hubArgs, deviceId: "vanishing" });
    await suite.registry.delete("vanishing");
    expect((await suite.server.read(suite.texts.DeviceIdentity, "vanishing", outs)).id).toBe("");
    await expect(suite.server.delete(suite.texts.DeviceIdentity, "vanishing", outs)).resolves.toBeUndefined();
  });

  it("deletes the device", async () => {
    const { outs } = await createResource("DeviceIdentity", { ...hubArgs, deviceId: "doomed" });
    await suite.server.delete(suite.texts.DeviceIdentity, "doomed", outs);
    await expect(suite.registry.get("doomed")).rejects.toMatchObject({ name: "DeviceNotFoundError" });
  });

  it("retries injected 503s and succeeds", async () => {
    await addRegistryFault("503", 2);
    const before = callCount();
    const { outs } = await createResource("DeviceIdentity", { ...hubArgs, deviceId: "after-503s" });
    expect(outs.deviceId).toBe("after-503s");
    expect(callCount() - before).toBe(3);
    await suite.hub.cli("fault", "clear");
  });

  it("retries a reset connection and ends with the device created once", async () => {
    await addRegistryFault("reset", 1, "after-reset");
    const { outs } = await createResource("DeviceIdentity", { ...hubArgs, deviceId: "after-reset" });
    const device = (await suite.registry.get("after-reset")).responseBody;
    expect(outs.primaryKey).toBe(device.authentication?.symmetricKey?.primaryKey);
    await suite.hub.cli("fault", "clear");
  });
});

describe("a hub that never answers", () => {
  it("times the call out and retries it", async () => {
    await addRegistryFault("hang", 1, "after-hang");
    const inputs = { ...hubArgs, deviceId: "after-hang", registry: { requestTimeoutMs: 1000 } };
    const { outs } = await createResource("DeviceIdentity", inputs);
    expect((await suite.registry.get("after-hang")).responseBody.etag).toBe(outs.etag);
    await suite.hub.cli("fault", "clear");
  });
});

describe("ModuleIdentity", () => {
  it("creates, reads and deletes a module; its connection string names the module", async () => {
    await createResource("DeviceIdentity", { ...hubArgs, deviceId: "with-module" });
    const inputs = { ...hubArgs, deviceId: "with-module", moduleId: "sensor", managedBy: "fleet" };
    const { id, outs } = await createResource("ModuleIdentity", inputs);
    const module = (await suite.registry.getModule("with-module", "sensor")).responseBody;
    expect(id).toBe("with-module/sensor");
    expect(outs).toMatchObject({
      managedBy: "fleet",
      primaryKey: module.authentication?.symmetricKey?.primaryKey,
    });
    expect(outs.connectionString).toContain(";DeviceId=with-module;ModuleId=sensor;SharedAccessKey=");
    expect((await suite.server.diff(suite.texts.ModuleIdentity, id, outs, inputs)).changes).toBe("none");
    await suite.server.delete(suite.texts.ModuleIdentity, id, outs);
    expect((await suite.server.read(suite.texts.ModuleIdentity, id, outs)).id).toBe("");
    await expect(suite.server.delete(suite.texts.ModuleIdentity, id, outs)).resolves.toBeUndefined();
  });

  it("refuses an existing module without adopt and adopts it with adopt", async () => {
    await createResource("DeviceIdentity", { ...hubArgs, deviceId: "module-adopt" });
    await suite.registry.addModule({ deviceId: "module-adopt", moduleId: "m" } as never);
    const inputs = { ...hubArgs, deviceId: "module-adopt", moduleId: "m", managedBy: "me" };
    await expect(suite.server.create(suite.texts.ModuleIdentity, inputs)).rejects.toMatchObject({
      details: expect.stringContaining("adopt: true"),
    });
    const { outs } = await suite.server.create(suite.texts.ModuleIdentity, { ...inputs, adopt: true });
    expect((await suite.registry.getModule("module-adopt", "m")).responseBody.managedBy).toBe("me");
    expect(outs.managedBy).toBe("me");
  });
});

describe("ModuleTwin", () => {
  const ids = { deviceId: "twinned", moduleId: "m" };

  beforeAll(async () => {
    await createResource("DeviceIdentity", { ...hubArgs, deviceId: ids.deviceId });
    await createResource("ModuleIdentity", { ...hubArgs, ...ids });
  });

  const desiredOnHub = async (): Promise<Record<string, unknown>> => {
    const twin = (await suite.registry.getModuleTwin(ids.deviceId, ids.moduleId)).responseBody;
    const desired = { ...(twin.properties.desired as Record<string, unknown>) };
    delete desired.$metadata;
    delete desired.$version;
    return desired;
  };

  it("owns only its keys: removed keys are deleted, others' keys survive, a stale etag is re-based", async () => {
    const inputs = { ...hubArgs, ...ids, desired: { interval: 10, net: { host: "a", port: 1 } } };
    const created = await createResource("ModuleTwin", inputs);
    expect(created.outs).toMatchObject({ desired: inputs.desired, version: expect.any(Number) });
    // another writer: moves the twin's etag past the one in state
    await suite.registry.updateModuleTwin(
      ids.deviceId,
      ids.moduleId,
      { properties: { desired: { other: "theirs" } } },
      "*",
    );
    const next = { ...inputs, desired: { net: { port: 2 } } };
    expect((await suite.server.diff(suite.texts.ModuleTwin, created.id, created.outs, next)).changes).toBe(
      "some",
    );
    const callsBefore = callCount();
    const updated = await suite.server.update(suite.texts.ModuleTwin, created.id, created.outs, next);
    expect(await desiredOnHub()).toEqual({ other: "theirs", net: { port: 2 } });
    expect(callCount() - callsBefore).toBe(3); // PATCH with the stale etag (412), GET, PATCH
    expect(updated.desired).toEqual({ net: { port: 2 } });
    expect((await suite.server.diff(suite.texts.ModuleTwin, created.id, updated, next)).changes).toBe("none");

    // drift: someone changes an owned key
    await suite.registry.updateModuleTwin(
      ids.deviceId,
      ids.moduleId,
      { properties: { desired: { net: { port: 9 } } } },
      "*",
    );
    const refreshed = await suite.server.read(suite.texts.ModuleTwin, created.id, updated);
    expect(refreshed.props.desired).toEqual({ net: { port: 9 } });
    expect((await suite.server.diff(suite.texts.ModuleTwin, created.id, refreshed.props, next)).changes).toBe(
      "some",
    );
    const restored = await suite.server.update(suite.texts.ModuleTwin, created.id, refreshed.props, next);
    expect(await desiredOnHub()).toEqual({ other: "theirs", net: { port: 2 } });

    // destroy removes only the owned keys
    await suite.server.delete(suite.texts.ModuleTwin, created.id, restored);
    expect(await desiredOnHub()).toEqual({ other: "theirs" });
  });
});

describe("DeviceTwin", () => {
  it("owns its tags and desired keys only", async () => {
    await createResource("DeviceIdentity", { ...hubArgs, deviceId: "tagged" });
    await suite.registry.updateTwin("tagged", { tags: { owner: "ops" } }, "*");
    const inputs = {
      ...hubArgs,
      deviceId: "tagged",
      tags: { site: "north", floor: 2 },
      desired: { mode: "eco" },
    };
    const created = await createResource("DeviceTwin", inputs);
    const next = { ...inputs, tags: { site: "south" } };
    await suite.server.update(suite.texts.DeviceTwin, created.id, created.outs, next);
    const twin = (await suite.registry.getTwin("tagged")).responseBody;
    expect(twin.tags).toEqual({ owner: "ops", site: "south" });
    expect((twin.properties.desired as Record<string, unknown>).mode).toBe("eco");
  });
});

describe("a module's connection string from the outputs", () => {
  it("connects with ModuleClient over MQTT and sees the desired properties the providers set", async () => {
    const ids = { deviceId: "field-device", moduleId: "agent" };
    await createResource("DeviceIdentity", { ...hubArgs, deviceId: ids.deviceId });
    const { outs } = await createResource("ModuleIdentity", { ...hubArgs, ...ids });
    await createResource("ModuleTwin", { ...hubArgs, ...ids, desired: { sampling: { everySeconds: 5 } } });
    const client = ModuleClient.fromConnectionString(outs.connectionString as string, Mqtt);
    try {
      await client.setOptions({ ca: suite.caPem });
      await client.open();
      const twin: Twin = await client.getTwin();
      expect(twin.properties.desired.sampling).toEqual({ everySeconds: 5 });
    } finally {
      await client.close();
    }
  });
});
