import { Registry } from "azure-iothub";
import { startHub } from "../support/hubProcess";

// What the hub acknowledged survives a crash: kill -9, restart on the same state dir, read it all back.

let hub: Awaited<ReturnType<typeof startHub>>;

beforeAll(async () => {
  hub = await startHub();
});

afterAll(async () => {
  await hub?.stop();
});

it("keeps identities, keys, modules and twins across kill -9 and restart", async () => {
  const before = Registry.fromConnectionString(hub.info.connectionString);
  const device = (await before.create({ deviceId: "durable" })).responseBody;
  await before.addModule({ deviceId: "durable", moduleId: "m" });
  await before.updateTwin("durable", { tags: { site: "lyon" }, properties: { desired: { rate: 7 } } }, "*");
  await before.updateModuleTwin("durable", "m", { properties: { desired: { on: true } } }, "*");
  await before.addDevices([{ deviceId: "bulk-a" }, { deviceId: "bulk-b" }]);
  await before.delete("bulk-b");
  const twinBefore = (await before.getTwin("durable")).responseBody;

  await hub.kill();
  const info = await hub.restart();
  const after = Registry.fromConnectionString(info.connectionString);

  const deviceAfter = (await after.get("durable")).responseBody;
  expect(deviceAfter.authentication!.symmetricKey).toEqual(device.authentication!.symmetricKey);
  expect(deviceAfter.etag).toBe(device.etag);
  const twinAfter = (await after.getTwin("durable")).responseBody;
  expect(twinAfter.etag).toBe(twinBefore.etag);
  expect(twinAfter.tags).toEqual({ site: "lyon" });
  expect(twinAfter.properties.desired).toMatchObject({ rate: 7, $version: 2 });
  expect((await after.getModuleTwin("durable", "m")).responseBody.properties.desired).toMatchObject({
    on: true,
  });
  const ids = (await after.list()).responseBody.map((d) => d.deviceId).sort();
  expect(ids).toEqual(["bulk-a", "durable"]);
});
