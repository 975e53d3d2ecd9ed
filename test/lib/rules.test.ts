import {
  checkMethodPayload,
  LIMITS,
  checkDeviceId,
  checkModuleId,
  checkSymmetricKeys,
  checkThumbprints,
  checkTwinSection,
  describeViolations,
} from "../../lib/iothub/rules";

const key = (bytes: number): string => Buffer.alloc(bytes, 7).toString("base64");

/** An object nested `levels` objects deep below the section: {l1: {l2: ... {lN: "leaf"}}}. */
function nested(levels: number): Record<string, unknown> {
  let value: unknown = "leaf";
  for (let level = levels; level >= 1; level--) value = { [`l${level}`]: value };
  return value as Record<string, unknown>;
}

describe("identity ids", () => {
  it("accepts IoT Hub's whole id alphabet up to 128 characters", () => {
    expect(checkDeviceId("a-Z:0.+%_#*?!(),=@;$'")).toEqual([]);
    expect(checkDeviceId("d".repeat(128))).toEqual([]);
  });

  it("rejects too long, empty, non-string and out-of-alphabet ids, naming the field", () => {
    expect(checkDeviceId("d".repeat(129))).toEqual([
      { field: "deviceId", rule: "must be at most 128 characters" },
    ]);
    expect(checkDeviceId("")[0].rule).toBe("must not be empty");
    expect(checkDeviceId(42)[0].rule).toBe("must be a string");
    expect(checkDeviceId("with space", "devices[3].id")[0].field).toBe("devices[3].id");
    expect(checkDeviceId("slash/id")).toHaveLength(1);
    expect(checkDeviceId("ünïcode")).toHaveLength(1);
  });

  it("refuses '.' and '..' as device and module ids (path segments that mean this and the parent)", () => {
    for (const id of [".", ".."]) {
      expect(checkDeviceId(id)).toEqual([{ field: "deviceId", rule: "must not be '.' or '..'" }]);
      expect(checkModuleId(id, "modules[0].moduleId")).toEqual([
        { field: "modules[0].moduleId", rule: "must not be '.' or '..'" },
      ]);
    }
    expect(checkDeviceId("...")).toEqual([]);
    expect(checkDeviceId(".d")).toEqual([]);
  });

  it("reserves module ids starting with $", () => {
    expect(checkModuleId("$edgeAgent")[0].rule).toMatch(/must not start with \$/);
    expect(checkModuleId("edge$Agent")).toEqual([]);
    expect(checkModuleId("m".repeat(129), "modules[0].moduleId")[0].field).toBe("modules[0].moduleId");
  });
});

describe("symmetric keys", () => {
  it("accepts both keys of 16 to 64 bytes, or neither", () => {
    expect(checkSymmetricKeys(key(16), key(64))).toEqual([]);
    expect(checkSymmetricKeys(undefined, undefined)).toEqual([]);
    expect(checkSymmetricKeys(null, "")).toEqual([]);
  });

  it("rejects one key of two", () => {
    const violations = checkSymmetricKeys(key(32), "");
    expect(violations).toHaveLength(1);
    expect(violations[0].field).toBe("authentication.symmetricKey.secondaryKey");
    expect(violations[0].rule).toMatch(/both keys/);
  });

  it("rejects bad base64 and wrong lengths", () => {
    expect(checkSymmetricKeys("not base64!!", key(32))[0].rule).toBe("must be valid base64");
    expect(checkSymmetricKeys(key(15), key(65)).map((v) => v.field)).toEqual([
      "authentication.symmetricKey.primaryKey",
      "authentication.symmetricKey.secondaryKey",
    ]);
  });
});

describe("thumbprints", () => {
  it("accepts SHA-1 and SHA-256 hex thumbprints, and absent ones", () => {
    expect(checkThumbprints("a".repeat(40), "B".repeat(64))).toEqual([]);
    expect(checkThumbprints("a".repeat(40), null)).toEqual([]);
  });

  it("rejects other lengths and non-hex", () => {
    expect(checkThumbprints("a".repeat(41), "z".repeat(40))).toHaveLength(2);
  });
});

describe("twin sections", () => {
  // Microsoft's example of the deepest valid twin: {one: {two: ... {ten: {property: "value"}}}}.
  it("accepts ten nested objects below the section and rejects an eleventh", () => {
    expect(checkTwinSection("desired", nested(11))).toEqual([]);
    const violations = checkTwinSection("desired", nested(12));
    expect(violations).toHaveLength(1);
    expect(violations[0].rule).toMatch(/at most 10 levels/);
    expect(violations[0].field).toBe("desired.l1.l2.l3.l4.l5.l6.l7.l8.l9.l10.l11");
  });

  it("answers input nested 40,000 deep with the one nesting violation, without overflowing the stack", () => {
    const deep = JSON.parse('{"a":'.repeat(40_000) + "1" + "}".repeat(40_000)) as unknown;
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
    expect(checkTwinSection("reported", deep)).toEqual([
      { field: `reported${".a".repeat(11)}`, rule: "must be nested at most 10 levels deep" },
    ]);
  });

  it("rejects sections over their size limit", () => {
    const big = { blob: "x".repeat(4000), more: "y".repeat(4000), extra: "z".repeat(400) };
    expect(checkTwinSection("tags", big)[0].rule).toMatch(/at most 8192 bytes/);
    expect(checkTwinSection("desired", big)).toEqual([]);
    expect(LIMITS.twinSectionMaxBytes.reported).toBe(32768);
  });

  it("rejects bad property names and long strings; allows null (delete)", () => {
    expect(checkTwinSection("reported", { "a.b": 1 })[0].field).toBe("reported.a.b");
    expect(checkTwinSection("reported", { $version: 1 })).toHaveLength(1);
    expect(checkTwinSection("reported", { "a b": 1 })).toHaveLength(1);
    expect(checkTwinSection("reported", { "a\u0001": 1 })).toHaveLength(1);
    expect(checkTwinSection("reported", { ["k".repeat(1025)]: 1 })).toHaveLength(1);
    expect(checkTwinSection("reported", { s: "s".repeat(4097) })[0].rule).toMatch(/4096 bytes/);
    expect(checkTwinSection("reported", { gone: null, list: [1, "two", { three: 3 }] })).toEqual([]);
    expect(checkTwinSection("tags", [1])[0].rule).toBe("must be a JSON object");
  });

  it("describes violations as 'field: rule; field: rule'", () => {
    expect(
      describeViolations([
        { field: "deviceId", rule: "must be at most 128 characters" },
        { field: "desired.a", rule: "x" },
      ]),
    ).toBe("deviceId: must be at most 128 characters; desired.a: x");
  });
});

describe("checkMethodPayload", () => {
  const nested = (levels: number): unknown => JSON.parse("[".repeat(levels) + "]".repeat(levels));

  it("takes any JSON value up to 64 levels and 128 KB, null and absent included", () => {
    for (const payload of [
      undefined,
      null,
      3,
      "text",
      { a: [1, { b: 2 }] },
      nested(64),
      "x".repeat(131_000),
    ]) {
      expect(checkMethodPayload(payload)).toEqual([]);
    }
  });

  it("names the field and the rule for a payload nested too deep (without walking all of it) or too large", () => {
    expect(checkMethodPayload(nested(65))).toEqual([
      { field: "payload", rule: "must be nested at most 64 levels deep" },
    ]);
    expect(checkMethodPayload(nested(200_000))).toHaveLength(1);
    expect(checkMethodPayload({ big: "x".repeat(131_072) })).toEqual([
      { field: "payload", rule: "must be at most 131072 bytes (it is 131082)" },
    ]);
  });
});
