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
    [
      "a deviceScope that is no string",
      { deviceId: "scope-number", deviceScope: 5 },
      /deviceScope: must be a string/,
    ],
    [
      "parentScopes that are no list of strings",
      { deviceId: "scopes-text", parentScopes: "ms-azure-iot-edge://gw-1" },
      /parentScopes: must be a list of strings/,
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

describe("device scope (IoT Edge parents)", () => {
  // The SDK's Device type does not declare deviceScope, though the registry takes and returns it.
  const scopeOf = (device: object): string | undefined => (device as { deviceScope?: string }).deviceScope;
  const createEdge = async (deviceId: string): Promise<string> =>
    scopeOf((await suite.registry.create({ deviceId, capabilities: { iotEdge: true } })).responseBody)!;
  const notAParent = /deviceScope: must be the deviceScope of an IoT Edge device in this hub/;

  it("lets a device name an IoT Edge device's scope as its parent, and clear it again", async () => {
    const parentScope = await createEdge("scope-gw");
    const child = (await suite.registry.create({ deviceId: "scope-child", deviceScope: parentScope }))
      .responseBody;
    expect(scopeOf(child)).toBe(parentScope);
    const cleared = (
      await suite.registry.update({
        deviceId: "scope-child",
        deviceScope: "",
        authentication: child.authentication,
      })
    ).responseBody;
    expect(scopeOf(cleared)).toBeUndefined();
  });

  it("refuses on create a scope that no IoT Edge device has, with 400 naming deviceScope, and creates nothing", async () => {
    await createEdge("scope-gone");
    const goneScope = scopeOf((await suite.registry.get("scope-gone")).responseBody)!;
    await suite.registry.delete("scope-gone");
    // An edge device that stops being one and sends its own scope back is left without one.
    const formerScope = await createEdge("scope-was-edge");
    const former = (await suite.registry.get("scope-was-edge")).responseBody;
    const demoted = (
      await suite.registry.update({
        deviceId: "scope-was-edge",
        capabilities: { iotEdge: false },
        deviceScope: formerScope,
        authentication: former.authentication,
      })
    ).responseBody;
    expect(scopeOf(demoted)).toBeUndefined();
    for (const [deviceId, deviceScope] of [
      ["scope-bogus", "ms-azure-iot-edge://nobody-637000000000000000"],
      ["scope-of-deleted", goneScope],
      ["scope-of-former-edge", formerScope],
    ]) {
      const failure = suite.registry.create({ deviceId, deviceScope });
      await expect(failure).rejects.toBeInstanceOf(ArgumentError);
      await expect(failure).rejects.toThrow(notAParent);
      await expect(suite.registry.get(deviceId)).rejects.toBeInstanceOf(DeviceNotFoundError);
    }
  });

  it("refuses on update a scope that no IoT Edge device has, and leaves the device as it was", async () => {
    const parentScope = await createEdge("scope-gw2");
    const child = (await suite.registry.create({ deviceId: "scope-moved", deviceScope: parentScope }))
      .responseBody;
    const failure = suite.registry.update({
      deviceId: "scope-moved",
      deviceScope: "ms-azure-iot-edge://elsewhere-1",
      authentication: child.authentication,
    });
    await expect(failure).rejects.toThrow(notAParent);
    const after = (await suite.registry.get("scope-moved")).responseBody;
    expect(after.etag).toBe(child.etag);
    expect(scopeOf(after)).toBe(parentScope);
  });

  it("keeps an IoT Edge device's own scope: none or its own is accepted, another is refused", async () => {
    const ownScope = await createEdge("scope-own");
    const otherScope = await createEdge("scope-other");
    const device = (await suite.registry.get("scope-own")).responseBody;
    const update = (deviceScope: string | undefined) =>
      suite.registry.update({
        deviceId: "scope-own",
        capabilities: { iotEdge: true },
        deviceScope,
        authentication: device.authentication,
      });
    expect(scopeOf((await update(ownScope)).responseBody)).toBe(ownScope);
    expect(scopeOf((await update(undefined)).responseBody)).toBe(ownScope);
    const before = (await suite.registry.get("scope-own")).responseBody;
    await expect(update(otherScope)).rejects.toThrow(/deviceScope: an IoT Edge device's scope is generated/);
    expect((await suite.registry.get("scope-own")).responseBody.etag).toBe(before.etag);
    await expect(
      suite.registry.create({
        deviceId: "scope-edge-set",
        capabilities: { iotEdge: true },
        deviceScope: otherScope,
      }),
    ).rejects.toThrow(/deviceScope: an IoT Edge device's scope is generated/);
  });

  it("refuses a bulk entry with a scope no IoT Edge device has, and applies the others", async () => {
    const parentScope = await createEdge("scope-gw3");
    const result = (
      await suite.registry.addDevices([
        { deviceId: "bulk-scope-ok", deviceScope: parentScope },
        { deviceId: "bulk-scope-bad", deviceScope: "ms-azure-iot-edge://nobody-2" },
      ])
    ).responseBody;
    expect(result.errors.map((error) => [error.deviceId, error.errorCode])).toEqual([
      ["bulk-scope-bad", "ArgumentInvalid"],
    ]);
    expect(result.errors[0].errorStatus).toMatch(notAParent);
    expect(scopeOf((await suite.registry.get("bulk-scope-ok")).responseBody)).toBe(parentScope);
    await expect(suite.registry.get("bulk-scope-bad")).rejects.toBeInstanceOf(DeviceNotFoundError);
  });
});

describe("status reason", () => {
  it("keeps a statusReason of 128 characters and refuses 129 on create and update, naming the rule", async () => {
    const reason = "r".repeat(128);
    const created = (await suite.registry.create({ deviceId: "reasoned", statusReason: reason }))
      .responseBody;
    expect(created.statusReason).toBe(reason);
    const tooLong = /statusReason: must be at most 128 characters/;
    const createFailure = suite.registry.create({ deviceId: "over-reasoned", statusReason: `${reason}r` });
    await expect(createFailure).rejects.toBeInstanceOf(ArgumentError);
    await expect(createFailure).rejects.toThrow(tooLong);
    await expect(suite.registry.get("over-reasoned")).rejects.toBeInstanceOf(DeviceNotFoundError);
    await expect(
      suite.registry.update({
        deviceId: "reasoned",
        statusReason: `${reason}r`,
        authentication: created.authentication,
      }),
    ).rejects.toThrow(tooLong);
    expect((await suite.registry.get("reasoned")).responseBody).toMatchObject({
      etag: created.etag,
      statusReason: reason,
    });
  });
});
