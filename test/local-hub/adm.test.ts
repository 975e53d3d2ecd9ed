import { readFileSync } from "node:fs";
import { Client as DeviceClient, type ModuleClient, type Twin } from "azure-iot-device";
import { Mqtt } from "azure-iot-device-mqtt";
import type { Configuration } from "azure-iothub";
import { useSuiteHub } from "../support/suiteHub";
import {
  connectionStringOf,
  createModule,
  listenForDesired,
  openModuleClient,
  updateReported,
  type ModuleIdentity,
} from "./mqttSupport";
import { serviceRequest } from "./serviceRequest";

// The ADM engine on a real local hub: configurations created with the real Registry reach real device-side
// clients as desired patches, by priority and layering, with statuses and metrics as IoT Hub shows them. The
// period is short, but every step awaits what the hub pushes or logs; nothing sleeps.

// Declared before the hub's hooks: the clients close while the hub still runs.
const clients: ModuleClient[] = [];
afterAll(async () => {
  for (const client of clients) await client.close();
});

const suite = useSuiteHub({ args: ["--adm-interval", "200"] });

/** A connected module client and every desired patch the hub pushes to it. */
async function connect(
  identity: ModuleIdentity,
): Promise<{ twin: Twin; patches: Array<Record<string, unknown>> }> {
  const client = await openModuleClient(suite.hub.info, identity);
  clients.push(client);
  const twin = await client.getTwin();
  const patches: Array<Record<string, unknown>> = [];
  const waiting: Array<() => void> = [];
  await listenForDesired(twin, (patch) => {
    patches.push(patch);
    for (const wake of waiting.splice(0)) wake();
  });
  return { twin, patches };
}

/** Resolves with the first desired patch (pushed so far or later) that `accept` takes. */
function pushed(
  patches: Array<Record<string, unknown>>,
  twin: Twin,
  accept: (patch: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
  const found = patches.find(accept);
  if (found) return Promise.resolve(found);
  return new Promise((resolve) => {
    const listener = (patch: Record<string, unknown>): void => {
      if (accept(patch)) {
        twin.removeListener("properties.desired", listener);
        resolve(patch);
      }
    };
    twin.on("properties.desired", listener);
  });
}

const has = (path: string, value: unknown) => (patch: Record<string, unknown>) =>
  JSON.stringify(
    path.split(".").reduce<unknown>((node, key) => (node as Record<string, unknown>)?.[key], patch),
  ) === JSON.stringify(value);

/** addConfiguration with what the SDK fills in anyway (schemaVersion "1.0"). */
const add = (configuration: Omit<Configuration, "schemaVersion">) =>
  suite.registry.addConfiguration({ schemaVersion: "1.0", ...configuration });

const configurationOf = async (id: string): Promise<Configuration> =>
  (await suite.registry.getConfiguration(id)).responseBody;

const moduleConfiguration = (
  id: string,
  condition: string,
  content: Record<string, unknown>,
  priority = 0,
) => ({
  id,
  content: { moduleContent: content },
  targetCondition: `FROM devices.modules WHERE ${condition}`,
  priority,
});

describe("ADM module configurations", () => {
  let sensor: ModuleIdentity;
  let sensorClient: { twin: Twin; patches: Array<Record<string, unknown>> };

  beforeAll(async () => {
    sensor = await createModule(suite.registry, "adm-d1", "sensor");
    sensorClient = await connect(sensor);
    await suite.registry.updateModuleTwin("adm-d1", "sensor", { tags: { kind: "thermo" } }, "*");
  });

  it("pushes the content to the module twins the condition selects; the twin says Applied; metrics count it", async () => {
    const applied = pushed(sensorClient.patches, sensorClient.twin, has("telemetry.interval", 30));
    await add({
      ...moduleConfiguration("interval", "tags.kind = 'thermo'", {
        "properties.desired.telemetry": { interval: 30 },
      }),
      metrics: {
        queries: {
          applied:
            "SELECT deviceId FROM devices.modules WHERE configurations.[[interval]].status = 'Applied'",
        },
      },
    });
    await applied;
    const twin = (await suite.registry.getModuleTwin("adm-d1", "sensor")).responseBody as unknown as {
      configurations: Record<string, { status: string }>;
      properties: { desired: Record<string, unknown> };
    };
    expect(twin.configurations).toEqual({ interval: { status: "Applied" } });
    expect(twin.properties.desired.telemetry).toEqual({ interval: 30 });
    const configuration = await configurationOf("interval");
    expect(configuration.systemMetrics?.results).toEqual({ targetedCount: 1, appliedCount: 1 });
    expect(configuration.metrics?.results).toEqual({ applied: 1 });
  });

  it("a twin that starts to match (a tag change) gets the content at once", async () => {
    const other = await createModule(suite.registry, "adm-d2", "sensor");
    const client = await connect(other);
    const applied = pushed(client.patches, client.twin, has("telemetry.interval", 30));
    const logged = suite.hub.waitForOutput(/adm: interval targetedCount=2 appliedCount=2/);
    await suite.registry.updateModuleTwin("adm-d2", "sensor", { tags: { kind: "thermo" } }, "*");
    await applied;
    await logged;
    expect((await configurationOf("interval")).systemMetrics?.results).toMatchObject({ appliedCount: 2 });
  });

  it("the highest priority wins, a tie goes to the newest; the others show Targeted", async () => {
    const identity = await createModule(suite.registry, "adm-prio", "m");
    const client = await connect(identity);
    await suite.registry.updateModuleTwin("adm-prio", "m", { tags: { ring: "prio" } }, "*");
    await add(
      moduleConfiguration(
        "prio-high",
        "tags.ring = 'prio'",
        { "properties.desired.level": "high" },
        10,
      ) as Configuration,
    );
    await pushed(client.patches, client.twin, has("level", "high"));
    await add(
      moduleConfiguration(
        "prio-low",
        "tags.ring = 'prio'",
        { "properties.desired.level": "low" },
        5,
      ) as Configuration,
    );
    // A newer configuration of the same priority wins the tie.
    await add(
      moduleConfiguration(
        "prio-tie",
        "tags.ring = 'prio'",
        { "properties.desired.level": "tie" },
        10,
      ) as Configuration,
    );
    await pushed(client.patches, client.twin, has("level", "tie"));
    const twin = (await suite.registry.getModuleTwin("adm-prio", "m")).responseBody as unknown as {
      configurations: Record<string, { status: string }>;
    };
    expect(twin.configurations).toEqual({
      "prio-high": { status: "Targeted" },
      "prio-low": { status: "Targeted" },
      "prio-tie": { status: "Applied" },
    });
    expect(client.patches.some(has("level", "low"))).toBe(false);
  });

  it("deleting a configuration leaves its content in the twins; the next one that targets them is applied", async () => {
    const identity = await createModule(suite.registry, "adm-del", "m");
    const client = await connect(identity);
    await suite.registry.updateModuleTwin("adm-del", "m", { tags: { ring: "del" } }, "*");
    await add(
      moduleConfiguration(
        "del-a",
        "tags.ring = 'del'",
        { "properties.desired.mode": "a" },
        2,
      ) as Configuration,
    );
    await add(
      moduleConfiguration(
        "del-b",
        "tags.ring = 'del'",
        { "properties.desired.mode": "b" },
        1,
      ) as Configuration,
    );
    await pushed(client.patches, client.twin, has("mode", "a"));
    await suite.registry.removeConfiguration("del-a");
    // del-b now wins: its content is applied over what del-a left.
    await pushed(client.patches, client.twin, has("mode", "b"));
    await suite.registry.removeConfiguration("del-b");
    // Passes run in order: once a later configuration is applied elsewhere, the removal was evaluated too.
    const marker = await createModule(suite.registry, "adm-del-marker", "m");
    const markerClient = await connect(marker);
    await add(
      moduleConfiguration("del-marker", "deviceId = 'adm-del-marker'", {
        "properties.desired.done": true,
      }) as Configuration,
    );
    await pushed(markerClient.patches, markerClient.twin, has("done", true));
    const twin = (await suite.registry.getModuleTwin("adm-del", "m")).responseBody as unknown as {
      configurations?: Record<string, unknown>;
      properties: { desired: Record<string, unknown> };
    };
    expect(twin.properties.desired.mode).toBe("b");
    expect(twin.configurations).toBeUndefined();
  });
});

describe("ADM device configurations", () => {
  it("targets device twins by reported properties, and reaches the device's client", async () => {
    await suite.registry.create({ deviceId: "adm-dev" });
    const deviceIdentity: ModuleIdentity = {
      deviceId: "adm-dev",
      key: (await suite.registry.get("adm-dev")).responseBody.authentication!.symmetricKey!.primaryKey!,
    };
    const client = DeviceClient.fromConnectionString(
      connectionStringOf(suite.hub.info, deviceIdentity),
      Mqtt,
    );
    client.on("error", () => undefined);
    await client.setOptions({ ca: readFileSync(suite.hub.info.caFile, "utf8") });
    await client.open();
    const twin = await client.getTwin();
    const patches: Array<Record<string, unknown>> = [];
    await listenForDesired(twin, (patch) => patches.push(patch));
    await add({
      id: "fw-by-report",
      content: { deviceContent: { "properties.desired.firmware": { version: "2.0" } } },
      targetCondition: "properties.reported.firmware.channel = 'beta'",
      priority: 1,
    });
    const applied = pushed(patches, twin, has("firmware.version", "2.0"));
    await updateReported(twin, { firmware: { channel: "beta" } });
    await applied;
    const deviceTwin = (await suite.registry.getTwin("adm-dev")).responseBody as unknown as {
      configurations: Record<string, { status: string }>;
    };
    expect(deviceTwin.configurations).toEqual({ "fw-by-report": { status: "Applied" } });
    await client.close();
  });
});

describe("IoT Edge deployments", () => {
  const base = (modules: Record<string, unknown>) => ({
    $edgeAgent: {
      "properties.desired": {
        schemaVersion: "1.1",
        runtime: { type: "docker", settings: {} },
        systemModules: {
          edgeAgent: { type: "docker", settings: { image: "mcr.microsoft.com/azureiotedge-agent:1.5" } },
          edgeHub: {
            type: "docker",
            status: "running",
            restartPolicy: "always",
            settings: { image: "hub:1.5" },
          },
        },
        modules,
      },
    },
    $edgeHub: {
      "properties.desired": {
        schemaVersion: "1.1",
        routes: {},
        storeAndForwardConfiguration: { timeToLiveSecs: 7200 },
      },
    },
  });

  let agentTwin: Twin;
  let agentPatches: Array<Record<string, unknown>>;
  let sensorClient: { twin: Twin; patches: Array<Record<string, unknown>> };

  beforeAll(async () => {
    await suite.registry.create({ deviceId: "edge-adm", capabilities: { iotEdge: true } });
    await suite.registry.updateTwin("edge-adm", { tags: { site: "munich" } }, "*");
    const deviceKey = (await suite.registry.get("edge-adm")).responseBody.authentication!.symmetricKey!
      .primaryKey!;
    // The runtime connects $edgeAgent with the device's key; custom modules have identities of their own.
    const agent = await connect({ deviceId: "edge-adm", moduleId: "$edgeAgent", key: deviceKey });
    agentTwin = agent.twin;
    agentPatches = agent.patches;
    await suite.registry.addModule({
      deviceId: "edge-adm",
      moduleId: "sensor",
      managedBy: "iotEdge",
    } as never);
    const sensor = (await suite.registry.getModule("edge-adm", "sensor")).responseBody;
    sensorClient = await connect({
      deviceId: "edge-adm",
      moduleId: "sensor",
      key: sensor.authentication!.symmetricKey!.primaryKey!,
    });
  });

  it("applies the base deployment to $edgeAgent, $edgeHub and the modules; layered ones merge over it by priority", async () => {
    const sensorModule = {
      type: "docker",
      status: "running",
      restartPolicy: "always",
      settings: { image: "sensor:1" },
    };
    await add({
      id: "base-munich",
      content: {
        modulesContent: {
          ...base({ sensor: sensorModule }),
          sensor: { "properties.desired": { interval: 5, unit: "C" } },
        },
      },
      targetCondition: "tags.site = 'munich'",
      priority: 10,
    });
    await pushed(agentPatches, agentTwin, has("modules.sensor.settings.image", "sensor:1"));
    await pushed(sensorClient.patches, sensorClient.twin, has("interval", 5));

    // A layered deployment below the base's priority is not applied.
    await add({
      id: "layer-low",
      content: { modulesContent: { $edgeAgent: {}, sensor: { "properties.desired.unit": "K" } } },
      targetCondition: "tags.site = 'munich'",
      priority: 5,
    });
    await add({
      id: "layer-debug",
      content: {
        modulesContent: {
          $edgeAgent: {
            "properties.desired.modules.debug": { type: "docker", settings: { image: "debug:1" } },
          },
          sensor: { "properties.desired.unit": "F" },
        },
      },
      targetCondition: "tags.site = 'munich'",
      priority: 20,
    });
    await pushed(sensorClient.patches, sensorClient.twin, has("unit", "F"));
    await pushed(agentPatches, agentTwin, has("modules.debug.settings.image", "debug:1"));

    const sensorTwin = (await suite.registry.getModuleTwin("edge-adm", "sensor")).responseBody;
    expect(sensorTwin.properties.desired).toMatchObject({ interval: 5, unit: "F" });
    const agent = (await suite.registry.getModuleTwin("edge-adm", "$edgeAgent")).responseBody as unknown as {
      configurations: Record<string, { status: string }>;
      properties: { desired: { modules: Record<string, unknown>; runtime: unknown } };
    };
    expect(agent.configurations).toEqual({
      "base-munich": { status: "Applied" },
      "layer-debug": { status: "Applied" },
      "layer-low": { status: "Targeted" },
    });
    expect(Object.keys(agent.properties.desired.modules).sort()).toEqual(["debug", "sensor"]);
    expect(agent.properties.desired.runtime).toEqual({ type: "docker", settings: {} });
    expect(sensorClient.patches.some(has("unit", "K"))).toBe(false);
  });

  it("counts $edgeAgent's report of the desired version as reportedSuccessfulCount / reportedFailedCount", async () => {
    const desired = (await suite.registry.getModuleTwin("edge-adm", "$edgeAgent")).responseBody.properties
      .desired;
    const version = desired.$version as number;
    const counted = suite.hub.waitForOutput(
      /adm: base-munich .*reportedSuccessfulCount=1 reportedFailedCount=0/,
    );
    await updateReported(agentTwin, { lastDesiredVersion: version, lastDesiredStatus: { code: 200 } });
    await counted;
    expect((await configurationOf("base-munich")).systemMetrics?.results).toEqual({
      targetedCount: 1,
      appliedCount: 1,
      reportedSuccessfulCount: 1,
      reportedFailedCount: 0,
    });
    const failed = suite.hub.waitForOutput(
      /adm: base-munich .*reportedSuccessfulCount=0 reportedFailedCount=1/,
    );
    await updateReported(agentTwin, { lastDesiredStatus: { code: 400 } });
    await failed;
  });

  it("content applied directly stays until the deployment changes; updating the deployment applies it again", async () => {
    await suite.registry.applyConfigurationContentOnDevice("edge-adm", {
      modulesContent: { ...base({}), sensor: { "properties.desired": { interval: 60 } } },
    });
    await pushed(sensorClient.patches, sensorClient.twin, has("interval", 60));
    // Another reported change re-evaluates the device: its deployments did not change, so nothing is re-applied.
    const evaluated = suite.hub.waitForOutput(/adm: base-munich .*reportedFailedCount=0/);
    await updateReported(agentTwin, { lastDesiredStatus: { code: 200 } });
    await evaluated;
    expect(
      (await suite.registry.getModuleTwin("edge-adm", "sensor")).responseBody.properties.desired,
    ).toMatchObject({
      interval: 60,
    });
    const current = await configurationOf("base-munich");
    const agentVersion = (await suite.registry.getModuleTwin("edge-adm", "$edgeAgent")).responseBody
      .properties.desired.$version as number;
    await suite.registry.updateConfiguration({ ...current, labels: { release: "2" } });
    await pushed(sensorClient.patches, sensorClient.twin, has("interval", 5));
    // The engine writes $edgeAgent after the custom modules: the next test reads its desired version.
    await pushed(agentPatches, agentTwin, (patch) => (patch.$version as number) > agentVersion);
  });

  it("targets IoT Edge devices only", async () => {
    await suite.registry.create({ deviceId: "leaf-munich" });
    await suite.registry.updateTwin("leaf-munich", { tags: { site: "munich" } }, "*");
    // The pass that counts this report saw the leaf's tags too (they were written first).
    const version = (await suite.registry.getModuleTwin("edge-adm", "$edgeAgent")).responseBody.properties
      .desired.$version as number;
    const counted = suite.hub.waitForOutput(/adm: base-munich .*reportedFailedCount=1/);
    await updateReported(agentTwin, { lastDesiredVersion: version, lastDesiredStatus: { code: 500 } });
    expect(await counted).toMatch(/targetedCount=1 /);
    const response = await serviceRequest(suite.hub.info, "GET", "/configurations/base-munich");
    expect((response.body as Configuration).systemMetrics?.results?.targetedCount).toBe(1);
  });
});
