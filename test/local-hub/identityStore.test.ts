import BetterSqlite3 from "better-sqlite3";
import { IotHubError } from "../../local-hub/errors/iotHubError";
import { HubEvents, type IdentityRef } from "../../local-hub/events";
import { parseBulkEntry } from "../../local-hub/handlers/bulk";
import { parseDeviceBody, parseModuleBody } from "../../local-hub/handlers/requestModels";
import { IdentityStore } from "../../local-hub/persistence/identityStore";

// The store on its own, in memory: what the MQTT side relies on (device-side twin, reported patches, connection
// state) and the event bus. The service API through the SDK is covered by registry/modules/twins/... tests.

function storeWithEvents(): { store: IdentityStore; events: HubEvents; db: BetterSqlite3.Database } {
  const events = new HubEvents();
  const db = new BetterSqlite3(":memory:");
  return { store: new IdentityStore(db, events), events, db };
}

const newDevice = (deviceId: string, body: Record<string, unknown> = {}) => parseDeviceBody(deviceId, body);
const newModule = (deviceId: string, moduleId: string) => parseModuleBody(deviceId, moduleId, {});

function errorOf(action: () => unknown): IotHubError {
  try {
    action();
  } catch (error) {
    if (error instanceof IotHubError) return error;
    throw error;
  }
  throw new Error("expected an IotHubError");
}

describe("identity store (device side)", () => {
  it("serves the device-side twin with $version and merges reported patches (null deletes)", () => {
    const { store } = storeWithEvents();
    store.putDevice(newDevice("d1"), "absent");
    store.putModule(newModule("d1", "m1"), "absent");
    const ref: IdentityRef = { deviceId: "d1", moduleId: "m1" };
    expect(store.getDeviceSideTwin(ref)).toEqual({ desired: { $version: 1 }, reported: { $version: 1 } });
    expect(store.patchReported(ref, { fw: "1.0", nested: { a: 1, b: 2 } })).toBe(2);
    expect(store.patchReported(ref, { fw: null, nested: { b: null, c: 3 } })).toBe(3);
    expect(store.getDeviceSideTwin(ref)?.reported).toEqual({ nested: { a: 1, c: 3 }, $version: 3 });
    const twin = store.getTwin(ref) as unknown as {
      properties: { reported: { $metadata: Record<string, unknown> } };
    };
    expect(Object.keys(twin.properties.reported.$metadata).sort()).toEqual(["$lastUpdated", "nested"]);
  });

  it("rejects bad reported patches and unknown identities with IoT Hub's errors", () => {
    const { store } = storeWithEvents();
    store.putDevice(newDevice("d1"), "absent");
    expect(errorOf(() => store.patchReported({ deviceId: "d1" }, { "bad.key": 1 })).status).toBe(400);
    expect(errorOf(() => store.patchReported({ deviceId: "nope" }, { a: 1 })).code).toBe("DeviceNotFound");
    expect(errorOf(() => store.patchReported({ deviceId: "d1", moduleId: "nope" }, { a: 1 })).code).toBe(
      "ModuleNotFound",
    );
    expect(store.getDeviceSideTwin({ deviceId: "nope" })).toBeUndefined();
  });

  it("records connection state and activity", () => {
    const { store } = storeWithEvents();
    store.putDevice(newDevice("d1"), "absent");
    const at = new Date("2026-01-02T03:04:05.000Z");
    store.setConnectionState({ deviceId: "d1" }, "Connected", at);
    expect(store.getDevice("d1")).toMatchObject({
      connectionState: "Connected",
      connectionStateUpdatedTime: at.toISOString(),
    });
    const later = new Date("2026-01-02T04:00:00.000Z");
    store.touchActivity({ deviceId: "d1" }, later);
    expect(store.getDevice("d1")?.lastActivityTime).toBe(later.toISOString());
  });

  it("announces desired changes and revocations on the event bus", () => {
    const { store, events } = storeWithEvents();
    const desired: unknown[] = [];
    const revoked: unknown[] = [];
    events.on("desiredChanged", (...args) => desired.push(args));
    events.on("identityRevoked", (...args) => revoked.push(args));
    store.putDevice(newDevice("d1"), "absent");
    store.putModule(newModule("d1", "m1"), "absent");
    store.patchTwin({ deviceId: "d1", moduleId: "m1" }, { desired: { rate: 5 } }, "any");
    store.replaceTwin({ deviceId: "d1", moduleId: "m1" }, { desired: { mode: "eco" } }, "any");
    expect(desired).toEqual([
      [{ deviceId: "d1", moduleId: "m1" }, { rate: 5 }, 2],
      [{ deviceId: "d1", moduleId: "m1" }, { rate: null, mode: "eco" }, 3],
    ]);
    store.putModule(newModule("d1", "m1"), "any");
    store.putDevice(
      newDevice("d1", { status: "disabled", authentication: store.getDevice("d1")?.authentication }),
      "any",
    );
    store.deleteDevice("d1", "any");
    expect(revoked).toEqual([
      [{ deviceId: "d1", moduleId: "m1" }, "credentialsChanged"],
      [{ deviceId: "d1" }, "disabled"],
      [{ deviceId: "d1", moduleId: "m1" }, "disabled"],
      [{ deviceId: "d1" }, "deleted"],
      [{ deviceId: "d1", moduleId: "m1" }, "deleted"],
    ]);
  });

  it("announces a bulk batch's revocations once the batch is stored, and none of a failed entry", () => {
    const { store, events, db } = storeWithEvents();
    store.putDevice(newDevice("b1"), "absent");
    // Each listener notes whether the batch's transaction was still open when it heard of the delete.
    const seenBy: Array<[string, boolean]> = [];
    events.on("identityRevoked", (ref) => seenBy.push([ref.deviceId, db.inTransaction]));
    const outcomes = store.applyBatch([
      parseBulkEntry("b1", { id: "b1", importMode: "Delete" }),
      parseBulkEntry("b2", { id: "b2", importMode: "Delete" }),
    ]);
    expect(outcomes.map((error) => error?.code)).toEqual([undefined, "DeviceNotFound"]);
    expect(seenBy).toEqual([["b1", false]]);
  });
});
