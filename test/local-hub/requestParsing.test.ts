import { parseBulkEntry } from "../../local-hub/handlers/bulk";
import { parseDeviceBody, parseIfMatch, parseModuleBody } from "../../local-hub/handlers/requestModels";
import { IotHubError } from "../../local-hub/errors/iotHubError";

// What the service handlers hand the store: If-Match as a condition, registry bodies and bulk entries as models.
// Bad input is IoT Hub's 400 ArgumentInvalid naming the field and the rule, before the store is reached.

function refusal(parse: () => unknown): string {
  try {
    parse();
  } catch (error) {
    if (error instanceof IotHubError && error.status === 400 && error.code === "ArgumentInvalid") {
      return error.message;
    }
    throw error;
  }
  throw new Error("expected a 400 ArgumentInvalid");
}

describe("If-Match", () => {
  it("is absent, the wildcard, or one etag (quoted as the SDK sends it, weak or bare)", () => {
    expect(parseIfMatch(undefined)).toBe("absent");
    expect(parseIfMatch("  ")).toBe("absent");
    expect(parseIfMatch('"*"')).toBe("any");
    expect(parseIfMatch('"AAAAAAAAAAE="')).toEqual({ etag: "AAAAAAAAAAE=" });
    expect(parseIfMatch('W/"abc"')).toEqual({ etag: "abc" });
  });
});

describe("device and module bodies", () => {
  it("become models with IoT Hub's defaults: enabled, no edge, generated SAS keys", () => {
    const device = parseDeviceBody("d1", { deviceId: "d1", statusReason: "new" });
    expect(device).toMatchObject({
      deviceId: "d1",
      status: "enabled",
      statusReason: "new",
      capabilities: { iotEdge: false },
      authentication: { type: "sas" },
    });
    expect(device.authentication.symmetricKey.primaryKey).toEqual(expect.any(String));
    expect(parseModuleBody("d1", "m1", { managedBy: "edge" })).toMatchObject({
      deviceId: "d1",
      moduleId: "m1",
      managedBy: "edge",
    });
  });

  it.each([
    ["a bad id", () => parseDeviceBody("bad id", {}), "deviceId: may contain only"],
    [
      "a body that is no object",
      () => parseDeviceBody("d1", []),
      "The request body must be a device object.",
    ],
    [
      "another id in the body",
      () => parseDeviceBody("d1", { deviceId: "d2" }),
      "deviceId: 'd2' does not match the device id in the path 'd1'.",
    ],
    [
      "an unknown status",
      () => parseDeviceBody("d1", { status: "paused" }),
      "status: must be enabled or disabled",
    ],
    [
      "one key only",
      () => parseDeviceBody("d1", { authentication: { symmetricKey: { primaryKey: "a" } } }),
      "authentication.symmetricKey.secondaryKey: both keys must be given",
    ],
    [
      "a reserved module id",
      () => parseModuleBody("d1", "$edgeAgent", {}),
      "moduleId: must not start with $",
    ],
    [
      "another module id in the body",
      () => parseModuleBody("d1", "m1", { moduleId: "m2" }),
      "moduleId: 'm2' does not match the module id in the path 'm1'.",
    ],
  ])("refuses %s", (_case, parse, message) => {
    expect(refusal(parse)).toContain(message);
  });
});

describe("bulk entries", () => {
  it("map IoT Hub's import modes (any case) to puts and deletes with their etag conditions", () => {
    expect(parseBulkEntry("b1", { id: "b1", importMode: "create" })).toMatchObject({
      kind: "put",
      identity: { deviceId: "b1" },
      condition: "absent",
    });
    expect(parseBulkEntry("b1", { id: "b1", importMode: "Update", status: "disabled" })).toMatchObject({
      kind: "put",
      identity: { status: "disabled" },
      condition: "any",
    });
    expect(parseBulkEntry("b1", { id: "b1", importMode: "UpdateIfMatchETag", eTag: "e1" })).toMatchObject({
      condition: { etag: "e1" },
    });
    // The SDK passes its Device objects through, which spell it `etag`.
    expect(parseBulkEntry("b1", { id: "b1", importMode: "DeleteIfMatchETag", etag: "e2" })).toEqual({
      kind: "delete",
      deviceId: "b1",
      condition: { etag: "e2" },
    });
    expect(parseBulkEntry("b1", { id: "b1", importMode: "delete" })).toEqual({
      kind: "delete",
      deviceId: "b1",
      condition: "any",
    });
  });

  it.each([
    ["an unknown mode", { id: "b1", importMode: "upsert" }, "Device b1: importMode must be create, Update"],
    ["no mode", { id: "b1" }, "Device b1: importMode must be"],
    ["UpdateIfMatchETag without eTag", { id: "b1", importMode: "UpdateIfMatchETag" }, "needs eTag"],
    ["DeleteIfMatchETag without eTag", { id: "b1", importMode: "DeleteIfMatchETag" }, "needs eTag"],
    ["a bad device in a create", { id: "b1", importMode: "create", status: 1 }, "status: must be"],
  ])("refuses %s", (_case, entry, message) => {
    expect(refusal(() => parseBulkEntry("b1", entry))).toContain(message);
  });
});
