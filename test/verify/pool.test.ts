import { mapWithConcurrency } from "../../verify/pool";

describe("mapWithConcurrency", () => {
  it("never runs more than the limit at once and keeps the order of results", async () => {
    let inFlight = 0;
    let peak = 0;
    const releases: Array<() => void> = [];
    const running = mapWithConcurrency([1, 2, 3, 4, 5, 6, 7], 3, async (item) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise<void>((resolve) => releases.push(resolve));
      inFlight--;
      return item * 10;
    });
    // Release the waiting items one by one, each time after the pool has had a chance to start the next.
    while (releases.length > 0 || inFlight > 0) {
      await new Promise((resolve) => setImmediate(resolve));
      releases.shift()?.();
    }
    expect(await running).toEqual([10, 20, 30, 40, 50, 60, 70]);
    expect(peak).toBe(3);
  });

  it("handles fewer items than the limit and an empty list", async () => {
    expect(await mapWithConcurrency([1], 8, async (x) => x + 1)).toEqual([2]);
    expect(await mapWithConcurrency([], 8, async (x) => x)).toEqual([]);
  });
});
