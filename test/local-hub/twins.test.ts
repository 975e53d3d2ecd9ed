import type { Registry } from "azure-iothub";
import { ArgumentError, DeviceNotFoundError, InvalidEtagError } from "azure-iothub/dist/common-core/errors";
import type { Client as DeviceClient, ModuleClient, Twin } from "azure-iot-device";
import { startHub } from "../support/hubProcess";
import { serviceRequest } from "./serviceRequest";
import { hubRegistry } from "../support/suiteHub";
import {
  createModule,
  listenForDesired,
  nextDesired,
  openDeviceClient,
  openModuleClient,
  type ModuleIdentity,
} from "./mqttSupport";

// Device and module twins through the real service SDK against a real local hub.

let hub: Awaited<ReturnType<typeof startHub>>;
let registry: Registry;

beforeAll(async () => {
  hub = await startHub();
  registry = hubRegistry(hub.info);
  await registry.create({ deviceId: "t1" });
  await registry.addModule({ deviceId: "t1", moduleId: "m1" });
});

afterAll(async () => {
  await hub?.stop();
});

type Section = Record<string, unknown> & {
  $version: number;
  $metadata: Record<string, Record<string, unknown>>;
};
interface TwinBody {
  deviceId: string;
  moduleId?: string;
  etag: string;
  version: number;
  status: string;
  tags: Record<string, unknown>;
  properties: { desired: Section; reported: Section };
}

const twinOf = async (deviceId: string, moduleId?: string): Promise<TwinBody> =>
  (moduleId === undefined
    ? await registry.getTwin(deviceId)
    : await registry.getModuleTwin(deviceId, moduleId)
  ).responseBody as unknown as TwinBody;

describe("device twins", () => {
  it("returns the twin as the SDK expects it: ids, etag, version, tags, desired/reported with $version and $metadata", async () => {
    const twin = await twinOf("t1");
    expect(twin).toMatchObject({ deviceId: "t1", status: "enabled", version: 1, tags: {} });
    expect(twin.etag).toEqual(expect.any(String));
    expect(twin.properties.desired.$version).toBe(1);
    expect(twin.properties.reported.$version).toBe(1);
    expect(twin.properties.desired.$metadata.$lastUpdated).toEqual(expect.any(String));
    expect("moduleId" in twin).toBe(false);
  });

  it("merges patches through Twin.update: objects merge, null deletes, versions and metadata advance", async () => {
    const { responseBody: twin } = await registry.getTwin("t1");
    await twin.update({
      tags: { site: "paris", floor: 2 },
      properties: { desired: { telemetry: { rate: 5, unit: "s" } } },
    });
    const afterFirst = await twinOf("t1");
    await twin.update({
      tags: { floor: null },
      properties: { desired: { telemetry: { unit: null, burst: true } } },
    });
    const afterSecond = await twinOf("t1");

    expect(afterSecond.tags).toEqual({ site: "paris" });
    expect(afterSecond.properties.desired.telemetry).toEqual({ rate: 5, burst: true });
    expect(afterSecond.properties.desired.$version).toBe(afterFirst.properties.desired.$version + 1);
    expect(afterSecond.version).toBeGreaterThan(afterFirst.version);
    expect(afterSecond.etag).not.toBe(afterFirst.etag);
    const metadata = afterSecond.properties.desired.$metadata.telemetry as Record<
      string,
      Record<string, unknown>
    >;
    expect(metadata.burst.$lastUpdatedVersion).toBe(afterSecond.properties.desired.$version);
    expect(metadata.rate.$lastUpdatedVersion).toBe(afterFirst.properties.desired.$version);
    expect(metadata.unit).toBeUndefined();
  });

  it("refuses a stale etag with InvalidEtagError and accepts *", async () => {
    const before = await twinOf("t1");
    await registry.updateTwin("t1", { tags: { step: 1 } }, before.etag);
    await expect(registry.updateTwin("t1", { tags: { step: 2 } }, before.etag)).rejects.toBeInstanceOf(
      InvalidEtagError,
    );
    await registry.updateTwin("t1", { tags: { step: 3 } }, "*");
    expect((await twinOf("t1")).tags.step).toBe(3);
  });

  it("replaces tags and desired as a whole with PUT", async () => {
    await registry.updateTwin("t1", { tags: { old: 1 }, properties: { desired: { old: 1 } } }, "*");
    const before = await twinOf("t1");
    const put = await serviceRequest(
      hub.info,
      "PUT",
      "/twins/t1",
      { tags: { fresh: true }, properties: { desired: { mode: "eco" } } },
      { "if-match": `"${before.etag}"` },
    );
    expect(put.status).toBe(200);
    const after = await twinOf("t1");
    expect(after.tags).toEqual({ fresh: true });
    expect(after.properties.desired).toMatchObject({
      mode: "eco",
      $version: before.properties.desired.$version + 1,
    });
    expect(after.properties.desired.old).toBeUndefined();
    const stale = await serviceRequest(
      hub.info,
      "PUT",
      "/twins/t1",
      { tags: {} },
      {
        "if-match": `"${before.etag}"`,
      },
    );
    expect(stale.status).toBe(412);
  });

  it.each([
    [
      "desired over 32 KB",
      { properties: { desired: big(33) } },
      /properties.desired: must be at most 32768 bytes/,
    ],
    ["tags over 8 KB", { tags: big(9) }, /tags: must be at most 8192 bytes/],
    ["nesting deeper than 10", { properties: { desired: nested(12) } }, /must be nested at most 10 levels/],
    ["a property name with a dot", { tags: { "a.b": 1 } }, /tags.a.b: property names must not contain/],
    ["a property name with $", { properties: { desired: { $x: 1 } } }, /property names must not contain/],
    ["a string over 4 KB", { tags: { s: "s".repeat(4097) } }, /strings must be at most 4096 bytes/],
    ["a reported patch from the service", { properties: { reported: { a: 1 } } }, /properties.reported/],
  ])("refuses %s with 400 (ArgumentError) and changes nothing", async (_case, patch, message) => {
    const before = await twinOf("t1");
    const failure = registry.updateTwin("t1", patch, "*");
    await expect(failure).rejects.toBeInstanceOf(ArgumentError);
    await expect(failure).rejects.toThrow(message);
    expect((await twinOf("t1")).etag).toBe(before.etag);
  });

  it("refuses a patch that makes the stored desired too big, though the patch alone is small", async () => {
    await registry.create({ deviceId: "filling" });
    for (let i = 0; i < 7; i++)
      await registry.updateTwin("filling", { properties: { desired: { [`k${i}`]: big(4) } } }, "*");
    await expect(
      registry.updateTwin("filling", { properties: { desired: { last: big(4) } } }, "*"),
    ).rejects.toThrow(/properties.desired: must be at most 32768 bytes/);
  });

  it("answers DeviceNotFoundError for the twin of a missing device", async () => {
    await expect(registry.getTwin("ghost")).rejects.toBeInstanceOf(DeviceNotFoundError);
    await expect(registry.updateTwin("ghost", { tags: { a: 1 } }, "*")).rejects.toBeInstanceOf(
      DeviceNotFoundError,
    );
  });
});

describe("module twins", () => {
  it("carries deviceId and moduleId and merges like device twins", async () => {
    const { responseBody: twin } = await registry.getModuleTwin("t1", "m1");
    expect(twin.deviceId).toBe("t1");
    expect(twin.moduleId).toBe("m1");
    await twin.update({ properties: { desired: { rate: 1, mode: "a" } } });
    await twin.update({ properties: { desired: { mode: null } } });
    const after = await twinOf("t1", "m1");
    expect(after.properties.desired).toMatchObject({ rate: 1, $version: 3 });
    expect(after.properties.desired.mode).toBeUndefined();
    // The device's own twin is a different document.
    expect((await twinOf("t1")).properties.desired.rate).toBeUndefined();
  });

  it("refuses a stale etag with InvalidEtagError", async () => {
    const before = await twinOf("t1", "m1");
    await registry.updateModuleTwin("t1", "m1", { tags: { a: 1 } }, before.etag);
    await expect(
      registry.updateModuleTwin("t1", "m1", { tags: { a: 2 } }, before.etag),
    ).rejects.toBeInstanceOf(InvalidEtagError);
  });

  it("answers a plain 404 for a missing module and DeviceNotFoundError for a missing device", async () => {
    await expect(registry.getModuleTwin("t1", "nope")).rejects.toThrow("Not found");
    await expect(registry.getModuleTwin("ghost", "nope")).rejects.toBeInstanceOf(DeviceNotFoundError);
  });
});

describe("desired properties as devices receive them", () => {
  const createDevice = async (deviceId: string): Promise<ModuleIdentity> => {
    const device = (await registry.create({ deviceId })).responseBody;
    return { deviceId, key: device.authentication!.symmetricKey!.primaryKey! };
  };
  /** The twin of an open client with a desired listener in place (so no push is lost). */
  const listeningTwin = async (client: DeviceClient | ModuleClient): Promise<Twin> => {
    const twin = await client.getTwin();
    await listenForDesired(twin, () => undefined);
    return twin;
  };

  it.each([
    ["a device", "clear-d", undefined],
    ["a module", "clear-m", "m1"],
  ])(
    'removes every desired property of %s on a PATCH of "desired": null, bumps $version and pushes the removal',
    async (_case, deviceId, moduleId) => {
      const identity =
        moduleId === undefined
          ? await createDevice(deviceId)
          : await createModule(registry, deviceId, moduleId);
      const update = (patch: object): Promise<unknown> =>
        moduleId === undefined
          ? registry.updateTwin(deviceId, patch, "*")
          : registry.updateModuleTwin(deviceId, moduleId, patch, "*");
      await update({ properties: { desired: { rate: 5, mode: { eco: true } } } });
      const client =
        moduleId === undefined
          ? await openDeviceClient(hub.info, identity)
          : await openModuleClient(hub.info, identity);
      try {
        const twin = await listeningTwin(client);
        const before = await twinOf(deviceId, moduleId);
        const version = before.properties.desired.$version;
        const pushed = nextDesired(twin, version);
        await update({ tags: { kept: true }, properties: { desired: null } });

        expect(await pushed).toEqual({ rate: null, mode: null, $version: version + 1 });
        // The SDK merged the push: its copy of the desired document lost the properties too.
        expect(twin.properties.desired).not.toHaveProperty("rate");
        expect(twin.properties.desired).not.toHaveProperty("mode");
        const after = await twinOf(deviceId, moduleId);
        expect(after.properties.desired).toEqual({ $version: version + 1, $metadata: expect.any(Object) });
        expect(Object.keys(after.properties.desired.$metadata).sort()).toEqual([
          "$lastUpdated",
          "$lastUpdatedVersion",
        ]);
        expect(after.tags).toEqual({ kept: true });
        expect(after.version).toBeGreaterThan(before.version);
      } finally {
        await client.close();
      }
    },
  );

  it("gives a device that reconnects as a new client the desired document merged while it was away, then the next push with the next $version", async () => {
    const identity = await createDevice("away");
    await registry.updateTwin("away", { properties: { desired: { rate: 1, mode: "eco" } } }, "*");
    const first = await openDeviceClient(hub.info, identity);
    const firstTwin = await listeningTwin(first);
    expect(firstTwin.properties.desired).toMatchObject({ rate: 1, mode: "eco", $version: 2 });
    await first.close();

    await registry.updateTwin("away", { properties: { desired: { rate: 2, mode: null } } }, "*");
    await registry.updateTwin("away", { properties: { desired: { extra: { level: 3 } } } }, "*");

    const second = await openDeviceClient(hub.info, identity);
    try {
      const twin = await second.getTwin();
      expect(twin.properties.desired).toEqual(
        expect.objectContaining({ rate: 2, extra: { level: 3 }, $version: 4 }),
      );
      expect(twin.properties.desired).not.toHaveProperty("mode");
      // The SDK hands listeners its live desired document, so each $version is read as it arrives.
      const versions: unknown[] = [];
      await listenForDesired(twin, (patch) => versions.push(patch.$version));
      const pushed = nextDesired(twin, 4);
      await registry.updateTwin("away", { properties: { desired: { rate: 3 } } }, "*");
      expect(await pushed).toEqual({ rate: 3, $version: 5 });
      // Only the merged document (4) and the new push (5): no patch made while away arrives late.
      expect(new Set(versions)).toEqual(new Set([4, 5]));
      expect(versions.at(-1)).toBe(5);
      expect(twin.properties.desired).toMatchObject({ rate: 3, extra: { level: 3 }, $version: 5 });
    } finally {
      await second.close();
    }
  });
});

/** An object of `kilobytes` KB of string values (each well under the 4 KB string limit). */
function big(kilobytes: number): Record<string, string> {
  const value: Record<string, string> = {};
  for (let i = 0; i < kilobytes; i++) value[`p${i}`] = "x".repeat(1024);
  return value;
}

function nested(levels: number): Record<string, unknown> {
  let value: unknown = 1;
  for (let level = levels; level >= 1; level--) value = { [`l${level}`]: value };
  return value as Record<string, unknown>;
}
