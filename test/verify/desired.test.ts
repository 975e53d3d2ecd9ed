import { compareDesired, describeMismatch } from "../../verify/desired";

describe("compareDesired", () => {
  it("accepts declared keys that are present and equal, ignoring keys set by others and $version", () => {
    const received = { interval: 30, mode: "eco", nested: { a: 1, b: [1, 2] }, other: true, $version: 7 };
    expect(compareDesired({ interval: 30, mode: "eco", nested: { a: 1, b: [1, 2] } }, received)).toEqual([]);
  });

  it("names a changed key with what was expected and what was found", () => {
    const mismatches = compareDesired({ interval: 30, mode: "eco" }, { interval: 10, mode: "eco" });
    expect(mismatches).toEqual([{ key: "interval", expected: 30, found: 10 }]);
    expect(describeMismatch(mismatches[0])).toBe('"interval": expected 30, found 10');
  });

  it("names a missing key as missing", () => {
    const [mismatch] = compareDesired({ interval: 30 }, {});
    expect(describeMismatch(mismatch)).toBe('"interval": expected 30, found nothing (the key is missing)');
  });

  it("points at the nested key that differs or is missing", () => {
    expect(compareDesired({ telemetry: { interval: 30 } }, { telemetry: { interval: 5 } })).toEqual([
      { key: "telemetry.interval", expected: 30, found: 5 },
    ]);
    const [missing] = compareDesired(
      { telemetry: { interval: 30, unit: "s" } },
      { telemetry: { interval: 30 } },
    );
    expect(describeMismatch(missing)).toBe(
      '"telemetry.unit": expected "s", found nothing (the key is missing)',
    );
  });

  it("accepts nested keys set by others, as the twin resources own only the keys they declare", () => {
    expect(
      compareDesired({ telemetry: { interval: 30 } }, { telemetry: { interval: 30, byDevice: 1 } }),
    ).toEqual([]);
  });

  it("tells types apart: a string is not a number, an object is not null, arrays compare by element", () => {
    expect(compareDesired({ a: 1 }, { a: "1" })).toHaveLength(1);
    expect(compareDesired({ a: { b: 1 } }, { a: null })).toHaveLength(1);
    expect(compareDesired({ a: [1, 2] }, { a: [2, 1] })).toEqual([
      { key: "a", expected: [1, 2], found: [2, 1] },
    ]);
    expect(compareDesired({ a: [1] }, { a: { 0: 1 } })).toHaveLength(1);
  });

  it("treats a key declared null as one that must be absent (null deletes a desired key)", () => {
    expect(compareDesired({ retired: null }, { other: 1 })).toEqual([]);
    expect(compareDesired({ retired: null }, { retired: 5 })).toEqual([
      { key: "retired", expected: null, found: 5 },
    ]);
  });

  it("compares arrays whole, objects inside them included", () => {
    expect(compareDesired({ a: [{ x: 1 }] }, { a: [{ x: 1, y: 2 }] })).toHaveLength(1);
    expect(compareDesired({ a: [{ x: 1, y: 2 }] }, { a: [{ y: 2, x: 1 }] })).toEqual([]);
  });

  it("reports every declared key that differs, not only the first", () => {
    expect(compareDesired({ n: { a: 1, b: 2 } }, { n: { a: 0, b: 0 } }).map((m) => m.key)).toEqual([
      "n.a",
      "n.b",
    ]);
    expect(compareDesired({ a: 1, b: 2, c: 3 }, { a: 0, b: 2, c: 0 }).map((m) => m.key)).toEqual(["a", "c"]);
  });
});
