import { TokenExpiry } from "../../local-hub/mqtt/tokenExpiry";

// The per-connection timers behind the hub's SAS expiry (the hub's behaviour is in mqttTokenExpiry.test.ts):
// released connections leave no timer in the process, and a token valid for years does not close its connection
// at once.

const activeTimers = (): number =>
  process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;

describe("TokenExpiry", () => {
  it("a released connection leaves no timer behind and is never reported expired", async () => {
    const expired: string[] = [];
    let keptExpired!: () => void;
    const kept = { id: "kept" };
    const keptReported = new Promise<void>((resolve) => (keptExpired = resolve));
    const expiry = new TokenExpiry<{ id: string }>((connection) => {
      expired.push(connection.id);
      if (connection === kept) keptExpired();
    });
    const before = activeTimers();
    const connections = Array.from({ length: 50 }, (_, i) => ({ id: `c${i}` }));
    for (const connection of connections) expiry.watch(connection, Date.now() + 20);
    expect(expiry.size).toBe(50);
    expect(activeTimers()).toBe(before + 50);
    for (const connection of connections) expiry.release(connection);
    expect(expiry.size).toBe(0);
    expect(activeTimers()).toBeLessThanOrEqual(before); // other timers of the worker may end meanwhile

    // A connection still watched expires; the released ones, whose tokens expired earlier, are not reported.
    expiry.watch(kept, Date.now() + 40);
    await keptReported;
    expect(expired).toEqual(["kept"]);
  });

  it("reports a connection once, when its token expires, and then holds no timer for it", async () => {
    const before = activeTimers();
    const connection = { id: "soon" };
    const reported = await new Promise<{ id: string }[]>((resolve) => {
      const seen: { id: string }[] = [];
      const expiry = new TokenExpiry<{ id: string }>((expiredConnection) => {
        seen.push(expiredConnection);
        expect(expiry.size).toBe(0);
        setImmediate(() => resolve(seen));
      });
      expiry.watch(connection, Date.now() + 10);
    });
    expect(reported).toEqual([connection]);
    expect(activeTimers()).toBeLessThanOrEqual(before); // other timers of the worker may end meanwhile
  });

  it("watching a connection again replaces its timer (one per connection)", () => {
    const expiry = new TokenExpiry<object>(() => undefined);
    const before = activeTimers();
    const connection = {};
    expiry.watch(connection, Date.now() + 60_000);
    expiry.watch(connection, Date.now() + 120_000);
    expect(expiry.size).toBe(1);
    expect(activeTimers()).toBe(before + 1);
    expiry.close();
    expect(activeTimers()).toBeLessThanOrEqual(before); // other timers of the worker may end meanwhile
  });

  it("does not close a connection whose token is valid for longer than a timer can wait (~24.8 days)", async () => {
    const expired: string[] = [];
    const expiry = new TokenExpiry<{ id: string }>((connection) => expired.push(connection.id));
    // Node fires a timer of more than 2^31 - 1 ms after 1 ms: a ten-year token must not expire with the short one.
    expiry.watch({ id: "ten years" }, Date.now() + 10 * 365 * 24 * 3600_000);
    const shortOne = new Promise<void>((resolve) => {
      new TokenExpiry<{ id: string }>(() => resolve()).watch({ id: "short" }, Date.now() + 30);
    });
    await shortOne;
    expect(expired).toEqual([]);
    expect(expiry.size).toBe(1);
    expiry.close();
    expect(expiry.size).toBe(0);
  });
});
