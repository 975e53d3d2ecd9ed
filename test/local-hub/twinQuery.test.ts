import {
  MAX_NESTING_DEPTH,
  MAX_QUERY_LENGTH,
  parseTargetCondition,
  parseTwinQuery,
} from "../../local-hub/handlers/twinQuery";
import { matches, runTwinQuery } from "../../local-hub/handlers/twinQueryEvaluation";
import { sqlPrefilter } from "../../local-hub/persistence/twinPrefilter";

const twin = {
  deviceId: "d1",
  status: "enabled",
  tags: { site: "paris", floor: 3, flags: { hot: true }, "odd-name": 1, quote: "it's" },
  properties: { desired: { interval: 10 }, reported: { firmware: "1.2.0" } },
};

const where = (condition: string): boolean =>
  matches(parseTwinQuery(`SELECT * FROM devices WHERE ${condition}`).where, twin);

describe("twin query language", () => {
  it("parses both sources, case-insensitively", () => {
    expect(parseTwinQuery("SELECT * FROM devices").from).toBe("devices");
    expect(parseTwinQuery("select * from devices.modules").from).toBe("modules");
    expect(() => parseTwinQuery("SELECT * FROM jobs")).toThrow(/only devices and devices.modules/);
    expect(() => parseTwinQuery("SELECT * FROM devices WHERE")).toThrow(/expected a property/);
    expect(() => parseTwinQuery("SELECT * FROM devices WHERE tags.x = 'open")).toThrow(/unterminated/);
  });

  it("compares ids, status, tags and properties with every operator", () => {
    expect(where("deviceId = 'd1'")).toBe(true);
    expect(where("status != 'disabled'")).toBe(true);
    expect(where("status <> 'enabled'")).toBe(false);
    expect(where("tags.floor > 2 AND tags.floor >= 3 AND tags.floor < 4 AND tags.floor <= 3")).toBe(true);
    expect(where('tags.site = "paris"')).toBe(true);
    expect(where("tags.flags.hot = true")).toBe(true);
    expect(where("properties.desired.interval = 10")).toBe(true);
    expect(where("properties.reported.firmware >= '1.10.0'")).toBe(true);
  });

  it("combines with AND, OR, NOT and parentheses, AND binding tighter than OR", () => {
    expect(where("tags.site = 'rome' OR tags.floor = 3 AND status = 'enabled'")).toBe(true);
    expect(where("(tags.site = 'rome' OR tags.floor = 3) AND status = 'disabled'")).toBe(false);
    expect(where("NOT tags.site = 'rome'")).toBe(true);
    expect(where("NOT (tags.site = 'paris')")).toBe(false);
  });

  it("tests membership with IN and NIN lists", () => {
    expect(where("tags.site IN ['rome', 'paris']")).toBe(true);
    expect(where("tags.site NIN ['rome', 'paris']")).toBe(false);
    expect(where("tags.floor IN [1, 2, '3']")).toBe(false);
    expect(where("tags.floor NIN [1, 2, '3']")).toBe(true);
    expect(where("tags.missing NIN [1]")).toBe(false);
    expect(() => parseTwinQuery("SELECT * FROM devices WHERE tags.a IN [tags.b]")).toThrow(/list of values/);
    expect(() => parseTwinQuery("SELECT * FROM devices WHERE tags.a IN [1 2]")).toThrow(
      /expected ',' or ']'/,
    );
  });

  it("treats missing properties and mismatched types as no match, even under NOT", () => {
    expect(where("tags.missing = 1")).toBe(false);
    expect(where("tags.missing != 1")).toBe(false);
    expect(where("NOT tags.missing = 1")).toBe(false);
    expect(where("tags.floor = '3'")).toBe(false);
    expect(where("IS_DEFINED(tags.site) AND NOT IS_DEFINED(tags.missing)")).toBe(true);
  });

  it("turns the top-level AND chain's id and value comparisons into a SQL prefilter", () => {
    const where = (text: string) => parseTwinQuery(`SELECT * FROM devices.modules WHERE ${text}`).where;
    expect(
      sqlPrefilter(
        where("deviceId = 'd7' AND moduleId = 'm' AND tags.site = 'paris' AND 3 < properties.reported.n"),
        "modules",
      ),
    ).toEqual({
      terms: ["device_id = ?", "module_id = ?", "json_extract(twin, ?) = ?", "json_extract(twin, ?) > ?"],
      params: ["d7", "m", '$."tags"."site"', "paris", '$."reported"."n"', 3],
    });
    // OR, NOT, string ordering, booleans and paths outside the stored sections cannot be prefiltered.
    expect(sqlPrefilter(where("deviceId = 'd7' OR tags.a = 1"), "modules").terms).toEqual([]);
    expect(
      sqlPrefilter(
        where("NOT tags.a = 1 AND tags.b > 'x' AND tags.c = true AND status = 'enabled'"),
        "modules",
      ).terms,
    ).toEqual([]);
  });

  it("reads string escapes, hexadecimal numbers and [[names]] that are no identifier", () => {
    expect(where("tags.quote = 'it\\'s' AND tags.quote = \"it's\"")).toBe(true);
    expect(where("tags.site = '\\u0070aris'")).toBe(true);
    expect(where("tags.floor = 0x3")).toBe(true);
    expect(where("tags.[[odd-name]] = 1")).toBe(true);
    expect(() => parseTwinQuery("SELECT * FROM devices WHERE tags.a = 'x\\ny'")).toThrow(
      /string at position 37: unknown escape at position 39 \(allowed: /,
    );
    expect(() => parseTwinQuery("SELECT * FROM devices WHERE tags.[[a = 1")).toThrow(/'\[\[' at position 33/);
    expect(() => parseTwinQuery("SELECT * FROM devices WHERE tags. = 1")).toThrow(/property name after '.'/);
  });

  it("sees a twin's own properties only, its top-level names without regard to case", () => {
    expect(where("IS_DEFINED(tags.constructor) OR IS_DEFINED(tags.site.length)")).toBe(false);
    expect(where("DeviceId = 'd1' AND Tags.site = 'paris'")).toBe(true);
    expect(where("tags.Site = 'paris'")).toBe(false);
  });

  it("parses projections: names from AS or the last property, an unnamed COUNT() as $1, TOP, GROUP BY", () => {
    expect(
      parseTwinQuery(
        "SELECT TOP 7 tags.site, properties.reported.firmware AS fw, COUNT() FROM devices.modules GROUP BY tags.site, properties.reported.firmware",
      ),
    ).toEqual({
      from: "modules",
      top: 7,
      select: [
        { kind: "path", path: ["tags", "site"], name: "site" },
        { kind: "path", path: ["properties", "reported", "firmware"], name: "fw" },
        { kind: "count", name: "$1" },
      ],
      groupBy: [
        ["tags", "site"],
        ["properties", "reported", "firmware"],
      ],
    });
    expect(
      parseTwinQuery("SELECT COUNT(), DeviceId, COUNT() AS n, COUNT() FROM devices GROUP BY deviceId").select,
    ).toEqual([
      { kind: "count", name: "$1" },
      { kind: "path", path: ["DeviceId"], name: "DeviceId" },
      { kind: "count", name: "n" },
      { kind: "count", name: "$2" },
    ]);
    expect(() => parseTwinQuery("SELECT COUNT(deviceId) FROM devices")).toThrow(/COUNT takes no argument/);
    expect(() => parseTwinQuery("SELECT tags.site AS a.b FROM devices")).toThrow(
      /AS must be followed by a name/,
    );
    expect(() => parseTwinQuery("SELECT deviceId, COUNT() AS n FROM devices")).toThrow(
      /SELECT deviceId: with COUNT\(\) or GROUP BY/,
    );
  });

  it("runs projections, groups and TOP over twins it is handed", () => {
    const twins = [
      { deviceId: "a", tags: { site: "paris" } },
      { deviceId: "b", tags: { site: "rome" } },
      { deviceId: "c", tags: {} },
      { deviceId: "d", tags: { site: "paris" } },
    ];
    const run = (text: string) => runTwinQuery(parseTwinQuery(text), twins);
    expect(run("SELECT deviceId, tags.site FROM devices WHERE deviceId != 'b'")).toStrictEqual([
      { deviceId: "a", site: "paris" },
      { deviceId: "c" },
      { deviceId: "d", site: "paris" },
    ]);
    expect(run("SELECT tags.site AS site, COUNT() AS n FROM devices GROUP BY tags.site")).toStrictEqual([
      { site: "paris", n: 2 },
      { site: "rome", n: 1 },
      { n: 1 },
    ]);
    expect(run("SELECT COUNT() AS n FROM devices WHERE tags.site = 'oslo'")).toStrictEqual([{ n: 0 }]);
    expect(run("SELECT TOP 1 * FROM devices WHERE tags.site = 'paris'")).toStrictEqual([twins[0]]);
  });

  it("parses ADM target conditions: a WHERE condition, after FROM ... WHERE for a collection, or *", () => {
    const target = parseTargetCondition("tags.site='paris' AND properties.desired.interval > 1");
    expect(target.from).toBeUndefined();
    expect(matches(target.where, twin)).toBe(true);
    expect(matches(parseTargetCondition("tags.site='rome'").where, twin)).toBe(false);
    expect(parseTargetCondition("FROM devices.modules WHERE moduleId = 'm'")).toEqual({
      from: "modules",
      where: {
        kind: "compare",
        operator: "=",
        left: { kind: "path", path: ["moduleId"] },
        right: { kind: "literal", value: "m" },
      },
    });
    expect(parseTargetCondition(" * ")).toEqual({});
    expect(() => parseTargetCondition("FROM devices tags.a = 1")).toThrow(/expected WHERE, found 'tags.a'/);
    expect(() => parseTargetCondition("tags.a = 1 GROUP BY tags.a")).toThrow(
      /unexpected 'GROUP' after the query/,
    );
  });

  it("refuses a query over IoT Hub's length limit before reading it, and runs one at the limit", () => {
    const base = "SELECT * FROM devices WHERE deviceId = 'd1'";
    const atLimit = base + " ".repeat(MAX_QUERY_LENGTH - base.length);
    expect(parseTwinQuery(atLimit).where).toBeDefined();
    expect(() => parseTwinQuery(atLimit + " ")).toThrow(
      `the query is ${MAX_QUERY_LENGTH + 1} characters long, over IoT Hub's limit of 8192`,
    );
    expect(() => parseTargetCondition("x".repeat(MAX_QUERY_LENGTH + 1))).toThrow(/over IoT Hub's limit/);
  });

  it("bounds nesting of parentheses and NOT, and keeps AND/OR chains flat however long", () => {
    const nested = (depth: number, inner: string): string =>
      `${"(".repeat(depth)}${inner}${")".repeat(depth)}`;
    expect(where(nested(MAX_NESTING_DEPTH, "deviceId = 'd1'"))).toBe(true);
    expect(() => where(nested(MAX_NESTING_DEPTH + 1, "deviceId = 'd1'"))).toThrow(
      `the condition nests parentheses and NOT more than ${MAX_NESTING_DEPTH} levels deep`,
    );
    expect(() => where(`${"NOT ".repeat(MAX_NESTING_DEPTH + 1)}deviceId = 'd1'`)).toThrow(
      /more than 100 levels/,
    );

    const terms = Array.from({ length: 1000 }, (_, i) => `a=${i % 10}`);
    const chain = parseTwinQuery(`SELECT * FROM devices WHERE ${terms.join(" OR ")} OR deviceId='d1'`).where;
    expect(chain).toMatchObject({ kind: "or", operands: expect.any(Array) });
    expect((chain as { operands: unknown[] }).operands).toHaveLength(1001);
    expect(matches(chain, twin)).toBe(true);
  });

  it("prefilters every operand of an AND, also one spelt with parentheses, and [[names]]", () => {
    const where = (text: string) => parseTwinQuery(`SELECT * FROM devices WHERE ${text}`).where;
    expect(sqlPrefilter(where("(deviceId = 'd7' AND tags.[[a.b]] = 1) AND tags.c = 2"), "devices")).toEqual({
      terms: ["device_id = ?", "json_extract(twin, ?) = ?", "json_extract(twin, ?) = ?"],
      params: ["d7", '$."tags"."a.b"', 1, '$."tags"."c"', 2],
    });
  });
});
