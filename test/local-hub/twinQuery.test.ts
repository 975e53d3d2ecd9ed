import { matches, parseTwinQuery } from "../../local-hub/handlers/twinQuery";
import { sqlPrefilter } from "../../local-hub/persistence/twinPrefilter";

const twin = {
  deviceId: "d1",
  status: "enabled",
  tags: { site: "paris", floor: 3, flags: { hot: true } },
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
});
