import { Pacer, pacerFor } from "../../components/registry/pacer";
import { paceFor } from "../../components/registry/options";

describe("Pacer", () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  it("hands out one slot per interval, in order", async () => {
    const pacer = new Pacer(10); // one slot every 100 ms
    const granted: number[] = [];
    for (let i = 0; i < 4; i++) void pacer.acquire().then(() => granted.push(i));
    await jest.advanceTimersByTimeAsync(0);
    expect(granted).toEqual([0]);
    await jest.advanceTimersByTimeAsync(100);
    expect(granted).toEqual([0, 1]);
    await jest.advanceTimersByTimeAsync(200);
    expect(granted).toEqual([0, 1, 2, 3]);
  });

  it("lets up to `burst` calls go at once after a quiet spell, then paces", async () => {
    const pacer = new Pacer(10, 3);
    const granted: number[] = [];
    for (let i = 0; i < 5; i++) void pacer.acquire().then(() => granted.push(i));
    await jest.advanceTimersByTimeAsync(0);
    expect(granted).toEqual([0, 1, 2]);
    await jest.advanceTimersByTimeAsync(100);
    expect(granted).toEqual([0, 1, 2, 3]);
    await jest.advanceTimersByTimeAsync(100);
    expect(granted).toEqual([0, 1, 2, 3, 4]);
  });

  it("takes a new rate for the slots handed out after the change", async () => {
    const pacer = new Pacer(1);
    await pacer.acquire();
    pacer.setRate(1000);
    const second = pacer.acquire(); // still waits for the slot computed at the old rate
    let done = false;
    void second.then(() => (done = true));
    await jest.advanceTimersByTimeAsync(999);
    expect(done).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(done).toBe(true);
  });
});

describe("pacerFor", () => {
  it("returns one limiter per hub and limiter name in the process", () => {
    expect(pacerFor("hub-a", "all", 5)).toBe(pacerFor("hub-a", "all", 5));
    expect(pacerFor("hub-a", "all", 5)).not.toBe(pacerFor("hub-b", "all", 5));
    expect(pacerFor("hub-a", "registry", 5)).not.toBe(pacerFor("hub-a", "twinUpdate", 5));
  });
});

describe("paceFor", () => {
  it("paces every class with one limiter for a number, each class on its own for an object", () => {
    expect(paceFor({ opsPerSecond: 3 }, "twinRead")).toEqual({
      limiterName: "all",
      opsPerSecond: 3,
      burst: 1,
    });
    expect(paceFor({ opsPerSecond: { registry: 1.5 }, burst: { registry: 100 } }, "registry")).toEqual({
      limiterName: "registry",
      opsPerSecond: 1.5,
      burst: 100,
    });
    expect(paceFor({ opsPerSecond: { registry: 1.5 } }, "twinUpdate")).toBeUndefined();
    expect(paceFor(undefined, "registry")).toBeUndefined();
  });
});
