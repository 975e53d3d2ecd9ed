import { Registry } from "azure-iothub";
import {
  ArgumentError,
  DeviceAlreadyExistsError,
  DeviceNotFoundError,
  InvalidEtagError,
  TooManyDevicesError,
} from "azure-iothub/dist/common-core/errors";
import { startHub } from "../support/hubProcess";

// Module identities through the real service SDK against a real local hub.

let hub: Awaited<ReturnType<typeof startHub>>;
let registry: Registry;

beforeAll(async () => {
  hub = await startHub();
  registry = Registry.fromConnectionString(hub.info.connectionString);
});

afterAll(async () => {
  await hub?.stop();
});

interface ModuleBody {
  deviceId: string;
  moduleId: string;
  etag: string;
  generationId: string;
  authentication: { type: string; symmetricKey: { primaryKey: string; secondaryKey: string } };
}

const moduleOf = async (deviceId: string, moduleId: string): Promise<ModuleBody> =>
  (await registry.getModule(deviceId, moduleId)).responseBody as unknown as ModuleBody;

/** removeModule(module) sends the module's etag, but only in callback style (its promise form drops the callback). */
const removeModule = (module: ModuleBody): Promise<void> =>
  new Promise((resolve, reject) =>
    registry.removeModule(module as never, (error?: Error) => (error ? reject(error) : resolve())),
  );

describe("modules", () => {
  beforeAll(async () => {
    await registry.create({ deviceId: "host" });
  });

  it("adds a module with generated keys, gets it and lists the device's modules", async () => {
    const added = (await registry.addModule({ deviceId: "host", moduleId: "sensor" }))
      .responseBody as unknown as ModuleBody;
    expect(added.moduleId).toBe("sensor");
    expect(Buffer.from(added.authentication.symmetricKey.primaryKey, "base64")).toHaveLength(32);
    expect((await moduleOf("host", "sensor")).etag).toBe(added.etag);
    await registry.addModule({ deviceId: "host", moduleId: "actuator" });
    const ids = (await registry.getModulesOnDevice("host")).responseBody.map((m) => m.moduleId);
    expect(ids.sort()).toEqual(["actuator", "sensor"]);
  });

  it("refuses a module id that exists on the device (409 DeviceAlreadyExistsError)", async () => {
    await registry.addModule({ deviceId: "host", moduleId: "dup" });
    await expect(registry.addModule({ deviceId: "host", moduleId: "dup" })).rejects.toBeInstanceOf(
      DeviceAlreadyExistsError,
    );
  });

  it("refuses $-prefixed module ids and bad keys with 400 naming the field", async () => {
    const reserved = registry.addModule({ deviceId: "host", moduleId: "$edgeAgent" });
    await expect(reserved).rejects.toBeInstanceOf(ArgumentError);
    await expect(reserved).rejects.toThrow(/moduleId: must not start with \$/);
    const oneKey = registry.addModule({
      deviceId: "host",
      moduleId: "one-key",
      authentication: { symmetricKey: { primaryKey: Buffer.alloc(32).toString("base64"), secondaryKey: "" } },
    });
    await expect(oneKey).rejects.toThrow(/secondaryKey: both keys/);
  });

  it("answers DeviceNotFoundError for a module of a missing device, a plain 404 for a missing module", async () => {
    await expect(registry.addModule({ deviceId: "ghost", moduleId: "m" })).rejects.toBeInstanceOf(
      DeviceNotFoundError,
    );
    await expect(registry.getModulesOnDevice("ghost")).rejects.toBeInstanceOf(DeviceNotFoundError);
    const missing = registry.getModule("host", "never-made");
    await expect(missing).rejects.toThrow("Not found");
    await expect(missing).rejects.not.toBeInstanceOf(DeviceNotFoundError);
  });

  it("updates a module with its etag, refuses a stale etag (InvalidEtagError), or forces with *", async () => {
    await registry.addModule({ deviceId: "host", moduleId: "upd" });
    const current = await moduleOf("host", "upd");
    const updated = (await registry.updateModule({ ...current })).responseBody as unknown as ModuleBody;
    expect(updated.etag).not.toBe(current.etag);
    expect(updated.generationId).toBe(current.generationId);
    // The body carried the old keys, so the full replace keeps them.
    expect(updated.authentication.symmetricKey).toEqual(current.authentication.symmetricKey);
    await expect(registry.updateModule({ ...current })).rejects.toBeInstanceOf(InvalidEtagError);
    const forced = (
      await registry.updateModule({ deviceId: "host", moduleId: "upd", etag: "whatever" }, true)
    ).responseBody as unknown as ModuleBody;
    expect(forced.authentication.symmetricKey.primaryKey).not.toBe(
      current.authentication.symmetricKey.primaryKey,
    );
  });

  it("removes a module only with a matching etag, and removes its twin with it", async () => {
    await registry.addModule({ deviceId: "host", moduleId: "gone" });
    const twin = (await registry.getModuleTwin("host", "gone")).responseBody;
    await twin.update({ properties: { desired: { rate: 5 } } });
    const current = await moduleOf("host", "gone");
    await expect(removeModule({ ...current, etag: "stale" })).rejects.toBeInstanceOf(InvalidEtagError);
    await removeModule(current);
    await expect(registry.getModule("host", "gone")).rejects.toThrow("Not found");
    await expect(registry.getModuleTwin("host", "gone")).rejects.toThrow("Not found");
    // A module made again starts with a fresh twin.
    await registry.addModule({ deviceId: "host", moduleId: "gone" });
    const fresh = (await registry.getModuleTwin("host", "gone")).responseBody as unknown as {
      version: number;
      properties: { desired: Record<string, unknown> };
    };
    expect(fresh.properties.desired.rate).toBeUndefined();
    expect(fresh.properties.desired.$version).toBe(1);
    expect(fresh.version).toBe(1);
  });

  it("allows 50 modules per device and refuses the 51st (403 TooManyDevicesError)", async () => {
    await registry.create({ deviceId: "crowded" });
    for (let i = 0; i < 50; i++) await registry.addModule({ deviceId: "crowded", moduleId: `m${i}` });
    const overflow = registry.addModule({ deviceId: "crowded", moduleId: "m50" });
    await expect(overflow).rejects.toBeInstanceOf(TooManyDevicesError);
    await expect(overflow).rejects.toThrow(/50 modules/);
    expect((await registry.getModulesOnDevice("crowded")).responseBody).toHaveLength(50);
  });

  it("deletes a device's modules with the device", async () => {
    await registry.create({ deviceId: "parent" });
    await registry.addModule({ deviceId: "parent", moduleId: "child" });
    await registry.delete("parent");
    await registry.create({ deviceId: "parent" });
    expect((await registry.getModulesOnDevice("parent")).responseBody).toEqual([]);
    await expect(registry.getModule("parent", "child")).rejects.toThrow("Not found");
  });
});
