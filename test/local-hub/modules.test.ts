import {
  ArgumentError,
  DeviceAlreadyExistsError,
  DeviceNotFoundError,
  InvalidEtagError,
  TooManyDevicesError,
} from "azure-iothub/dist/common-core/errors";
import { useSuiteHub } from "../support/suiteHub";

// Module identities through the real service SDK against a real local hub.

const suite = useSuiteHub();

interface ModuleBody {
  deviceId: string;
  moduleId: string;
  etag: string;
  generationId: string;
  authentication: { type: string; symmetricKey: { primaryKey: string; secondaryKey: string } };
}

const moduleOf = async (deviceId: string, moduleId: string): Promise<ModuleBody> =>
  (await suite.registry.getModule(deviceId, moduleId)).responseBody as unknown as ModuleBody;

/** removeModule(module) sends the module's etag, but only in callback style (its promise form drops the callback). */
const removeModule = (module: ModuleBody): Promise<void> =>
  new Promise((resolve, reject) =>
    suite.registry.removeModule(module as never, (error?: Error) => (error ? reject(error) : resolve())),
  );

describe("modules", () => {
  beforeAll(async () => {
    await suite.registry.create({ deviceId: "host" });
  });

  it("adds a module with generated keys, gets it and lists the device's modules", async () => {
    const added = (await suite.registry.addModule({ deviceId: "host", moduleId: "sensor" }))
      .responseBody as unknown as ModuleBody;
    expect(added.moduleId).toBe("sensor");
    expect(Buffer.from(added.authentication.symmetricKey.primaryKey, "base64")).toHaveLength(32);
    expect((await moduleOf("host", "sensor")).etag).toBe(added.etag);
    await suite.registry.addModule({ deviceId: "host", moduleId: "actuator" });
    const ids = (await suite.registry.getModulesOnDevice("host")).responseBody.map((m) => m.moduleId);
    expect(ids.sort()).toEqual(["actuator", "sensor"]);
  });

  it("refuses a module id that exists on the device (409 DeviceAlreadyExistsError)", async () => {
    await suite.registry.addModule({ deviceId: "host", moduleId: "dup" });
    await expect(suite.registry.addModule({ deviceId: "host", moduleId: "dup" })).rejects.toBeInstanceOf(
      DeviceAlreadyExistsError,
    );
  });

  it("refuses $-prefixed module ids and bad keys with 400 naming the field", async () => {
    const reserved = suite.registry.addModule({ deviceId: "host", moduleId: "$edgeAgent" });
    await expect(reserved).rejects.toBeInstanceOf(ArgumentError);
    await expect(reserved).rejects.toThrow(/moduleId: must not start with \$/);
    const oneKey = suite.registry.addModule({
      deviceId: "host",
      moduleId: "one-key",
      authentication: { symmetricKey: { primaryKey: Buffer.alloc(32).toString("base64"), secondaryKey: "" } },
    });
    await expect(oneKey).rejects.toThrow(/secondaryKey: both keys/);
  });

  it("answers DeviceNotFoundError for a module of a missing device, a plain 404 for a missing module", async () => {
    await expect(suite.registry.addModule({ deviceId: "ghost", moduleId: "m" })).rejects.toBeInstanceOf(
      DeviceNotFoundError,
    );
    await expect(suite.registry.getModulesOnDevice("ghost")).rejects.toBeInstanceOf(DeviceNotFoundError);
    const missing = suite.registry.getModule("host", "never-made");
    await expect(missing).rejects.toThrow("Not found");
    await expect(missing).rejects.not.toBeInstanceOf(DeviceNotFoundError);
  });

  it("updates a module with its etag, refuses a stale etag (InvalidEtagError), or forces with *", async () => {
    await suite.registry.addModule({ deviceId: "host", moduleId: "upd" });
    const current = await moduleOf("host", "upd");
    const updated = (await suite.registry.updateModule({ ...current })).responseBody as unknown as ModuleBody;
    expect(updated.etag).not.toBe(current.etag);
    expect(updated.generationId).toBe(current.generationId);
    // The body carried the old keys, so the full replace keeps them.
    expect(updated.authentication.symmetricKey).toEqual(current.authentication.symmetricKey);
    await expect(suite.registry.updateModule({ ...current })).rejects.toBeInstanceOf(InvalidEtagError);
    const forced = (
      await suite.registry.updateModule({ deviceId: "host", moduleId: "upd", etag: "whatever" }, true)
    ).responseBody as unknown as ModuleBody;
    expect(forced.authentication.symmetricKey.primaryKey).not.toBe(
      current.authentication.symmetricKey.primaryKey,
    );
  });

  it("removes a module only with a matching etag, and removes its twin with it", async () => {
    await suite.registry.addModule({ deviceId: "host", moduleId: "gone" });
    const twin = (await suite.registry.getModuleTwin("host", "gone")).responseBody;
    await twin.update({ properties: { desired: { rate: 5 } } });
    const current = await moduleOf("host", "gone");
    await expect(removeModule({ ...current, etag: "stale" })).rejects.toBeInstanceOf(InvalidEtagError);
    await removeModule(current);
    await expect(suite.registry.getModule("host", "gone")).rejects.toThrow("Not found");
    await expect(suite.registry.getModuleTwin("host", "gone")).rejects.toThrow("Not found");
    // A module made again starts with a fresh twin.
    await suite.registry.addModule({ deviceId: "host", moduleId: "gone" });
    const fresh = (await suite.registry.getModuleTwin("host", "gone")).responseBody as unknown as {
      version: number;
      properties: { desired: Record<string, unknown> };
    };
    expect(fresh.properties.desired.rate).toBeUndefined();
    expect(fresh.properties.desired.$version).toBe(1);
    expect(fresh.version).toBe(1);
  });

  it("allows 50 modules per device and refuses the 51st (403 TooManyDevicesError)", async () => {
    await suite.registry.create({ deviceId: "crowded" });
    for (let i = 0; i < 50; i++) await suite.registry.addModule({ deviceId: "crowded", moduleId: `m${i}` });
    const overflow = suite.registry.addModule({ deviceId: "crowded", moduleId: "m50" });
    await expect(overflow).rejects.toBeInstanceOf(TooManyDevicesError);
    await expect(overflow).rejects.toThrow(/50 modules/);
    expect((await suite.registry.getModulesOnDevice("crowded")).responseBody).toHaveLength(50);
  });

  it("deletes a device's modules with the device", async () => {
    await suite.registry.create({ deviceId: "parent" });
    await suite.registry.addModule({ deviceId: "parent", moduleId: "child" });
    await suite.registry.delete("parent");
    await suite.registry.create({ deviceId: "parent" });
    expect((await suite.registry.getModulesOnDevice("parent")).responseBody).toEqual([]);
    await expect(suite.registry.getModule("parent", "child")).rejects.toThrow("Not found");
  });
});
