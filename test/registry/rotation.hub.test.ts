import { Message, type ModuleClient, type Twin } from "azure-iot-device";
import { parseConnectionString } from "../../lib/iothub/sas";
import { openModuleClient } from "../../verify/moduleClient";
import {
  connected,
  end,
  listenForDesired,
  openDeviceClientWithCertificate,
  rawMqttClient,
  selfSignedCertificate,
} from "../local-hub/mqttSupport";
import type { Props, ProviderCallError } from "../support/providerServer";
import { useProvidersOnHub } from "./providersOnHub";

/**
 * Key rotation (`rotation: N`) through the real dynamic-provider server against a real local hub: what the
 * registry holds after each step, what the outputs carry, and what a module in the field sees meanwhile.
 */
const suite = useProvidersOnHub();
let hubArgs: Props;

const KEY_A = Buffer.alloc(32, 11).toString("base64");
const KEY_B = Buffer.alloc(32, 12).toString("base64");
const KEY_C = Buffer.alloc(32, 13).toString("base64");

beforeAll(() => {
  hubArgs = {
    ...suite.hubArgs,
    gatewayHostName: `${suite.hub.info.hostName}:${suite.hub.info.mqttPort}`,
  };
});

/** check then create, as the engine does for a new resource. */
async function create(kind: string, inputs: Props): Promise<Props> {
  const checked = await suite.server.check(suite.texts[kind], {}, inputs);
  expect(checked.failures).toEqual([]);
  return (await suite.server.create(suite.texts[kind], checked.inputs)).outs;
}

/** check, diff, update, as the engine does for a changed resource: the new outputs. */
async function up(
  kind: string,
  id: string,
  olds: { inputs: Props; outs: Props },
  news: Props,
): Promise<Props> {
  const checked = await suite.server.check(suite.texts[kind], olds.inputs, news);
  expect(checked.failures).toEqual([]);
  expect((await suite.server.diff(suite.texts[kind], id, olds.outs, news)).changes).toBe("some");
  return suite.server.update(suite.texts[kind], id, olds.outs, news);
}

const keyOf = (connectionString: unknown): string =>
  parseConnectionString(connectionString as string).SharedAccessKey ?? "";

async function moduleKeys(deviceId: string, moduleId: string) {
  const module = (await suite.registry.getModule(deviceId, moduleId)).responseBody;
  return module.authentication?.symmetricKey;
}

/** A module client that counts the times the SDK gave up ('disconnect': its retries did not bring it back). */
async function fieldClient(
  connectionString: unknown,
): Promise<{ client: ModuleClient; twin: Twin; gaveUp: () => number }> {
  const client = await openModuleClient(connectionString as string, suite.caPem);
  let gaveUp = 0;
  client.on("disconnect", () => gaveUp++);
  const twin = await client.getTwin();
  return { client, twin, gaveUp: () => gaveUp };
}

/** The module is connected and served: a telemetry message goes out and a desired patch set now comes in. */
async function stillServed(
  field: { client: ModuleClient; twin: Twin },
  ids: { deviceId: string; moduleId: string },
  marker: string,
) {
  await field.client.sendEvent(new Message(marker));
  const received = new Promise<unknown>((resolve) => {
    const listener = (patch: Record<string, unknown>) => {
      if (patch.marker !== marker) return;
      field.twin.removeListener("properties.desired", listener);
      resolve(patch.marker);
    };
    field.twin.on("properties.desired", listener);
  });
  const twin = (await suite.registry.getModuleTwin(ids.deviceId, ids.moduleId)).responseBody;
  await suite.registry.updateModuleTwin(
    ids.deviceId,
    ids.moduleId,
    { properties: { desired: { marker } } },
    twin.etag,
  );
  expect(await received).toBe(marker);
}

/** A CONNECT of the module signed with `key`: resolves with the CONNACK's refusal code, or 0 when accepted. */
async function connackWith(ids: { deviceId: string; moduleId: string }, key: string): Promise<number> {
  const raw = rawMqttClient(suite.hub.info, { ...ids, key });
  try {
    await connected(raw);
    return 0;
  } catch (error) {
    return (error as { code?: number }).code ?? -1;
  } finally {
    await end(raw);
  }
}

describe("rotation of hub-generated keys", () => {
  it("three rotations in a row: each replaces the key not in use, the module in the field stays served", async () => {
    const ids = { deviceId: "rot-field", moduleId: "agent" };
    const id = `${ids.deviceId}/${ids.moduleId}`;
    await create("DeviceIdentity", { ...hubArgs, deviceId: ids.deviceId });
    let inputs: Props = { ...hubArgs, ...ids };
    let outs = await create("ModuleIdentity", inputs);
    expect(keyOf(outs.connectionString)).toBe(outs.primaryKey);
    expect(keyOf(outs.previousConnectionString)).toBe(outs.secondaryKey);

    let field = await fieldClient(outs.connectionString);
    await listenForDesired(field.twin, () => undefined);
    const retired: string[] = [];
    try {
      for (const rotation of [1, 2, 3]) {
        const before = outs;
        const news = { ...inputs, rotation };
        const dropped = suite.hub.waitForOutput(/dropping rot-field\/agent \(credentialsChanged\)/);
        outs = await up("ModuleIdentity", id, { inputs, outs }, news);
        inputs = news;

        // The key active until now stays; the other slot holds a new key, and it is active.
        const active = rotation % 2 === 1 ? "secondaryKey" : "primaryKey";
        const kept = rotation % 2 === 1 ? "primaryKey" : "secondaryKey";
        expect(outs[kept]).toBe(before[kept]);
        expect(outs[active]).not.toBe(before[active]);
        expect(keyOf(outs.connectionString)).toBe(outs[active]);
        expect(keyOf(outs.previousConnectionString)).toBe(keyOf(before.connectionString));
        // The registry holds exactly the keys of the outputs, and a refresh sees no drift.
        expect(await moduleKeys(ids.deviceId, ids.moduleId)).toEqual({
          primaryKey: outs.primaryKey,
          secondaryKey: outs.secondaryKey,
        });
        expect(await suite.server.read(suite.texts.ModuleIdentity, id, outs)).toEqual({ id, props: outs });

        // The hub dropped the module's connection as the keys changed; the module, on the key it had, is served
        // again: the SDK reconnected by itself, without giving up.
        await dropped;
        await stillServed(field, ids, `after-rotation-${rotation}`);
        expect(field.gaveUp()).toBe(0);
        // The key retired by this rotation is refused: CONNACK 5, not authorized.
        for (const key of retired.splice(0)) expect(await connackWith(ids, key)).toBe(5);
        retired.push(keyOf(before.connectionString));

        // This rotation's outputs connect: the device in the field moves to the new active key.
        await field.client.close();
        field = await fieldClient(outs.connectionString);
        await listenForDesired(field.twin, () => undefined);
        await stillServed(field, ids, `on-key-of-rotation-${rotation}`);
      }
    } finally {
      await field.client.close();
    }
  });

  it("connects with the previous key after a rotation, and is refused with it after the next", async () => {
    const ids = { deviceId: "rot-previous", moduleId: "m" };
    const id = `${ids.deviceId}/${ids.moduleId}`;
    await create("DeviceIdentity", { ...hubArgs, deviceId: ids.deviceId });
    const inputs0 = { ...hubArgs, ...ids };
    const outs0 = await create("ModuleIdentity", inputs0);
    const inputs1 = { ...inputs0, rotation: 1 };
    const outs1 = await up("ModuleIdentity", id, { inputs: inputs0, outs: outs0 }, inputs1);

    const previous = await openModuleClient(outs1.previousConnectionString as string, suite.caPem);
    await previous.sendEvent(new Message("previous key"));
    await previous.close();

    await up("ModuleIdentity", id, { inputs: inputs1, outs: outs1 }, { ...inputs1, rotation: 2 });
    expect(await connackWith(ids, keyOf(outs1.previousConnectionString))).toBe(5);
    expect(await connackWith(ids, keyOf(outs1.connectionString))).toBe(0);
  });

  it("rotates a device's keys the same way; its outputs name the active and the previous key", async () => {
    const inputs0 = { ...hubArgs, deviceId: "rot-device" };
    const outs0 = await create("DeviceIdentity", inputs0);
    const inputs1 = { ...inputs0, rotation: 1 };
    const outs1 = await up("DeviceIdentity", "rot-device", { inputs: inputs0, outs: outs0 }, inputs1);
    const device = (await suite.registry.get("rot-device")).responseBody;
    expect(device.authentication?.symmetricKey).toEqual({
      primaryKey: outs0.primaryKey,
      secondaryKey: outs1.secondaryKey,
    });
    expect(outs1.secondaryKey).not.toBe(outs0.secondaryKey);
    expect(keyOf(outs1.connectionString)).toBe(outs1.secondaryKey);
    expect(keyOf(outs1.previousConnectionString)).toBe(outs0.primaryKey);
    expect(outs1.etag).toBe(device.etag);
  });

  it("refuses a rotation when the identity changed in the hub since the state was written, changing nothing", async () => {
    const ids = { deviceId: "rot-stale", moduleId: "m" };
    await create("DeviceIdentity", { ...hubArgs, deviceId: ids.deviceId });
    const inputs = { ...hubArgs, ...ids };
    const outs = await create("ModuleIdentity", inputs);
    // Someone regenerates the keys by hand: the state's etag is stale now.
    const module = (await suite.registry.getModule(ids.deviceId, ids.moduleId)).responseBody;
    const byHand = { primaryKey: KEY_A, secondaryKey: KEY_B };
    await suite.registry.updateModule(
      { ...module, authentication: { type: "sas", symmetricKey: byHand } } as never,
      true,
    );
    const error = (await suite.server
      .update(suite.texts.ModuleIdentity, `${ids.deviceId}/${ids.moduleId}`, outs, { ...inputs, rotation: 1 })
      .catch((caught: unknown) => caught)) as ProviderCallError;
    expect(error.details).toMatch(
      /rotation 1 refused: the module changed in hub .* since the state was written/,
    );
    expect(error.details).toMatch(/pulumi refresh/);
    expect(await moduleKeys(ids.deviceId, ids.moduleId)).toEqual(byHand);
    // A refresh shows the drift: the state then holds the hub's keys, and the rotation goes through.
    const refreshed = (
      await suite.server.read(suite.texts.ModuleIdentity, `${ids.deviceId}/${ids.moduleId}`, outs)
    ).props;
    expect(refreshed).toMatchObject({ primaryKey: KEY_A, secondaryKey: KEY_B });
    const rotated = await suite.server.update(
      suite.texts.ModuleIdentity,
      `${ids.deviceId}/${ids.moduleId}`,
      refreshed,
      { ...inputs, rotation: 1 },
    );
    expect(await moduleKeys(ids.deviceId, ids.moduleId)).toEqual({
      primaryKey: KEY_A,
      secondaryKey: rotated.secondaryKey,
    });
  });
});

describe("rotation of keys given in the declaration", () => {
  it("raising rotation with the new key in the slot not in use makes it active and keeps the other", async () => {
    const auth0 = { type: "sas", primaryKey: KEY_A, secondaryKey: KEY_B };
    const inputs0 = { ...hubArgs, deviceId: "rot-declared", authentication: auth0 };
    const outs0 = await create("DeviceIdentity", inputs0);
    expect(keyOf(outs0.connectionString)).toBe(KEY_A);
    const inputs1 = { ...inputs0, rotation: 1, authentication: { ...auth0, secondaryKey: KEY_C } };
    const outs1 = await up("DeviceIdentity", "rot-declared", { inputs: inputs0, outs: outs0 }, inputs1);
    const device = (await suite.registry.get("rot-declared")).responseBody;
    expect(device.authentication?.symmetricKey).toEqual({ primaryKey: KEY_A, secondaryKey: KEY_C });
    expect(keyOf(outs1.connectionString)).toBe(KEY_C);
    expect(keyOf(outs1.previousConnectionString)).toBe(KEY_A);
  });

  it("refuses a step that replaces the key devices still use, naming the field and the rule", async () => {
    const auth0 = { type: "sas", primaryKey: KEY_A, secondaryKey: KEY_B };
    const inputs0 = { ...hubArgs, deviceId: "rot-declared-bad", authentication: auth0 };
    const outs0 = await create("DeviceIdentity", inputs0);
    const news = { ...inputs0, rotation: 1, authentication: { ...auth0, primaryKey: KEY_C } };
    const checked = await suite.server.check(suite.texts.DeviceIdentity, inputs0, news);
    expect(checked.failures.map((failure) => failure.reason)).toEqual([
      expect.stringMatching(/authentication\.primaryKey: must stay as it was when rotation is raised/),
      expect.stringMatching(/authentication\.secondaryKey: must be a new key when rotation is raised/),
    ]);
    await expect(
      suite.server.diff(suite.texts.DeviceIdentity, "rot-declared-bad", outs0, news),
    ).rejects.toThrow(/authentication\.primaryKey: must stay as it was/);
    const device = (await suite.registry.get("rot-declared-bad")).responseBody;
    expect(device.authentication?.symmetricKey).toEqual({ primaryKey: KEY_A, secondaryKey: KEY_B });
  });
});

describe("X.509 rotation through the two thumbprints", () => {
  /** Whether a device client with `certificate` connects (and reads its twin), or the hub refuses it. */
  async function connects(deviceId: string, certificate: { cert: string; key: string }): Promise<boolean> {
    try {
      const client = await openDeviceClientWithCertificate(suite.hub.info, deviceId, certificate);
      await client.getTwin();
      await client.close();
      return true;
    } catch (error) {
      if ((error as Error).name === "UnauthorizedError") return false;
      throw error;
    }
  }

  it("each step replaces the thumbprint devices no longer use: both certificates connect in between", async () => {
    const [first, second, third] = ["rot-x509", "rot-x509", "rot-x509"].map((name) =>
      selfSignedCertificate(name),
    );
    const inputs0 = {
      ...hubArgs,
      deviceId: "rot-x509",
      authentication: { type: "selfSigned", primaryThumbprint: first.sha256 },
    };
    const outs0 = await create("DeviceIdentity", inputs0);
    expect(await connects("rot-x509", first)).toBe(true);
    expect(await connects("rot-x509", second)).toBe(false);

    // Step 1: the new certificate's thumbprint in the slot not in use; devices on the first keep connecting.
    const inputs1 = {
      ...inputs0,
      authentication: { ...inputs0.authentication, secondaryThumbprint: second.sha256 },
    };
    const outs1 = await up("DeviceIdentity", "rot-x509", { inputs: inputs0, outs: outs0 }, inputs1);
    expect(outs1.connectionString).toBe(outs0.connectionString); // x509=true: no key in it
    expect(await connects("rot-x509", first)).toBe(true);
    expect(await connects("rot-x509", second)).toBe(true);

    // Step 2, once every device moved: the next certificate replaces the first; the first no longer connects.
    const inputs2 = {
      ...inputs1,
      authentication: { ...inputs1.authentication, primaryThumbprint: third.sha256 },
    };
    await up("DeviceIdentity", "rot-x509", { inputs: inputs1, outs: outs1 }, inputs2);
    const device = (await suite.registry.get("rot-x509")).responseBody;
    expect(device.authentication?.x509Thumbprint).toEqual({
      primaryThumbprint: third.sha256.toUpperCase(),
      secondaryThumbprint: second.sha256.toUpperCase(),
    });
    expect(await connects("rot-x509", first)).toBe(false);
    expect(await connects("rot-x509", second)).toBe(true);
    expect(await connects("rot-x509", third)).toBe(true);
  });
});
