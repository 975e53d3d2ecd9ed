import BetterSqlite3 from "better-sqlite3";
import { parseEnrollmentGroupBody, parseIndividualEnrollmentBody } from "../../lib/dps/enrollment";
import { DpsError } from "../../local-hub/errors/dpsError";
import { DpsStore, type RegistrationModel } from "../../local-hub/persistence/dpsStore";

// The DPS store on its own, in memory: what the service API and the registration flow build on.

const HUBS = ["hub.example"];
const group = (id: string, body: Record<string, unknown> = {}) =>
  parseEnrollmentGroupBody(id, { attestation: { type: "symmetricKey" }, ...body }, HUBS).input!;
const enrollment = (id: string, body: Record<string, unknown> = {}) =>
  parseIndividualEnrollmentBody(id, { attestation: { type: "symmetricKey" }, ...body }, HUBS).input!;
const registration = (registrationId: string, enrollmentGroupId: string | null): RegistrationModel => ({
  registrationId,
  enrollmentGroupId,
  assignedHub: "hub.example",
  deviceId: registrationId,
  status: "assigned",
  substatus: "initialAssignment",
  errorCode: null,
  errorMessage: null,
});

function errorOf(action: () => unknown): DpsError {
  try {
    action();
  } catch (error) {
    if (error instanceof DpsError) return error;
    throw error;
  }
  throw new Error("expected a DpsError");
}

describe("DPS store", () => {
  let db: BetterSqlite3.Database;
  let store: DpsStore;
  beforeEach(() => {
    db = new BetterSqlite3(":memory:");
    store = new DpsStore(db);
  });
  afterEach(() => db.close());

  it("makes the id scope once and keeps it (also for another store on the same database)", () => {
    const scope = store.idScope();
    expect(scope).toMatch(/^0ne[0-9A-F]{8}$/);
    expect(store.idScope()).toBe(scope);
    expect(new DpsStore(db).idScope()).toBe(scope);
  });

  it("creates and replaces enrollment groups: a new etag per write, the creation time kept, stale etags refused", () => {
    const created = store.putEnrollmentGroup(group("g1"), "absent");
    expect(store.getEnrollmentGroup("g1")).toEqual(created);
    const replaced = store.putEnrollmentGroup(group("g1", { provisioningStatus: "disabled" }), {
      etag: created.etag,
    });
    expect(replaced.etag).not.toBe(created.etag);
    expect(replaced.createdDateTimeUtc).toBe(created.createdDateTimeUtc);
    expect(replaced.provisioningStatus).toBe("disabled");
    const stale = errorOf(() => store.putEnrollmentGroup(group("g1"), { etag: created.etag }));
    expect([stale.status, stale.errorCode]).toEqual([412, 412002]);
    expect(store.getEnrollmentGroup("g1")?.etag).toBe(replaced.etag);
    // An etag on a group that does not exist cannot match either.
    expect(errorOf(() => store.putEnrollmentGroup(group("g2"), { etag: "x" })).status).toBe(412);
    expect(store.getEnrollmentGroup("g2")).toBeUndefined();
  });

  it("deletes groups (404 when missing, 412 on a stale etag) and keeps their registration records", () => {
    const created = store.putEnrollmentGroup(group("g1"), "absent");
    store.putRegistration(registration("dev-1", "g1"));
    expect(errorOf(() => store.deleteEnrollmentGroup("g1", { etag: "old" })).status).toBe(412);
    store.deleteEnrollmentGroup("g1", { etag: created.etag });
    expect(store.getEnrollmentGroup("g1")).toBeUndefined();
    expect(errorOf(() => store.deleteEnrollmentGroup("g1", "absent")).errorCode).toBe(404202);
    expect(store.getRegistration("dev-1")?.enrollmentGroupId).toBe("g1");
  });

  it("refuses a 101st enrollment group of one attestation kind", () => {
    for (let i = 0; i < 100; i++) store.putEnrollmentGroup(group(`g${i}`), "absent");
    expect(errorOf(() => store.putEnrollmentGroup(group("g100"), "absent")).status).toBe(403);
    // Replacing one of the hundred is no new group.
    expect(store.putEnrollmentGroup(group("g5"), "absent").enrollmentGroupId).toBe("g5");
  });

  it("pages enrollment groups in id order", () => {
    for (const id of ["c", "a", "b"]) store.putEnrollmentGroup(group(id), "absent");
    const first = store.listEnrollmentGroups("", 2);
    expect(first.items.map((item) => item.enrollmentGroupId)).toEqual(["a", "b"]);
    expect(first.next).toBe("b");
    const second = store.listEnrollmentGroups(first.next!, 2);
    expect(second.items.map((item) => item.enrollmentGroupId)).toEqual(["c"]);
    expect(second.next).toBeUndefined();
  });

  it("shows an individual enrollment's registration state, and deletes it with the enrollment", () => {
    store.putEnrollment(enrollment("dev-1", { deviceId: "device-one" }), "absent");
    expect(store.getEnrollment("dev-1")?.registrationState).toBeUndefined();
    const state = store.putRegistration(registration("dev-1", null));
    expect(store.getEnrollment("dev-1")?.registrationState).toEqual({
      ...state,
      enrollmentGroupId: undefined,
    });
    store.deleteEnrollment("dev-1", "absent");
    expect(store.getRegistration("dev-1")).toBeUndefined();
    expect(errorOf(() => store.deleteEnrollment("dev-1", "absent")).errorCode).toBe(404201);
  });

  it("applies a bulk operation entry by entry in one transaction", () => {
    store.putEnrollment(enrollment("dev-1"), "absent");
    const outcomes = store.applyEnrollmentBatch([
      { kind: "create", enrollment: enrollment("dev-1") },
      { kind: "create", enrollment: enrollment("dev-2") },
      { kind: "put", enrollment: enrollment("dev-3"), condition: { etag: "nope" } },
      { kind: "delete", registrationId: "dev-9", condition: "absent" },
    ]);
    expect(outcomes.map((outcome) => outcome?.status)).toEqual([409, undefined, 412, 404]);
    expect(store.listEnrollments("", 10).items.map((item) => item.registrationId)).toEqual([
      "dev-1",
      "dev-2",
    ]);
  });

  it("records registrations again with a new etag and the first creation time, and lists them per group", () => {
    const first = store.putRegistration(registration("dev-2", "g1"));
    const again = store.putRegistration({ ...registration("dev-2", "g1"), substatus: "deviceDataMigrated" });
    expect(again.createdDateTimeUtc).toBe(first.createdDateTimeUtc);
    expect(again.etag).not.toBe(first.etag);
    store.putRegistration(registration("dev-1", "g1"));
    store.putRegistration(registration("dev-3", "g2"));
    expect(store.listRegistrations("g1", "", 10).items.map((item) => item.registrationId)).toEqual([
      "dev-1",
      "dev-2",
    ]);
    expect(errorOf(() => store.deleteRegistration("dev-2", { etag: first.etag })).status).toBe(412);
    store.deleteRegistration("dev-2", { etag: again.etag });
    expect(errorOf(() => store.deleteRegistration("dev-2", "absent")).errorCode).toBe(404203);
  });
});
