import { readFileSync } from "node:fs";
import { join } from "node:path";
import { hubRegistry, useSuiteHub } from "../support/suiteHub";

/**
 * What the hub acknowledged survives a crash: kill -9, restart on the same state dir, read it all back through the
 * service SDK and the CLI. A restart reuses the CA, the server certificate, the keys and the registry.
 */
describe("durability across kill -9", () => {
  const suite = useSuiteHub();

  it("keeps acknowledged devices, keys, modules, twins, bulk changes, policies, quotas and the TLS material", async () => {
    const { hub, registry } = suite;
    const created = (await registry.create({ deviceId: "durable" })).responseBody;
    await registry.addModule({ deviceId: "durable", moduleId: "sensor" });
    const twin = (await registry.getTwin("durable")).responseBody;
    await registry.updateTwin(
      "durable",
      { tags: { site: "north" }, properties: { desired: { rate: 7 } } },
      twin.etag,
    );
    await registry.updateModuleTwin("durable", "sensor", { properties: { desired: { on: true } } }, "*");
    await registry.addDevices([{ deviceId: "bulk-a" }, { deviceId: "bulk-b" }]);
    await registry.delete("bulk-b");
    const twinBefore = (await registry.getTwin("durable")).responseBody;
    const policy = (await hub.cli("policy", "add", "keeper", "--rights", "RegistryRead")).stdout.trim();
    await hub.cli("quota", "set", "query=7/min");
    const before = {
      info: hub.info,
      ca: readFileSync(join(hub.stateDir, "ca.pem"), "utf8"),
      server: readFileSync(join(hub.stateDir, "server.pem"), "utf8"),
    };

    await hub.kill();
    const info = await hub.restart();

    expect(info.pid).not.toBe(before.info.pid);
    expect(info.connectionString).toBe(before.info.connectionString);
    expect(readFileSync(join(hub.stateDir, "ca.pem"), "utf8")).toBe(before.ca);
    expect(readFileSync(join(hub.stateDir, "server.pem"), "utf8")).toBe(before.server);

    const after = hubRegistry(info);
    const device = (await after.get("durable")).responseBody;
    expect(device.authentication).toEqual(created.authentication);
    expect(device.authentication!.symmetricKey).toEqual(created.authentication!.symmetricKey);
    expect(device.generationId).toBe(created.generationId);
    expect(device.etag).toBe(created.etag);
    const module = (await after.getModule("durable", "sensor")).responseBody;
    expect(module.moduleId).toBe("sensor");
    const twinAfter = (await after.getTwin("durable")).responseBody;
    expect(twinAfter.etag).toBe(twinBefore.etag);
    expect(twinAfter.tags).toEqual({ site: "north" });
    expect(twinAfter.properties.desired).toMatchObject({ rate: 7, $version: 2 });
    expect((await after.getModuleTwin("durable", "sensor")).responseBody.properties.desired).toMatchObject({
      on: true,
    });
    const ids = (await after.list()).responseBody.map((d) => d.deviceId).sort();
    expect(ids).toEqual(["bulk-a", "durable"]);
    await expect(hubRegistry(info, policy).get("durable")).resolves.toBeDefined();
    expect(JSON.parse((await hub.cli("quota", "show")).stdout)).toEqual([
      { operationClass: "query", count: 7, per: "min" },
    ]);
  });
});
