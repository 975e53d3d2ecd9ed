import type { ModuleClient } from "azure-iot-device";
import { startHub } from "../support/hubProcess";
import { hubRegistry, useSuiteHub } from "../support/suiteHub";
import {
  closed,
  connected,
  createModule,
  end,
  freePort,
  listenForDesired,
  nextDesired,
  nextMessage,
  openDeviceClientWithCertificate,
  openModuleClient,
  rawMqttClient,
  selfSignedCertificate,
  subscribe,
  type ModuleIdentity,
  type RawMqttClient,
  updateReported,
} from "./mqttSupport";

// The device API over MQTT, driven by the real azure-iot-device(-mqtt) clients (and raw mqtt.js where a test must
// do what the SDK never does) against a real local hub, with the real service SDK on the other side.

const suite = useSuiteHub();
const openClients: ModuleClient[] = [];
const rawClients: RawMqttClient[] = [];

afterEach(async () => {
  await Promise.all(openClients.splice(0).map((client) => client.close().catch(() => undefined)));
  await Promise.all(rawClients.splice(0).map((client) => end(client)));
});

async function open(identity: ModuleIdentity): Promise<ModuleClient> {
  const client = await openModuleClient(suite.hub.info, identity);
  openClients.push(client);
  return client;
}

function raw(identity: ModuleIdentity, options: Parameters<typeof rawMqttClient>[2] = {}): RawMqttClient {
  const client = rawMqttClient(suite.hub.info, identity, options);
  rawClients.push(client);
  return client;
}

describe("twins over MQTT", () => {
  it("connects a module and gets its twin with the desired properties the service set", async () => {
    const identity = await createModule(suite.registry, "twin-dev", "get");
    await suite.registry.updateModuleTwin(
      "twin-dev",
      "get",
      { properties: { desired: { color: "red" } } },
      "*",
    );

    const twin = await (await open(identity)).getTwin();

    expect(twin.properties.desired).toMatchObject({ color: "red", $version: 2 });
    expect(twin.properties.reported).toMatchObject({ $version: 1 });
  });

  it("stores a reported patch that the service SDK then reads", async () => {
    const identity = await createModule(suite.registry, "twin-dev", "reported");
    const startedAt = Date.now();
    const twin = await (await open(identity)).getTwin();

    await updateReported(twin, { temperature: 21.5, firmware: { version: "1.2" } });

    const module = (await suite.registry.getModule("twin-dev", "reported")).responseBody;
    expect(new Date(module.lastActivityTime!).getTime()).toBeGreaterThanOrEqual(startedAt);

    const serviceTwin = (await suite.registry.getModuleTwin("twin-dev", "reported")).responseBody;
    expect(serviceTwin.properties.reported).toMatchObject({
      temperature: 21.5,
      firmware: { version: "1.2" },
      $version: 2,
    });
  });

  it("fails a reported patch that breaks IoT Hub's twin rules with the hub's message", async () => {
    const identity = await createModule(suite.registry, "twin-dev", "bad-reported");
    const twin = await (await open(identity)).getTwin();

    await expect(updateReported(twin, { "bad.key": 1 })).rejects.toThrow(/bad\.key/);
  });

  it("pushes a desired patch made with the service SDK to twin.on('properties.desired')", async () => {
    const identity = await createModule(suite.registry, "twin-dev", "desired");
    const twin = await (await open(identity)).getTwin();
    await listenForDesired(twin, () => undefined);
    const received = nextDesired(twin, 1);

    await suite.registry.updateModuleTwin(
      "twin-dev",
      "desired",
      { properties: { desired: { rate: 5 } } },
      "*",
    );

    expect(await received).toEqual({ rate: 5, $version: 2 });
    expect(twin.properties.desired).toMatchObject({ rate: 5 });
  });
});

describe("authentication", () => {
  it("refuses a module whose SAS token is signed with a wrong key: UnauthorizedError", async () => {
    const identity = await createModule(suite.registry, "auth-dev", "wrong-key");
    const wrongKey = Buffer.alloc(32, 7).toString("base64");

    await expect(openModuleClient(suite.hub.info, identity, wrongKey)).rejects.toMatchObject({
      name: "UnauthorizedError",
    });
  });

  it("refuses an identity that is not registered (CONNACK 5, not authorized)", async () => {
    const ghost = { deviceId: "auth-dev", moduleId: "ghost", key: Buffer.alloc(32, 1).toString("base64") };
    await expect(connected(raw(ghost))).rejects.toMatchObject({ code: 5 });
  });

  it("refuses the modules of a disabled device", async () => {
    const identity = await createModule(suite.registry, "auth-disabled", "m");
    const device = (await suite.registry.get("auth-disabled")).responseBody;
    await suite.registry.update({ ...device, status: "disabled" });

    await expect(connected(raw(identity))).rejects.toMatchObject({ code: 5 });
  });

  it("connects an X.509 device by the thumbprint of its self-signed certificate", async () => {
    const certificate = selfSignedCertificate("x509-dev");
    const other = selfSignedCertificate("someone-else");
    await suite.registry.create({
      deviceId: "x509-dev",
      authentication: {
        type: "selfSigned",
        x509Thumbprint: { primaryThumbprint: certificate.sha1, secondaryThumbprint: other.sha256 },
      },
    });

    const client = await openDeviceClientWithCertificate(suite.hub.info, "x509-dev", certificate);
    try {
      const twin = await client.getTwin();
      expect(twin.properties.reported).toMatchObject({ $version: 1 });
    } finally {
      await client.close();
    }
    const stranger = selfSignedCertificate("x509-dev");
    await expect(openDeviceClientWithCertificate(suite.hub.info, "x509-dev", stranger)).rejects.toMatchObject(
      {
        name: "UnauthorizedError",
      },
    );
  });
});

describe("topic isolation", () => {
  it("lets a module subscribe and publish only its own topics", async () => {
    const a = await createModule(suite.registry, "acl-dev", "a");
    await createModule(suite.registry, "acl-dev", "b");
    const client = raw(a);
    await connected(client);

    expect(await subscribe(client, "devices/acl-dev/modules/b/inputs/#")).toBe(128);
    expect(await subscribe(client, "devices/acl-dev/modules/b/messages/events/#")).toBe(128);
    expect(await subscribe(client, "#")).toBe(128);
    expect(await subscribe(client, "devices/acl-dev/modules/a/inputs/#")).toBe(0);

    // Publishing as another module costs the connection, as on IoT Hub.
    const gone = closed(client);
    client.publish("devices/acl-dev/modules/b/messages/events/", "{}", { qos: 1 });
    await gone;
  });

  it("answers twin requests and pushes desired patches only to the identity they belong to", async () => {
    const a = await createModule(suite.registry, "iso-dev", "a");
    const b = await createModule(suite.registry, "iso-dev", "b");
    const clientA = raw(a);
    const clientB = raw(b);
    await Promise.all([connected(clientA), connected(clientB)]);
    for (const client of [clientA, clientB]) {
      expect(await subscribe(client, "$iothub/twin/res/#")).toBe(0);
      expect(await subscribe(client, "$iothub/twin/PATCH/properties/desired/#")).toBe(0);
    }

    // A's GET is answered to A; B, subscribed to the same topic names, must not see it.
    const answerA = nextMessage(clientA);
    clientA.publish("$iothub/twin/GET/?$rid=from-a", "", { qos: 0 });
    expect((await answerA).topic).toBe("$iothub/twin/res/200/?$rid=from-a");
    const firstForB = nextMessage(clientB);
    clientB.publish("$iothub/twin/GET/?$rid=from-b", "", { qos: 0 });
    expect((await firstForB).topic).toBe("$iothub/twin/res/200/?$rid=from-b");

    // B's desired patch reaches B only: A's first push is its own.
    const pushB = nextMessage(clientB);
    await suite.registry.updateModuleTwin("iso-dev", "b", { properties: { desired: { owner: "b" } } }, "*");
    expect(JSON.parse((await pushB).payload)).toEqual({ owner: "b", $version: 2 });
    const pushA = nextMessage(clientA);
    await suite.registry.updateModuleTwin("iso-dev", "a", { properties: { desired: { owner: "a" } } }, "*");
    expect(JSON.parse((await pushA).payload)).toEqual({ owner: "a", $version: 2 });
  });
});

describe("faults on the device API", () => {
  it("answers a twin GET with IoT Hub's 503 error body while a deviceTwin fault is armed, then recovers", async () => {
    const identity = await createModule(suite.registry, "fault-dev", "twin");
    const client = raw(identity);
    await connected(client);
    expect(await subscribe(client, "$iothub/twin/res/#")).toBe(0);
    const added = await suite.hub.cli(
      "fault",
      "add",
      "deviceTwin",
      "--mode",
      "503",
      "--match",
      "fault-dev/twin ",
    );
    expect(added.code).toBe(0);

    const failed = nextMessage(client);
    client.publish("$iothub/twin/GET/?$rid=1", "", { qos: 0 });
    const failure = await failed;
    expect(failure.topic).toBe("$iothub/twin/res/503/?$rid=1");
    expect(JSON.parse(failure.payload)).toMatchObject({ errorCode: 503001, message: expect.any(String) });

    const answered = nextMessage(client);
    client.publish("$iothub/twin/GET/?$rid=2", "", { qos: 0 });
    expect((await answered).topic).toBe("$iothub/twin/res/200/?$rid=2");
  });

  it("answers twin requests over the deviceTwin quota with 429, as IoT Hub throttles", async () => {
    const identity = await createModule(suite.registry, "fault-dev", "quota");
    const client = raw(identity);
    await connected(client);
    expect(await subscribe(client, "$iothub/twin/res/#")).toBe(0);
    expect((await suite.hub.cli("quota", "set", "deviceTwin=1/min")).code).toBe(0);
    try {
      const first = nextMessage(client);
      client.publish("$iothub/twin/GET/?$rid=1", "", { qos: 0 });
      expect((await first).topic).toBe("$iothub/twin/res/200/?$rid=1");
      const second = nextMessage(client);
      client.publish("$iothub/twin/GET/?$rid=2", "", { qos: 0 });
      const throttled = await second;
      expect(throttled.topic).toBe("$iothub/twin/res/429/?$rid=2");
      expect(JSON.parse(throttled.payload)).toMatchObject({ errorCode: 429001 });
    } finally {
      expect((await suite.hub.cli("quota", "clear")).code).toBe(0);
    }
  });

  it("applies but does not push a desired patch while a desiredPush drop fault is armed", async () => {
    const identity = await createModule(suite.registry, "fault-dev", "push");
    const client = raw(identity);
    await connected(client);
    expect(await subscribe(client, "$iothub/twin/PATCH/properties/desired/#")).toBe(0);
    expect(
      (await suite.hub.cli("fault", "add", "desiredPush", "--mode", "drop", "--match", "fault-dev/push "))
        .code,
    ).toBe(0);

    const firstPush = nextMessage(client);
    await suite.registry.updateModuleTwin(
      "fault-dev",
      "push",
      { properties: { desired: { dropped: 1 } } },
      "*",
    );
    await suite.registry.updateModuleTwin(
      "fault-dev",
      "push",
      { properties: { desired: { pushed: 2 } } },
      "*",
    );

    expect(JSON.parse((await firstPush).payload)).toEqual({ pushed: 2, $version: 3 });
    const twin = (await suite.registry.getModuleTwin("fault-dev", "push")).responseBody;
    expect(twin.properties.desired).toMatchObject({ dropped: 1, pushed: 2 });
  });
});

describe("sessions and lifecycle", () => {
  it("keeps a clean=false session's subscriptions across a reconnect: the SDK keeps receiving patches", async () => {
    const identity = await createModule(suite.registry, "session-dev", "sdk");
    const client = await open(identity);
    const twin = await client.getTwin();
    await listenForDesired(twin, () => undefined);

    // Another connection with the same clientId takes the session over (the SDK is dropped, then reconnects
    // on its own and takes it back, never subscribing again).
    const intruder = raw(identity, { clean: false });
    await connected(intruder);
    await closed(intruder);

    const received = nextDesired(twin, 1);
    await suite.registry.updateModuleTwin(
      "session-dev",
      "sdk",
      { properties: { desired: { after: "reconnect" } } },
      "*",
    );
    expect(await received).toEqual({ after: "reconnect", $version: 2 });
  });

  it("keeps a clean=false session's subscriptions across a restart of the hub", async () => {
    const identity = await createModule(suite.registry, "session-dev", "restart");
    const before = raw(identity, { clean: false });
    await connected(before);
    expect(await subscribe(before, "$iothub/twin/PATCH/properties/desired/#")).toBe(0);
    await end(before);

    await suite.hub.stop();
    await suite.hub.restart();
    suite.registry = hubRegistry(suite.hub.info);

    const after = raw(identity, { clean: false });
    await connected(after);
    const push = nextMessage(after);
    await suite.registry.updateModuleTwin(
      "session-dev",
      "restart",
      { properties: { desired: { kept: true } } },
      "*",
    );
    expect(JSON.parse((await push).payload)).toEqual({ kept: true, $version: 2 });
  });

  it("drops the live connection when the module's keys change, and records Connected/Disconnected", async () => {
    const identity = await createModule(suite.registry, "life-dev", "rekey");
    const client = raw(identity);
    await connected(client);
    const connectedModule = (await suite.registry.getModule("life-dev", "rekey")).responseBody;
    expect(connectedModule.connectionState).toBe("Connected");

    const dropped = closed(client);
    await suite.registry.updateModule(
      {
        ...connectedModule,
        authentication: {
          symmetricKey: {
            primaryKey: Buffer.alloc(32, 3).toString("base64"),
            secondaryKey: Buffer.alloc(32, 4).toString("base64"),
          },
        },
      },
      true,
    );
    await dropped;

    const module = (await suite.registry.getModule("life-dev", "rekey")).responseBody;
    expect(module.connectionState).toBe("Disconnected");
    await expect(connected(raw(identity))).rejects.toMatchObject({ code: 5 });
  });

  it("drops the live connections of a device's modules when the device is disabled", async () => {
    const identity = await createModule(suite.registry, "life-disabled", "m");
    const client = raw(identity);
    await connected(client);

    const dropped = closed(client);
    const device = (await suite.registry.get("life-disabled")).responseBody;
    await suite.registry.update({ ...device, status: "disabled" });
    await dropped;
  });

  it("drops the live connection when the module is deleted", async () => {
    const identity = await createModule(suite.registry, "life-dev", "deleted");
    const client = raw(identity);
    await connected(client);

    const dropped = closed(client);
    await suite.registry.removeModule("life-dev", "deleted");
    await dropped;
  });
});

describe("a hub restart under a connected SDK client", () => {
  it("lets the module reconnect on its own and keep receiving desired patches without subscribing again", async () => {
    // Its own hub, on an MQTT port that stays the same across the restart (the SDK reconnects where it was).
    const restartable = await startHub({ args: ["--mqtt-port", String(await freePort())] });
    let closeFirst = async (): Promise<unknown> => undefined;
    try {
      const service = hubRegistry(restartable.info);
      const identity = await createModule(service, "restart-dev", "sdk");
      const client = await openModuleClient(restartable.info, identity);
      closeFirst = () => client.close();
      const twin = await client.getTwin();
      await listenForDesired(twin, () => undefined);

      const reconnected = new Promise<void>((resolve) => client.once("connect", () => resolve()));
      await restartable.stop();
      await restartable.restart();
      await reconnected;

      const received = nextDesired(twin, 1);
      await service.updateModuleTwin(
        "restart-dev",
        "sdk",
        { properties: { desired: { survived: true } } },
        "*",
      );
      expect(await received).toEqual({ survived: true, $version: 2 });
    } finally {
      await closeFirst();
      await restartable.stop();
    }
  });
});
