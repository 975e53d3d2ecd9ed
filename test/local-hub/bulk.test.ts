import { DeviceNotFoundError } from "azure-iothub/dist/common-core/errors";
import { useSuiteHub } from "../support/suiteHub";
import { serviceRequest } from "./serviceRequest";

// Bulk registry operations (POST /devices) through the real service SDK against a real local hub.

const suite = useSuiteHub();

const ids = (prefix: string, count: number): string[] =>
  Array.from({ length: count }, (_, i) => `${prefix}-${i}`);

describe("bulk", () => {
  it("creates 100 devices in one call, with generated keys", async () => {
    const result = (await suite.registry.addDevices(ids("batch", 100).map((deviceId) => ({ deviceId }))))
      .responseBody;
    expect(result).toEqual({ isSuccessful: true, errors: [], warnings: [] });
    const device = (await suite.registry.get("batch-99")).responseBody;
    expect(Buffer.from(device.authentication!.symmetricKey!.primaryKey!, "base64")).toHaveLength(32);
  });

  it("reports per-entry errors and applies the other entries", async () => {
    await suite.registry.create({ deviceId: "exists" });
    const result = (
      await suite.registry.addDevices([
        { deviceId: "exists" },
        { deviceId: "new-one" },
        { deviceId: "bad id" },
      ])
    ).responseBody;
    expect(result.isSuccessful).toBe(false);
    expect(result.errors.map((e) => [e.deviceId, e.errorCode])).toEqual([
      ["exists", "DeviceAlreadyExists"],
      ["bad id", "ArgumentInvalid"],
    ]);
    expect(result.errors[1].errorStatus).toMatch(/deviceId: may contain only/);
    await expect(suite.registry.get("new-one")).resolves.toBeDefined();
  });

  it("updates with Update (force) and UpdateIfMatchETag (etag checked per entry)", async () => {
    await suite.registry.addDevices([{ deviceId: "u1" }, { deviceId: "u2" }]);
    const u1 = (await suite.registry.get("u1")).responseBody;
    const forced = (await suite.registry.updateDevices([{ deviceId: "u1", status: "disabled" }], true))
      .responseBody;
    expect(forced.isSuccessful).toBe(true);
    expect((await suite.registry.get("u1")).responseBody.status).toBe("disabled");

    const u2 = (await suite.registry.get("u2")).responseBody;
    const checked = (
      await suite.registry.updateDevices(
        [
          { deviceId: "u1", etag: u1.etag, status: "enabled" },
          { deviceId: "u2", etag: u2.etag, status: "disabled" },
        ],
        false,
      )
    ).responseBody;
    expect(checked.errors.map((e) => [e.deviceId, e.errorCode])).toEqual([["u1", "PreconditionFailed"]]);
    expect((await suite.registry.get("u1")).responseBody.status).toBe("disabled");
    expect((await suite.registry.get("u2")).responseBody.status).toBe("disabled");
  });

  it("removes with Delete (force) and DeleteIfMatchETag, reporting missing devices", async () => {
    await suite.registry.addDevices([{ deviceId: "r1" }, { deviceId: "r2" }, { deviceId: "r3" }]);
    await suite.registry.addModule({ deviceId: "r1", moduleId: "m" });
    const removed = (await suite.registry.removeDevices([{ deviceId: "r1" }, { deviceId: "never" }], true))
      .responseBody;
    expect(removed.errors.map((e) => [e.deviceId, e.errorCode])).toEqual([["never", "DeviceNotFound"]]);
    await expect(suite.registry.get("r1")).rejects.toBeInstanceOf(DeviceNotFoundError);
    await expect(suite.registry.getModule("r1", "m")).rejects.toBeInstanceOf(DeviceNotFoundError);

    const r2 = (await suite.registry.get("r2")).responseBody;
    const checked = (
      await suite.registry.removeDevices(
        [
          { deviceId: "r2", etag: r2.etag },
          { deviceId: "r3", etag: "stale" },
        ],
        false,
      )
    ).responseBody;
    expect(checked.errors.map((e) => [e.deviceId, e.errorCode])).toEqual([["r3", "PreconditionFailed"]]);
    await expect(suite.registry.get("r2")).rejects.toBeInstanceOf(DeviceNotFoundError);
    await expect(suite.registry.get("r3")).resolves.toBeDefined();
  });

  it("refuses an empty batch, more than 100 entries and unknown import modes with 400", async () => {
    // The SDK refuses these sizes itself, so they are sent raw: the hub must refuse them too.
    const empty = await serviceRequest(suite.hub.info, "POST", "/devices", []);
    expect(empty.status).toBe(400);
    const tooMany = ids("over", 101).map((id) => ({ id, importMode: "create" }));
    const over = await serviceRequest(suite.hub.info, "POST", "/devices", tooMany);
    expect(over.status).toBe(400);
    expect((over.body as { Message: string }).Message).toMatch(/^ErrorCode:ArgumentInvalid;.*1-100/);
    await expect(suite.registry.get("over-0")).rejects.toBeInstanceOf(DeviceNotFoundError);
    const unknown = await serviceRequest(suite.hub.info, "POST", "/devices", [
      { id: "odd", importMode: "upsert" },
    ]);
    expect((unknown.body as { errors: Array<{ errorCode: string }> }).errors[0].errorCode).toBe(
      "ArgumentInvalid",
    );
  });

  it("fails an entry that is no object or repeats an id on its own, naming why, and applies the rest", async () => {
    const answer = await serviceRequest(suite.hub.info, "POST", "/devices", [
      null,
      { id: "twice", importMode: "create" },
      { id: "twice", importMode: "create" },
    ]);
    expect(answer.status).toBe(200);
    const { isSuccessful, errors } = answer.body as {
      isSuccessful: boolean;
      errors: Array<{ deviceId: string; errorCode: string; errorStatus: string }>;
    };
    expect(isSuccessful).toBe(false);
    expect(errors).toEqual([
      {
        deviceId: "",
        errorCode: "ArgumentInvalid",
        errorStatus: expect.stringMatching(/importMode must be/),
      },
      {
        deviceId: "twice",
        errorCode: "ArgumentInvalid",
        errorStatus: "Device twice appears more than once in the request.",
      },
    ]);
    expect((await suite.registry.get("twice")).responseBody.deviceId).toBe("twice");
  });
});
