import { Registry } from "azure-iothub";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startHub, type TestHub } from "../support/hubProcess";

/** What the hub acknowledged survives `kill -9`; a restart reuses the CA, the keys and the registry. */
describe("durability across kill -9", () => {
  let hub: TestHub;

  beforeAll(async () => {
    hub = await startHub();
  });
  afterAll(async () => {
    await hub?.stop();
  });

  it("keeps acknowledged devices, modules, twins, policies, quotas and the TLS material", async () => {
    const registry = Registry.fromConnectionString(hub.info.connectionString);
    const created = (await registry.create({ deviceId: "survivor" })).responseBody;
    await registry.addModule({ deviceId: "survivor", moduleId: "sensor" });
    const twin = (await registry.getTwin("survivor")).responseBody;
    await registry.updateTwin("survivor", { tags: { site: "north" } }, twin.etag);
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

    const again = Registry.fromConnectionString(info.connectionString);
    const device = (await again.get("survivor")).responseBody;
    expect(device.authentication).toEqual(created.authentication);
    expect(device.generationId).toBe(created.generationId);
    const module = (await again.getModule("survivor", "sensor")).responseBody;
    expect(module.moduleId).toBe("sensor");
    expect((await again.getTwin("survivor")).responseBody.tags).toEqual({ site: "north" });
    await expect(Registry.fromConnectionString(policy).get("survivor")).resolves.toBeDefined();
    expect((await hub.cli("quota", "show")).stdout.trim()).toBe("query=7/min");
  });
});
