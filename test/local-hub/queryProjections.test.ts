import { readFileSync } from "node:fs";
import { Client as DeviceClient, type ModuleClient } from "azure-iot-device";
import { Mqtt } from "azure-iot-device-mqtt";
import { ArgumentError } from "azure-iothub/dist/common-core/errors";
import { useSuiteHub } from "../support/suiteHub";
import { connectionStringOf, createModule, openModuleClient, updateReported } from "./mqttSupport";

// Projections, COUNT() and GROUP BY (POST /devices/query) through the real service SDK, on twins whose reported
// properties real device and module clients wrote; and queries too long or too deep for the hub to read.

const suite = useSuiteHub();

/** The documentation's example fleet: three devices report Success, two Pending, one Error, one nothing yet. */
const STATUSES = ["Success", "Success", "Success", "Pending", "Pending", "Error", undefined];
const DEVICES = STATUSES.map((_, i) => `d${i}`);

async function reportAsDevice(deviceId: string, reported: Record<string, unknown>): Promise<void> {
  const device = (await suite.registry.get(deviceId)).responseBody;
  const client = DeviceClient.fromConnectionString(
    connectionStringOf(suite.hub.info, { deviceId, key: device.authentication!.symmetricKey!.primaryKey! }),
    Mqtt,
  );
  await client.setOptions({ ca: readFileSync(suite.hub.info.caFile, "utf8") });
  await client.open();
  try {
    await updateReported(await client.getTwin(), reported);
  } finally {
    await client.close();
  }
}

async function reportAsModule(client: ModuleClient, reported: Record<string, unknown>): Promise<void> {
  try {
    await updateReported(await client.getTwin(), reported);
  } finally {
    await client.close();
  }
}

beforeAll(async () => {
  const registry = suite.registry;
  await registry.addDevices(DEVICES.map((deviceId) => ({ deviceId, status: "enabled" as const })));
  for (const [i, deviceId] of DEVICES.entries()) {
    await registry.updateTwin(deviceId, { tags: { env: i < 4 ? "prod" : "dev", rank: i } }, "*");
    const status = STATUSES[i];
    if (status) await reportAsDevice(deviceId, { telemetryConfig: { status, sendFrequencyInSecs: 60 } });
  }
  // Module twins on d0 and d1: two report Success, one has reported nothing.
  for (const [deviceId, moduleId, status] of [
    ["d0", "sensor", "Success"],
    ["d0", "uplink", undefined],
    ["d1", "sensor", "Success"],
  ] as const) {
    const identity = await createModule(registry, deviceId, moduleId);
    if (status) await reportAsModule(await openModuleClient(suite.hub.info, identity), { status });
  }
});

/**
 * Every row of a query read with the SDK's next() (plain JSON), page by page, and how many pages it took. The
 * promise-style next() without a token starts again at page 1, so each call hands it the token of the last page.
 */
async function allRows(sql: string, pageSize?: number): Promise<{ rows: unknown[]; pages: number }> {
  const query = suite.registry.createQuery(sql, pageSize);
  const rows: unknown[] = [];
  let pages = 0;
  while (query.hasMoreResults) {
    rows.push(...((await query.next(query.continuationToken)).result as unknown[]));
    pages++;
  }
  return { rows, pages };
}

describe("projections", () => {
  it("return plain objects with the selected paths, nested ones under their last name, missing ones left out", async () => {
    const { rows } = await allRows(
      "SELECT deviceId, tags.env, properties.reported.telemetryConfig.status FROM devices WHERE tags.rank >= 4",
    );
    expect(rows).toStrictEqual([
      { deviceId: "d4", env: "dev", status: "Pending" },
      { deviceId: "d5", env: "dev", status: "Error" },
      { deviceId: "d6", env: "dev" },
    ]);
  });

  it("name a path by its AS alias and spell a twin's own top-level names as the twin does", async () => {
    const { rows } = await allRows(
      "SELECT DeviceId, properties.reported.telemetryConfig AS config, tags.rank AS position FROM devices WHERE deviceId = 'd5'",
    );
    expect(rows).toStrictEqual([
      { deviceId: "d5", config: { status: "Error", sendFrequencyInSecs: 60 }, position: 5 },
    ]);
  });

  it("page with continuation tokens like whole twins, every row once", async () => {
    const { rows, pages } = await allRows("SELECT deviceId FROM devices", 3);
    expect(pages).toBe(3);
    expect(rows).toStrictEqual(DEVICES.map((deviceId) => ({ deviceId })));
  });

  it("select deviceId and moduleId of module twins", async () => {
    const { rows } = await allRows(
      "SELECT deviceId, moduleId, properties.reported.status FROM devices.modules WHERE deviceId = 'd0'",
    );
    expect(rows).toStrictEqual([
      { deviceId: "d0", moduleId: "sensor", status: "Success" },
      { deviceId: "d0", moduleId: "uplink" },
    ]);
  });

  it("come back as raw items, which nextAsTwin() still wraps when each row has a deviceId", async () => {
    const first = await suite.registry.createQuery("SELECT deviceId, tags.env FROM devices", 2).next();
    expect(first.message.headers["x-ms-item-type"]).toBe("raw");
    const twins = (await suite.registry.createQuery("SELECT deviceId, tags.env FROM devices", 2).nextAsTwin())
      .result;
    expect(twins.map((twin) => [twin.deviceId, (twin as unknown as { env: string }).env])).toEqual([
      ["d0", "prod"],
      ["d1", "prod"],
    ]);
  });
});

describe("TOP", () => {
  it("returns at most n rows in all, across pages", async () => {
    const { rows, pages } = await allRows("SELECT TOP 5 deviceId FROM devices", 2);
    expect(pages).toBe(3);
    expect(rows).toStrictEqual(DEVICES.slice(0, 5).map((deviceId) => ({ deviceId })));
    const twins = (
      await suite.registry.createQuery("SELECT TOP 2 * FROM devices WHERE tags.env = 'dev'").nextAsTwin()
    ).result;
    expect(twins.map((twin) => twin.deviceId)).toEqual(["d4", "d5"]);
  });
});

describe("COUNT() and GROUP BY", () => {
  it("count the twins a query matches, 0 when none does", async () => {
    expect((await allRows("SELECT COUNT() AS totalNumberOfDevices FROM devices")).rows).toStrictEqual([
      { totalNumberOfDevices: 7 },
    ]);
    expect((await allRows("SELECT COUNT() AS n FROM devices WHERE tags.env = 'prod'")).rows).toStrictEqual([
      { n: 4 },
    ]);
    expect((await allRows("SELECT COUNT() AS n FROM devices WHERE tags.env = 'test'")).rows).toStrictEqual([
      { n: 0 },
    ]);
    expect((await allRows("SELECT COUNT() AS modules FROM devices.modules")).rows).toStrictEqual([
      { modules: 3 },
    ]);
  });

  it("count devices per reported status, as IoT Hub's documentation shows (twins without it form their own group)", async () => {
    const { rows } = await allRows(
      `SELECT properties.reported.telemetryConfig.status AS status, COUNT() AS numberOfDevices
         FROM devices GROUP BY properties.reported.telemetryConfig.status`,
    );
    expect(rows).toStrictEqual([
      { status: "Success", numberOfDevices: 3 },
      { status: "Pending", numberOfDevices: 2 },
      { status: "Error", numberOfDevices: 1 },
      { numberOfDevices: 1 },
    ]);
  });

  it("group module twins, after WHERE", async () => {
    const { rows } = await allRows(
      `SELECT properties.reported.status AS status, COUNT() AS count FROM devices.modules
         WHERE moduleId = 'sensor' OR moduleId = 'uplink' GROUP BY properties.reported.status`,
    );
    expect(rows).toStrictEqual([{ status: "Success", count: 2 }, { count: 1 }]);
  });

  it("page the groups with continuation tokens", async () => {
    const { rows, pages } = await allRows(
      "SELECT tags.rank AS rank, COUNT() AS n FROM devices GROUP BY tags.rank",
      3,
    );
    expect(pages).toBe(3);
    expect(rows).toStrictEqual(DEVICES.map((_, rank) => ({ rank, n: 1 })));
  });
});

describe("queries the hub refuses with 400, naming what it refused", () => {
  const refusal = (sql: string): Promise<unknown> => suite.registry.createQuery(sql).next();

  it.each([
    ["SELECT TOP 0 * FROM devices", /TOP takes a whole number of rows, at least 1, found 0/],
    ["SELECT * FROM devices ORDER BY deviceId", /ORDER BY is not part of IoT Hub's query language/],
    ["SELECT SUM(tags.rank) AS total FROM devices", /SUM\(\): this aggregate is not supported/],
    ["SELECT * FROM devices GROUP BY tags.env", /SELECT \* cannot be grouped/],
    [
      "SELECT deviceId, COUNT() AS n FROM devices GROUP BY tags.env",
      /SELECT deviceId: .*GROUP BY properties/,
    ],
    ["SELECT tags.env, properties.desired.env FROM devices", /the name 'env' is given twice/],
    ["SELECT * FROM devices WHERE STARTS_WITH(deviceId, 'd')", /function STARTS_WITH\(\) is not supported/],
    ["SELECT * FROM devices.jobs", /devices.jobs/],
  ])("%s", async (sql, message) => {
    const failure = refusal(sql);
    await expect(failure).rejects.toBeInstanceOf(ArgumentError);
    await expect(failure).rejects.toThrow(message);
  });

  it("refuses 20,000 nested parentheses and 12,000 ORs by IoT Hub's 8,192-character limit, and keeps serving", async () => {
    const parentheses = `SELECT * FROM devices WHERE ${"(".repeat(20_000)}deviceId = 'd0'${")".repeat(20_000)}`;
    const ors = `SELECT * FROM devices WHERE ${Array.from({ length: 12_000 }, (_, i) => `tags.rank=${i}`).join(" OR ")}`;
    for (const sql of [parentheses, ors]) {
      const failure = refusal(sql);
      await expect(failure).rejects.toBeInstanceOf(ArgumentError);
      await expect(failure).rejects.toThrow(`characters long, over IoT Hub's limit of 8192`);
    }
    expect((await allRows("SELECT COUNT() AS n FROM devices")).rows).toStrictEqual([{ n: 7 }]);
  });

  it("refuses nesting deeper than 100 levels within the length limit, and runs 100 levels and 500 ORs", async () => {
    const nestedCondition = (depth: number): string =>
      `${"(".repeat(depth)}deviceId = 'd0'${")".repeat(depth)}`;
    const deep = refusal(`SELECT * FROM devices WHERE NOT NOT ${nestedCondition(100)}`);
    await expect(deep).rejects.toBeInstanceOf(ArgumentError);
    await expect(deep).rejects.toThrow(/nests parentheses and NOT more than 100 levels/);

    const deepest = await allRows(`SELECT deviceId FROM devices WHERE ${nestedCondition(100)}`);
    expect(deepest.rows).toStrictEqual([{ deviceId: "d0" }]);
    const wide = `SELECT COUNT() AS n FROM devices WHERE ${Array.from({ length: 500 }, (_, i) => `tags.rank=${i % 3}`).join(" OR ")}`;
    expect(wide.length).toBeLessThanOrEqual(8192);
    expect((await allRows(wide)).rows).toStrictEqual([{ n: 3 }]);
  });
});
