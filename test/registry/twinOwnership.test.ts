import { jsonEqual, ownedPatch, ownedView } from "../../components/registry/twinOwnership";

describe("ownedPatch", () => {
  it("sends every declared key and null for each key owned before and no longer declared", () => {
    expect(ownedPatch({ a: 1, b: 2 }, { a: 3 })).toEqual({ a: 3, b: null });
  });

  it("removes nested keys no longer declared without touching the rest of the object", () => {
    expect(ownedPatch({ net: { port: 1, host: "h" } }, { net: { port: 2 } })).toEqual({
      net: { port: 2, host: null },
    });
  });

  it("never mentions keys this resource did not own", () => {
    const patch = ownedPatch(undefined, { mine: true });
    expect(patch).toEqual({ mine: true });
  });

  it("replaces an owned object by a scalar and the other way round", () => {
    expect(ownedPatch({ a: { b: 1 } }, { a: 5 })).toEqual({ a: 5 });
    expect(ownedPatch({ a: 5 }, { a: { b: 1 } })).toEqual({ a: { b: 1 } });
  });
});

describe("ownedView", () => {
  it("shows only the owned keys as the twin holds them, dropping those gone", () => {
    const twin = { a: 9, other: "device's", net: { port: 2, extra: 1 } };
    expect(ownedView(twin, { a: 1, gone: 1, net: { port: 1 } })).toEqual({ a: 9, net: { port: 2 } });
  });
});

describe("jsonEqual", () => {
  it("compares structure, not key order", () => {
    expect(jsonEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
  });
});
