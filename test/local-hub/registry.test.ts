import {
  ArgumentError,
  DeviceAlreadyExistsError,
  DeviceNotFoundError,
} from "azure-iothub/dist/common-core/errors";
import { useSuiteHub } from "../support/suiteHub";
import { serviceRequest } from "./serviceRequest";

// Device identities through the real service SDK against a real local hub.

const suite = useSuiteHub();

const keyOf = (bytes: number, fill = 1): string => Buffer.alloc(bytes, fill).toString("base64");

describe("device create", () => {
  it("creates a device with generated 32-byte keys, enabled and disconnected", async () => {
    const device = (await suite.registry.create({ deviceId: "gen-keys" })).responseBody;
    expect(device.deviceId).toBe("gen-keys");
    expect(device.status).toBe("enabled");
    expect(device.connectionState).toBe("Disconnected");
    expect(device.etag).toBeTruthy();
    expect(device.generationId).toBeTruthy();
    const { primaryKey, secondaryKey } = device.authentication!.symmetricKey!;
    expect(Buffer.from(primaryKey!, "base64")).toHaveLength(32);
    expect(Buffer.from(secondaryKey!, "base64")).toHaveLength(32);
    expect(primaryKey).not.toBe(secondaryKey);
  });

  it("keeps the keys the caller gives", async () => {
    const authentication = { symmetricKey: { primaryKey: keyOf(16), secondaryKey: keyOf(64, 2) } };
    const device = (await suite.registry.create({ deviceId: "own-keys", authentication })).responseBody;
    expect(device.authentication!.symmetricKey).toEqual(authentication.symmetricKey);
    expect((await suite.registry.get("own-keys")).responseBody.authentication!.symmetricKey).toEqual(
      authentication.symmetricKey,
    );
  });

  it("creates a disabled device and a self-signed X.509 device", async () => {
    expect((await suite.registry.create({ deviceId: "off", status: "disabled" })).responseBody.status).toBe(
      "disabled",
    );
    const thumbprint = "A".repeat(40);
    const device = (
      await suite.registry.create({
        deviceId: "x509",
        authentication: { x509Thumbprint: { primaryThumbprint: thumbprint, secondaryThumbprint: "" } },
      })
    ).responseBody;
    expect((device.authentication as { type?: string }).type).toBe("selfSigned");
    expect(device.authentication!.x509Thumbprint!.primaryThumbprint).toBe(thumbprint);
  });

  it("accepts every character IoT Hub allows in ids, through create, get, twin and delete", async () => {
    const deviceId = "a-Z:0.+%_#*?!(),=@;$'";
    await suite.registry.create({ deviceId });
    expect((await suite.registry.get(deviceId)).responseBody.deviceId).toBe(deviceId);
    await suite.registry.addModule({ deviceId, moduleId: "m#1?%" });
    expect((await suite.registry.getModuleTwin(deviceId, "m#1?%")).responseBody.moduleId).toBe("m#1?%");
    await suite.registry.delete(deviceId);
    await expect(suite.registry.get(deviceId)).rejects.toBeInstanceOf(DeviceNotFoundError);
  });

  it("gives an IoT Edge device a device scope that survives updates", async () => {
    // The SDK's Device type does not declare deviceScope, though the registry returns it.
    const scopeOf = (device: object): unknown => (device as { deviceScope?: string }).deviceScope;
    const edge = (await suite.registry.create({ deviceId: "edge", capabilities: { iotEdge: true } }))
      .responseBody;
    expect(scopeOf(edge)).toMatch(/^ms-azure-iot-edge:\/\/edge-/);
    const updated = (
      await suite.registry.update({
        deviceId: "edge",
        capabilities: { iotEdge: true },
        authentication: edge.authentication,
      })
    ).responseBody;
    expect(scopeOf(updated)).toBe(scopeOf(edge));
  });

  it("refuses an id that exists with DeviceAlreadyExistsError", async () => {
    await suite.registry.create({ deviceId: "twice" });
    await expect(suite.registry.create({ deviceId: "twice" })).rejects.toBeInstanceOf(
      DeviceAlreadyExistsError,
    );
  });

  it.each([
    ["an id over 128 characters", { deviceId: "d".repeat(129) }, /deviceId: must be at most 128/],
    ["an id with a space", { deviceId: "has space" }, /deviceId: may contain only/],
    [
      "one key of two",
      { deviceId: "one-key", authentication: { symmetricKey: { primaryKey: keyOf(32), secondaryKey: "" } } },
      /secondaryKey: both keys must be given/,
    ],
    [
      "a key that is not base64",
      {
        deviceId: "bad-b64",
        authentication: { symmetricKey: { primaryKey: "%%%", secondaryKey: keyOf(32) } },
      },
      /primaryKey: must be valid base64/,
    ],
    [
      "a key of the wrong length",
      {
        deviceId: "short",
        authentication: { symmetricKey: { primaryKey: keyOf(8), secondaryKey: keyOf(32) } },
      },
      /primaryKey: must decode to 16-64 bytes/,
    ],
    [
      "a malformed thumbprint",
      {
        deviceId: "bad-thumb",
        authentication: {
          type: "selfSigned" as const,
          x509Thumbprint: { primaryThumbprint: "abc", secondaryThumbprint: "" },
        },
      },
      /primaryThumbprint: must be 40 hex digits/,
    ],
  ])("refuses %s with 400 (ArgumentError) naming the field", async (_case, device, message) => {
    const failure = suite.registry.create(device);
    await expect(failure).rejects.toBeInstanceOf(ArgumentError);
    await expect(failure).rejects.toThrow(message);
    await expect(suite.registry.get(device.deviceId)).rejects.toBeDefined();
  });
});

describe("device get, update, delete, list", () => {
  it("answers DeviceNotFoundError for a device that does not exist", async () => {
    await expect(suite.registry.get("never-made")).rejects.toBeInstanceOf(DeviceNotFoundError);
    await expect(suite.registry.delete("never-made")).rejects.toBeInstanceOf(DeviceNotFoundError);
    await expect(suite.registry.update({ deviceId: "never-made" })).rejects.toBeInstanceOf(
      DeviceNotFoundError,
    );
  });

  it("replaces a device as a whole: omitted keys become new keys, the etag changes, generationId stays", async () => {
    const created = (await suite.registry.create({ deviceId: "replace-me" })).responseBody;
    const updated = (await suite.registry.update({ deviceId: "replace-me", status: "disabled" }))
      .responseBody;
    expect(updated.status).toBe("disabled");
    expect(updated.generationId).toBe(created.generationId);
    expect(updated.etag).not.toBe(created.etag);
    expect(updated.authentication!.symmetricKey!.primaryKey).not.toBe(
      created.authentication!.symmetricKey!.primaryKey,
    );
    const kept = (
      await suite.registry.update({
        deviceId: "replace-me",
        status: "enabled",
        authentication: updated.authentication,
      })
    ).responseBody;
    expect(kept.authentication!.symmetricKey).toEqual(updated.authentication!.symmetricKey);
  });

  it("honours If-Match etags on update and delete (412 on a stale one)", async () => {
    const created = (await suite.registry.create({ deviceId: "etagged" })).responseBody;
    const body = { deviceId: "etagged", authentication: created.authentication };
    const stale = await serviceRequest(suite.hub.info, "PUT", "/devices/etagged", body, {
      "if-match": '"not-the-etag"',
    });
    expect(stale.status).toBe(412);
    const fresh = await serviceRequest(suite.hub.info, "PUT", "/devices/etagged", body, {
      "if-match": `"${created.etag}"`,
    });
    expect(fresh.status).toBe(200);
    const staleDelete = await serviceRequest(suite.hub.info, "DELETE", "/devices/etagged", undefined, {
      "if-match": `"${created.etag}"`,
    });
    expect(staleDelete.status).toBe(412);
    await expect(suite.registry.get("etagged")).resolves.toBeDefined();
    await suite.registry.delete("etagged");
    await expect(suite.registry.get("etagged")).rejects.toBeInstanceOf(DeviceNotFoundError);
    await expect(suite.registry.updateTwin("etagged", { tags: { a: 1 } }, "*")).rejects.toBeInstanceOf(
      DeviceNotFoundError,
    );
  });

  it("lists devices (GET /devices/)", async () => {
    await suite.registry.create({ deviceId: "listed" });
    const ids = (await suite.registry.list()).responseBody.map((device) => device.deviceId);
    expect(ids).toEqual(expect.arrayContaining(["listed", "gen-keys", "own-keys"]));
    expect(ids).not.toContain("never-made");
  });

  it("counts devices in GET /statistics/devices", async () => {
    const before = (await suite.registry.getRegistryStatistics()).responseBody;
    await suite.registry.create({ deviceId: "stat-on" });
    await suite.registry.create({ deviceId: "stat-off", status: "disabled" });
    const after = (await suite.registry.getRegistryStatistics()).responseBody;
    expect(after.totalDeviceCount).toBe(before.totalDeviceCount + 2);
    expect(after.enabledDeviceCount).toBe(before.enabledDeviceCount + 1);
    expect(after.disabledDeviceCount).toBe(before.disabledDeviceCount + 1);
    await suite.registry.delete("stat-off");
    expect((await suite.registry.getRegistryStatistics()).responseBody.disabledDeviceCount).toBe(
      before.disabledDeviceCount,
    );
  });
});
