import { parseTwinUpdate } from "../../lib/iothub/twin";

// The body of a service twin PATCH/PUT: what a service may write, with IoT Hub's twin rules.

const described = (body: Record<string, unknown>, kind: "patch" | "replace"): string =>
  parseTwinUpdate(body, kind)
    .violations.map((v) => `${v.field}: ${v.rule}`)
    .join("; ");

describe("twin update bodies", () => {
  it("takes tags and desired, and drops the hub's $metadata/$version from a twin sent back as read", () => {
    expect(
      parseTwinUpdate(
        { tags: { site: "a" }, properties: { desired: { rate: 5, $metadata: {}, $version: 3 } } },
        "replace",
      ),
    ).toEqual({ update: { tags: { site: "a" }, desired: { rate: 5 } }, violations: [] });
    expect(parseTwinUpdate({ properties: { desired: { gone: null } } }, "patch").update).toEqual({
      tags: undefined,
      desired: { gone: null },
    });
    expect(parseTwinUpdate({ properties: { desired: null } }, "patch")).toEqual({
      update: { tags: undefined, desired: null },
      violations: [],
    });
  });

  it("refuses reported properties in a patch, a non-object properties, and rule breaks, naming each field", () => {
    expect(described({ properties: { reported: { a: 1 } } }, "patch")).toBe(
      "properties.reported: is written by the device only",
    );
    expect(described({ properties: "x" }, "patch")).toBe("properties: must be an object");
    expect(described({ tags: { "a.b": 1 }, properties: { desired: [] } }, "patch")).toBe(
      "tags.a.b: property names must not contain control characters, '.', '$' or spaces; " +
        "properties.desired: must be a JSON object",
    );
  });
});
