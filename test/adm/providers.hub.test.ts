import type { ModuleClient } from "azure-iot-device";
import type { Configuration as SdkConfiguration } from "azure-iothub";
import { listenForDesired, openModuleClient } from "../local-hub/mqttSupport";
import { useProvidersOnHub } from "../registry/providersOnHub";
import type { Props } from "../support/providerServer";
import { baseManifest, dockerModule } from "./manifests";

/**
 * The Configuration and EdgeDeployment providers driven the way the engine drives them (the real dynamic-provider
 * server, the serialized stubs) against a local hub whose ADM engine runs every 200 ms, checked with the real
 * service SDK and a real module client. Every wait is for something the hub logs or pushes.
 */
const clients: ModuleClient[] = [];
afterAll(async () => {
  for (const client of clients) await client.close();
});

const suite = useProvidersOnHub({ args: ["--adm-interval", "200"] });

async function createResource(kind: string, inputs: Props): Promise<{ id: string; outs: Props }> {
  const checked = await suite.server.check(suite.texts[kind], {}, inputs);
  expect(checked.failures).toEqual([]);
  return suite.server.create(suite.texts[kind], checked.inputs);
}

const configurationOf = async (id: string): Promise<SdkConfiguration> =>
  (await suite.registry.getConfiguration(id)).responseBody;

interface TwinWithConfigurations {
  configurations?: Record<string, { status: string }>;
  properties: { desired: Record<string, unknown> };
}

const moduleTwin = async (deviceId: string, moduleId: string): Promise<TwinWithConfigurations> =>
  (await suite.registry.getModuleTwin(deviceId, moduleId)).responseBody as unknown as TwinWithConfigurations;

/**
 * Resolves once the hub logs the metrics of the configuration named `name` (any content hash) with these counts:
 * the ADM engine applied it. Lines are seen from the call on, so it is called before the change it waits for.
 */
const metricsLogged = (name: string, counts: string): Promise<string> =>
  suite.hub.waitForOutput(new RegExp(`adm: ${name}-[0-9a-f]{8} ${counts}`));

describe("Configuration", () => {
  let inputs: Props;

  beforeAll(async () => {
    await suite.registry.create({ deviceId: "cfg-d1" });
    await suite.registry.addModule({ deviceId: "cfg-d1", moduleId: "thermo" } as never);
    await suite.registry.updateModuleTwin("cfg-d1", "thermo", { tags: { kind: "thermo" } }, "*");
    inputs = {
      ...suite.hubArgs,
      name: "thermo-interval",
      targetCondition: "FROM devices.modules WHERE tags.kind = 'thermo'",
      priority: 5,
      labels: { team: "sensors" },
      metrics: { reporting: "SELECT deviceId FROM devices.modules WHERE properties.reported.interval = 30" },
      content: { moduleContent: { "properties.desired.telemetry": { interval: 30 } } },
    };
  });

  it("creates a module configuration whose id is its name and content hash; the hub applies it to the module", async () => {
    const applied = metricsLogged("thermo-interval", "targetedCount=1 appliedCount=1");
    const { id, outs } = await createResource("Configuration", inputs);
    expect(id).toMatch(/^thermo-interval-[0-9a-f]{8}$/);
    expect(outs).toMatchObject({ configurationId: id, name: "thermo-interval", priority: 5 });
    const held = await configurationOf(id);
    expect(outs.etag).toBe(held.etag);
    expect(held).toMatchObject({
      targetCondition: inputs.targetCondition,
      priority: 5,
      labels: { team: "sensors" },
      content: { moduleContent: { "properties.desired.telemetry": { interval: 30 } } },
    });
    await applied;
    const twin = await moduleTwin("cfg-d1", "thermo");
    expect(twin.configurations).toEqual({ [id]: { status: "Applied" } });
    expect(twin.properties.desired.telemetry).toEqual({ interval: 30 });
  });

  it("is a no-op on a second up; read reports the hub's metrics and no drift", async () => {
    const counted = metricsLogged("steady", "targetedCount=1 appliedCount=\\d reporting=0");
    const { id, outs } = await createResource("Configuration", { ...inputs, name: "steady" });
    expect(
      (await suite.server.diff(suite.texts.Configuration, id, outs, { ...inputs, name: "steady" })).changes,
    ).toBe("none");
    await counted;
    const read = await suite.server.read(suite.texts.Configuration, id, outs);
    expect(read.id).toBe(id);
    expect(read.props).toEqual({
      ...outs,
      systemMetrics: { targetedCount: 1, appliedCount: expect.any(Number) },
      metricResults: { reporting: 0 },
    });
    // The same inputs again: still no change, whatever the metrics say.
    expect(
      (await suite.server.diff(suite.texts.Configuration, id, read.props, { ...inputs, name: "steady" }))
        .changes,
    ).toBe("none");
  });

  it("updates priority, labels, target condition and metrics in place, with If-Match the stored etag", async () => {
    const { id, outs } = await createResource("Configuration", { ...inputs, name: "in-place" });
    const news = {
      ...inputs,
      name: "in-place",
      priority: 9,
      labels: { team: "platform" },
      targetCondition: "FROM devices.modules WHERE tags.kind = 'thermo' AND moduleId = 'thermo'",
      metrics: { all: "SELECT deviceId FROM devices.modules" },
    };
    const diff = await suite.server.diff(suite.texts.Configuration, id, outs, news);
    expect(diff).toEqual({ changes: "some", replaces: [], deleteBeforeReplace: false });
    const updated = await suite.server.update(suite.texts.Configuration, id, outs, news);
    const held = await configurationOf(id);
    expect(held).toMatchObject({
      id,
      priority: 9,
      labels: { team: "platform" },
      targetCondition: news.targetCondition,
      metrics: { queries: { all: "SELECT deviceId FROM devices.modules" } },
    });
    expect(updated).toMatchObject({ configurationId: id, etag: held.etag, priority: 9 });
    expect(updated.etag).not.toBe(outs.etag);

    // Changed in the hub since: the stored etag no longer matches, and nothing is overwritten.
    await suite.registry.updateConfiguration({ ...held, priority: 1 }, true);
    await expect(
      suite.server.update(suite.texts.Configuration, id, updated, { ...news, priority: 3 }),
    ).rejects.toMatchObject({
      details: expect.stringContaining("changed in the hub since the state was written"),
    });
    expect((await configurationOf(id)).priority).toBe(1);
  });

  it("sees drift on read: a priority changed out of band shows in the state, and diff updates it back", async () => {
    const { id, outs } = await createResource("Configuration", { ...inputs, name: "drifting" });
    const held = await configurationOf(id);
    await suite.registry.updateConfiguration({ ...held, priority: 50, targetCondition: "*" } as never, true);
    const read = await suite.server.read(suite.texts.Configuration, id, outs);
    expect(read.props).toMatchObject({ priority: 50, targetCondition: "*" });
    const declared = { ...inputs, name: "drifting" };
    expect(await suite.server.diff(suite.texts.Configuration, id, read.props, declared)).toEqual({
      changes: "some",
      replaces: [],
      deleteBeforeReplace: false,
    });
    await suite.server.update(suite.texts.Configuration, id, read.props, declared);
    expect(await configurationOf(id)).toMatchObject({ priority: 5, targetCondition: inputs.targetCondition });
  });

  it("sees content drift (the id made again out of band with other content): a replace that deletes first", async () => {
    const { id, outs } = await createResource("Configuration", { ...inputs, name: "recreated" });
    await suite.registry.removeConfiguration(id);
    await suite.registry.addConfiguration({
      id,
      schemaVersion: "1.0",
      content: { moduleContent: { "properties.desired.telemetry": { interval: 1 } } },
      targetCondition: inputs.targetCondition as string,
      priority: 5,
    });
    const read = await suite.server.read(suite.texts.Configuration, id, outs);
    expect(read.props.content).toEqual({
      moduleContent: { "properties.desired.telemetry": { interval: 1 } },
    });
    expect(
      await suite.server.diff(suite.texts.Configuration, id, read.props, { ...inputs, name: "recreated" }),
    ).toEqual({ changes: "some", replaces: ["content"], deleteBeforeReplace: true });
  });

  it("deletes the configuration and leaves the applied content in the twin; a second delete and read find it gone", async () => {
    const declared = {
      ...inputs,
      name: "removed",
      priority: 100,
      content: { moduleContent: { "properties.desired.removedKey": "kept" } },
    };
    const applied = metricsLogged("removed", "targetedCount=1 appliedCount=1");
    const { id, outs } = await createResource("Configuration", declared);
    await applied;
    await suite.server.delete(suite.texts.Configuration, id, outs);
    await expect(suite.registry.getConfiguration(id)).rejects.toMatchObject({
      responseBody: expect.stringContaining("ConfigurationNotFound"),
    });
    expect((await moduleTwin("cfg-d1", "thermo")).properties.desired.removedKey).toBe("kept");
    await suite.server.delete(suite.texts.Configuration, id, outs);
    expect(await suite.server.read(suite.texts.Configuration, id, outs)).toEqual({ id: "", props: {} });
  });

  it("refuses to take over a configuration of the same id that it did not create", async () => {
    const declared = { ...inputs, name: "taken" };
    const { id } = await createResource("Configuration", declared);
    await expect(suite.server.create(suite.texts.Configuration, declared)).rejects.toMatchObject({
      details: expect.stringContaining(
        `configuration "${id}": create failed: the hub already has a configuration with this id`,
      ),
    });
  });

  it("creates nothing when the engine skips check(): create refuses what check() would", async () => {
    const before = (await suite.registry.getConfigurations()).responseBody.length;
    await expect(
      suite.server.create(suite.texts.Configuration, { ...inputs, name: "Unchecked", priority: -1 }),
    ).rejects.toMatchObject({
      details: expect.stringMatching(/name: may contain only .*priority: must be a non-negative integer/),
    });
    expect((await suite.registry.getConfigurations()).responseBody.length).toBe(before);
  });
});

describe("EdgeDeployment", () => {
  const agentPatches: Array<Record<string, unknown>> = [];
  const patchWaiters: Array<() => void> = [];
  /** Resolves once the $edgeAgent client was pushed a patch that `accept` takes (so far or later). */
  const patchSeen = async (accept: (patch: Record<string, unknown>) => boolean): Promise<void> => {
    while (!agentPatches.some(accept)) await new Promise<void>((resolve) => patchWaiters.push(resolve));
  };

  beforeAll(async () => {
    await suite.registry.create({ deviceId: "edge-1", capabilities: { iotEdge: true } } as never);
    await suite.registry.updateTwin("edge-1", { tags: { site: "munich" } }, "*");
    const deviceKey = (await suite.registry.get("edge-1")).responseBody.authentication!.symmetricKey!
      .primaryKey!;
    // The runtime connects $edgeAgent with the device's key: every desired patch the device would get lands here.
    const agent = await openModuleClient(suite.hub.info, {
      deviceId: "edge-1",
      moduleId: "$edgeAgent",
      key: deviceKey,
    });
    clients.push(agent);
    await listenForDesired(await agent.getTwin(), (patch) => {
      agentPatches.push(patch);
      for (const wake of patchWaiters.splice(0)) wake();
    });
  });

  const deployment = (image: string): Props => ({
    ...suite.hubArgs,
    name: "munich-base",
    targetCondition: "tags.site = 'munich'",
    priority: 10,
    modulesContent: baseManifest(
      { sensor: dockerModule(image) },
      { sensor: { "properties.desired": { interval: 5 } } },
    ),
  });

  it("changes the manifest without a gap: the new deployment is created before the old one is deleted", async () => {
    const firstApplied = metricsLogged("munich-base", "targetedCount=1 appliedCount=1");
    const first = await createResource("EdgeDeployment", deployment("sensor:1"));
    await firstApplied;

    const news = deployment("sensor:2");
    const diff = await suite.server.diff(suite.texts.EdgeDeployment, first.id, first.outs, news);
    expect(diff).toEqual({ changes: "some", replaces: ["modulesContent"], deleteBeforeReplace: false });

    // Sample the $edgeAgent twin throughout the replace, as the engine runs it: create the new, delete the old.
    const samples: Array<Record<string, { status: string }>> = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) samples.push((await moduleTwin("edge-1", "$edgeAgent")).configurations ?? {});
    })();
    const secondApplied = metricsLogged("munich-base", "targetedCount=1 appliedCount=1");
    const second = await createResource("EdgeDeployment", news);
    expect(second.id).not.toBe(first.id);
    expect(second.id).toMatch(/^munich-base-[0-9a-f]{8}$/);
    expect(await secondApplied).toContain(second.id);
    await suite.server.delete(suite.texts.EdgeDeployment, first.id, first.outs);
    // The old deployment leaves the twin's configurations section at the engine's next pass.
    while (first.id in ((await moduleTwin("edge-1", "$edgeAgent")).configurations ?? {}));
    sampling = false;
    await sampler;

    expect(samples.length).toBeGreaterThan(0);
    for (const sample of samples) {
      expect(Object.values(sample).filter((entry) => entry.status === "Applied")).toHaveLength(1);
    }
    expect(samples.some((sample) => sample[second.id]?.status === "Applied")).toBe(true);
    const agent = await moduleTwin("edge-1", "$edgeAgent");
    expect(agent.configurations).toEqual({ [second.id]: { status: "Applied" } });
    expect(agent.properties.desired).toMatchObject({
      modules: { sensor: { settings: { image: "sensor:2" } } },
    });
    // The device never got a patch that took its modules away.
    await patchSeen((patch) => JSON.stringify(patch).includes("sensor:2"));
    for (const patch of agentPatches) {
      expect(patch.modules).not.toBeNull();
      expect((patch.modules as Record<string, unknown> | undefined)?.sensor).not.toBeNull();
    }
  });

  it("layers a deployment over the base by priority; its outputs carry the hub's edge metrics", async () => {
    const baseApplied = metricsLogged("layer-base", "targetedCount=1 appliedCount=1");
    await createResource("EdgeDeployment", { ...deployment("sensor:3"), name: "layer-base" });
    await baseApplied;
    const layerApplied = metricsLogged(
      "debug-layer",
      "targetedCount=1 appliedCount=1 reportedSuccessfulCount=0 reportedFailedCount=0",
    );
    const layer = await createResource("EdgeDeployment", {
      ...suite.hubArgs,
      name: "debug-layer",
      layered: true,
      targetCondition: "tags.site = 'munich'",
      priority: 30,
      modulesContent: {
        $edgeAgent: { "properties.desired.modules.debug": dockerModule("debug:1") },
        $edgeHub: { "properties.desired.routes.debug": "FROM /messages/modules/debug/* INTO $upstream" },
      },
    });
    await layerApplied;
    const agent = await moduleTwin("edge-1", "$edgeAgent");
    expect(agent.configurations?.[layer.id]).toEqual({ status: "Applied" });
    expect(agent.properties.desired).toMatchObject({
      modules: { sensor: { settings: { image: "sensor:3" } }, debug: { settings: { image: "debug:1" } } },
    });
    const read = await suite.server.read(suite.texts.EdgeDeployment, layer.id, layer.outs);
    expect(read.props.systemMetrics).toEqual({
      targetedCount: 1,
      appliedCount: 1,
      reportedSuccessfulCount: 0,
      reportedFailedCount: 0,
    });
  });
});

describe("EdgeDeviceModules", () => {
  const modulesOf = (image: string): Props => ({
    ...suite.hubArgs,
    deviceId: "edge-direct",
    modulesContent: baseManifest({ cam: dockerModule(image) }, { cam: { "properties.desired.fps": 25 } }),
  });

  beforeAll(async () => {
    await suite.registry.create({ deviceId: "edge-direct", capabilities: { iotEdge: true } } as never);
    await suite.registry.addModule({
      deviceId: "edge-direct",
      moduleId: "cam",
      managedBy: "iotEdge",
    } as never);
    await suite.registry.create({ deviceId: "not-edge" });
  });

  it("writes the manifest into the device's module twins; no-op on a second up; update applies it again", async () => {
    const inputs = modulesOf("cam:1");
    const { id, outs } = await createResource("EdgeDeviceModules", inputs);
    expect(id).toBe("edge-direct");
    const agent = await moduleTwin("edge-direct", "$edgeAgent");
    expect(agent.properties.desired).toMatchObject({ modules: { cam: { settings: { image: "cam:1" } } } });
    expect((await moduleTwin("edge-direct", "$edgeHub")).properties.desired.routes).toEqual({
      upstream: "FROM /messages/* INTO $upstream",
    });
    expect((await moduleTwin("edge-direct", "cam")).properties.desired.fps).toBe(25);

    const read = await suite.server.read(suite.texts.EdgeDeviceModules, id, outs);
    expect(read).toEqual({ id, props: outs });
    expect((await suite.server.diff(suite.texts.EdgeDeviceModules, id, read.props, inputs)).changes).toBe(
      "none",
    );

    const news = modulesOf("cam:2");
    expect(await suite.server.diff(suite.texts.EdgeDeviceModules, id, read.props, news)).toEqual({
      changes: "some",
      replaces: [],
      deleteBeforeReplace: false,
    });
    await suite.server.update(suite.texts.EdgeDeviceModules, id, read.props, news);
    expect((await moduleTwin("edge-direct", "$edgeAgent")).properties.desired).toMatchObject({
      modules: { cam: { settings: { image: "cam:2" } } },
    });
  });

  it("sees drift on read (a module twin changed out of band) and puts the manifest back on up", async () => {
    const inputs = modulesOf("cam:3");
    const { id, outs } = await createResource("EdgeDeviceModules", inputs);
    await suite.registry.updateModuleTwin("edge-direct", "cam", { properties: { desired: { fps: 5 } } }, "*");
    const read = await suite.server.read(suite.texts.EdgeDeviceModules, id, outs);
    expect((read.props.modulesContent as Record<string, unknown>).cam).toEqual({
      "properties.desired.fps": 5,
    });
    expect((await suite.server.diff(suite.texts.EdgeDeviceModules, id, read.props, inputs)).changes).toBe(
      "some",
    );
    await suite.server.update(suite.texts.EdgeDeviceModules, id, read.props, inputs);
    expect((await moduleTwin("edge-direct", "cam")).properties.desired.fps).toBe(25);
  });

  it("fails with the hub's reason for a device that is no IoT Edge device, or none at all; delete leaves the modules", async () => {
    await expect(
      suite.server.create(suite.texts.EdgeDeviceModules, { ...modulesOf("cam:1"), deviceId: "not-edge" }),
    ).rejects.toMatchObject({
      details: expect.stringContaining('edge device modules "not-edge": create failed with HTTP 400'),
    });
    await expect(
      suite.server.create(suite.texts.EdgeDeviceModules, { ...modulesOf("cam:1"), deviceId: "nowhere" }),
    ).rejects.toMatchObject({ details: expect.stringContaining("HTTP 404") });

    const { id, outs } = await createResource("EdgeDeviceModules", modulesOf("cam:4"));
    await suite.server.delete(suite.texts.EdgeDeviceModules, id, outs);
    expect((await moduleTwin("edge-direct", "$edgeAgent")).properties.desired).toMatchObject({
      modules: { cam: { settings: { image: "cam:4" } } },
    });

    // A device deleted out of band took its modules with it: read says the resource is gone.
    await suite.registry.create({ deviceId: "edge-gone", capabilities: { iotEdge: true } } as never);
    const gone = await createResource("EdgeDeviceModules", { ...modulesOf("cam:1"), deviceId: "edge-gone" });
    await suite.registry.delete("edge-gone");
    expect(await suite.server.read(suite.texts.EdgeDeviceModules, gone.id, gone.outs)).toEqual({
      id: "",
      props: {},
    });
  });
});
