import BetterSqlite3 from "better-sqlite3";
import { PrincipalStore } from "../../local-hub/persistence/principalStore";

/** The principal store on its own (in-memory SQLite): secrets by digest, and when an assignment takes effect. */
describe("PrincipalStore", () => {
  const db = new BetterSqlite3(":memory:");
  db.pragma("foreign_keys = ON");
  const store = new PrincipalStore(db);
  const { principal, clientSecret } = store.add("app");
  afterAll(() => db.close());

  it("authenticates the client with its secret only, telling an unknown client from a wrong secret", () => {
    expect(store.authenticateClient(principal.clientId, clientSecret)).toMatchObject({
      ok: true,
      principal: { name: "app" },
    });
    expect(store.authenticateClient(principal.clientId, `${clientSecret}x`)).toEqual({
      ok: false,
      refusal: "wrong secret",
    });
    expect(store.authenticateClient(principal.clientId, "")).toEqual({ ok: false, refusal: "wrong secret" });
    expect(store.authenticateClient("someone-else", clientSecret)).toEqual({
      ok: false,
      refusal: "unknown client",
    });
  });

  it("puts an assignment in effect from its time on, not a millisecond before", () => {
    const now = Date.UTC(2026, 11, 2, 12);
    expect(store.assign("app", "IoT Hub Twin Contributor", 60_000, now)).toBe(true);
    const pending = store.rolesOf(principal.objectId, now + 59_999);
    expect(pending.effective).toEqual([]);
    expect(pending.pending).toEqual([
      { role: expect.objectContaining({ name: "IoT Hub Twin Contributor" }), effectiveAtMs: now + 60_000 },
    ]);
    const effective = store.rolesOf(principal.objectId, now + 60_000);
    expect(effective.effective.map((role) => role.name)).toEqual(["IoT Hub Twin Contributor"]);
    expect(effective.pending).toEqual([]);
    // Assigning it again changes nothing, its time included.
    expect(store.assign("app", "IoT Hub Twin Contributor", 0, now + 1)).toBe(false);
    expect(store.rolesOf(principal.objectId, now + 59_999).effective).toEqual([]);
  });

  it("has no roles for an object id no principal has, and loses a removed principal's assignments", () => {
    expect(store.rolesOf("nobody")).toEqual({ effective: [], pending: [] });
    store.remove("app");
    expect(db.prepare("SELECT COUNT(*) AS n FROM entra_role_assignments").get()).toEqual({ n: 0 });
  });
});
