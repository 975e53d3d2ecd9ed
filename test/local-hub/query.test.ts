import type { Registry } from "azure-iothub";
import type { Twin } from "azure-iothub/dist/twin";
import { ArgumentError } from "azure-iothub/dist/common-core/errors";
import { startHub } from "../support/hubProcess";
import { hubRegistry } from "../support/suiteHub";

// Twin queries (POST /devices/query) through the real service SDK against a real local hub.

let hub: Awaited<ReturnType<typeof startHub>>;
let registry: Registry;

const FLEET = 25;

beforeAll(async () => {
  hub = await startHub();
  registry = hubRegistry(hub.info);
  const devices = Array.from({ length: FLEET }, (_, i) => ({
    deviceId: `q${String(i).padStart(2, "0")}`,
    status: i % 5 === 0 ? ("disabled" as const) : ("enabled" as const),
  }));
  await registry.addDevices(devices);
  for (let i = 0; i < FLEET; i++) {
    await registry.updateTwin(
      devices[i].deviceId,
      {
        tags: { site: i % 2 === 0 ? "paris" : "rome", floor: i },
        properties: { desired: i < 10 ? { rate: i } : {} },
      },
      "*",
    );
  }
  for (const moduleId of ["alpha", "beta"]) {
    await registry.addModule({ deviceId: "q01", moduleId });
    await registry.addModule({ deviceId: "q02", moduleId });
  }
  await registry.updateModuleTwin("q02", "beta", { properties: { desired: { on: true } } }, "*");
});

afterAll(async () => {
  await hub?.stop();
});

/** Every twin of a query, page by page, the way the SDK's users page: nextAsTwin() while hasMoreResults. */
async function allPages(sql: string, pageSize?: number): Promise<{ twins: Twin[]; pages: number }> {
  const query = registry.createQuery(sql, pageSize);
  const twins: Twin[] = [];
  let pages = 0;
  while (query.hasMoreResults) {
    twins.push(...(await query.nextAsTwin()).result);
    pages++;
  }
  return { twins, pages };
}

const idsOf = (twins: Twin[]): string[] =>
  twins.map((t) => (t.moduleId ? `${t.deviceId}/${t.moduleId}` : t.deviceId));

describe("query", () => {
  it("returns every device twin, paged with continuation tokens and no twin twice", async () => {
    const { twins, pages } = await allPages("SELECT * FROM devices", 10);
    expect(pages).toBe(3);
    expect(idsOf(twins)).toEqual(Array.from({ length: FLEET }, (_, i) => `q${String(i).padStart(2, "0")}`));
    expect(twins[3].tags).toEqual({ site: "rome", floor: 3 });
  });

  it("ends without a continuation token when the last page is exactly full", async () => {
    const { twins, pages } = await allPages("SELECT * FROM devices WHERE tags.floor < 10", 5);
    expect(twins).toHaveLength(10);
    expect(pages).toBe(2);
  });

  it("hands the next page to an explicit continuation token (callback style)", async () => {
    const query = registry.createQuery("SELECT * FROM devices WHERE tags.site = 'paris'", 4);
    const first = (await query.nextAsTwin()).result;
    const token = query.continuationToken;
    expect(token).toEqual(expect.any(String));
    const second = await new Promise<Twin[]>((resolve, reject) =>
      query.nextAsTwin(token, (error, result) => (error ? reject(error) : resolve(result as Twin[]))),
    );
    expect(idsOf(first)).toEqual(["q00", "q02", "q04", "q06"]);
    expect(idsOf(second)).toEqual(["q08", "q10", "q12", "q14"]);
  });

  it.each([
    ["deviceId = 'q07'", ["q07"]],
    ["tags.site = 'rome' AND tags.floor >= 20", ["q21", "q23"]],
    ["tags.floor > 22 OR tags.floor <= 1", ["q00", "q01", "q23", "q24"]],
    ["status = 'disabled' AND NOT (tags.floor < 10 OR tags.floor > 19)", ["q10", "q15"]],
    ["properties.desired.rate = 3", ["q03"]],
    ["IS_DEFINED(properties.desired.rate) AND tags.floor != 0 AND tags.floor < 3", ["q01", "q02"]],
    ["NOT IS_DEFINED(properties.desired.rate) AND tags.floor < 11", ["q10"]],
    ["tags.missing = 1", []],
    ["deviceId IN ['q03', 'q04', 'nope'] AND tags.site NIN ['paris']", ["q03"]],
  ])("filters devices WHERE %s", async (condition, expected) => {
    const { twins } = await allPages(`SELECT * FROM devices WHERE ${condition}`);
    expect(idsOf(twins)).toEqual(expected);
  });

  it("queries module twins from devices.modules, with moduleId and properties", async () => {
    expect(idsOf((await allPages("SELECT * FROM devices.modules", 3)).twins)).toEqual([
      "q01/alpha",
      "q01/beta",
      "q02/alpha",
      "q02/beta",
    ]);
    expect(idsOf((await allPages("SELECT * FROM devices.modules WHERE moduleId = 'beta'")).twins)).toEqual([
      "q01/beta",
      "q02/beta",
    ]);
    expect(
      idsOf(
        (
          await allPages(
            "SELECT * FROM devices.modules WHERE deviceId = 'q02' AND properties.desired.on = true",
          )
        ).twins,
      ),
    ).toEqual(["q02/beta"]);
  });

  it("refuses a query it cannot run with 400 naming the problem", async () => {
    const failure = registry.createQuery("SELECT * FROM jobs").nextAsTwin();
    await expect(failure).rejects.toBeInstanceOf(ArgumentError);
    await expect(failure).rejects.toThrow(/only devices and devices.modules/);
    await expect(
      registry.createQuery("SELECT * FROM devices WHERE tags.a ==").nextAsTwin(),
    ).rejects.toBeInstanceOf(ArgumentError);
  });
});
