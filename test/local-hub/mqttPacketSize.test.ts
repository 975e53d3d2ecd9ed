import { readFileSync } from "node:fs";
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { createInterface } from "node:readline";
import { createSasToken } from "../../lib/iothub/sas";
import { telemetryTapPath } from "../../local-hub/mqtt/telemetryTap";
import type { HubInfo } from "../../local-hub/stateDir";
import { useSuiteHub } from "../support/suiteHub";
import { memoryOf } from "../../bench/support/measure";
import {
  closed,
  connected,
  createModule,
  end,
  rawMqttClient,
  type ModuleIdentity,
  type RawMqttClient,
} from "./mqttSupport";

// No socket makes the hub buffer more than IoT Hub allows: before CONNACK a packet may be a few KB (a CONNECT),
// after it a message may be 256 KB; a larger packet closes the connection as soon as its header arrives.

const MESSAGE_LIMIT = 256 * 1024;
const suite = useSuiteHub();

// mqtt-packet ships with mqtt.js (azure-iot-device-mqtt's transport); its types are not part of this project.
const mqttPacket = require("mqtt-packet") as { generate(packet: Record<string, unknown>): Buffer };

function tlsSocket(info: HubInfo): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(
      { host: info.host, port: info.mqttPort, servername: "localhost", ca: readFileSync(info.caFile) },
      () => resolve(socket),
    );
    socket.once("error", reject);
  });
}

/** A device's CONNECT as the SDK sends it (MQTT 3.1.1, IoT Hub's username), with the given password. */
function connectPacket(info: HubInfo, clientId: string, password: Buffer): Buffer {
  return mqttPacket.generate({
    cmd: "connect",
    protocolId: "MQTT",
    protocolVersion: 4,
    clean: true,
    keepalive: 60,
    clientId,
    username: `${info.hostName}/${clientId}/?api-version=2021-04-12`,
    password,
  });
}

/** A TLS socket on which the hub answered `identity`'s CONNECT with CONNACK 0 (accepted). */
async function acceptedSocket(info: HubInfo, identity: ModuleIdentity): Promise<TLSSocket> {
  const socket = await tlsSocket(info);
  const clientId = `${identity.deviceId}/${identity.moduleId}`;
  const resource = `${info.hostName}/devices/${identity.deviceId}/modules/${identity.moduleId}`;
  const token = createSasToken(resource, identity.key, Math.floor(Date.now() / 1000) + 600);
  socket.write(connectPacket(info, clientId, Buffer.from(token)));
  const connack = await new Promise<number[]>((resolve) => {
    const received: number[] = [];
    const onData = (chunk: Buffer): void => {
      received.push(...chunk);
      if (received.length < 4) return;
      socket.off("data", onData);
      resolve(received);
    };
    socket.on("data", onData);
  });
  expect(connack).toEqual([0x20, 0x02, 0x00, 0x00]);
  return socket;
}

/** Resident memory of a process in bytes, as the kernel counts it (VmRSS, read by the benches' memoryOf). */
function residentBytes(pid: number): number {
  return memoryOf(pid).rssMb * 1024 * 1024;
}

/**
 * Writes `header`, then zeros up to `total` bytes unless the hub closes the socket first; resolves with how many
 * bytes were written and whether the hub closed the socket.
 */
async function stream(
  socket: TLSSocket,
  header: Buffer,
  total: number,
): Promise<{ written: number; closedByHub: boolean }> {
  let closedByHub = false;
  socket.on("error", () => undefined); // EPIPE / ECONNRESET once the hub closed it
  const gone = new Promise<void>((resolve) =>
    socket.once("close", () => {
      closedByHub = true;
      resolve();
    }),
  );
  const chunk = Buffer.alloc(64 * 1024);
  let written = header.length;
  socket.write(header);
  while (written < total && !closedByHub) {
    written += chunk.length;
    if (!socket.write(chunk)) {
      await Promise.race([new Promise((resolve) => socket.once("drain", resolve)), gone]);
    }
  }
  return { written, closedByHub };
}

/** The telemetry tap of the suite's hub, line by line. */
async function openTap(stateDir: string): Promise<{ next(): Promise<{ body: string }>; close(): void }> {
  const socket: Socket = netConnect(telemetryTapPath(stateDir));
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const lines = createInterface({ input: socket })[Symbol.asyncIterator]();
  return {
    next: async () => JSON.parse((await lines.next()).value as string) as { body: string },
    close: () => socket.destroy(),
  };
}

function publish(client: RawMqttClient, topic: string, payload: string): Promise<void> {
  return new Promise((resolve, reject) =>
    client.publish(topic, payload, { qos: 1 }, (error) => (error ? reject(error) : resolve())),
  );
}

describe("before CONNACK", () => {
  it("four sockets each declaring a 256 MB CONNECT are closed at once, and the hub's memory stays flat", async () => {
    const { pid } = suite.hub.info;
    const sockets = await Promise.all([1, 2, 3, 4].map(() => tlsSocket(suite.hub.info)));
    const logged = suite.hub.waitForOutput(
      /mqtt: closed the connection of 127\.0\.0\.\d+:\d+: CONNECT of 268435455 bytes \(a packet before CONNACK may be at most 8192 bytes\)/,
    );
    const before = residentBytes(pid);
    // A CONNECT whose remaining length is MQTT's largest (268,435,455 bytes), then 16 MB of it each.
    const header = Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f]);
    const results = await Promise.all(sockets.map((socket) => stream(socket, header, 16 * 1024 * 1024)));
    const grown = residentBytes(pid) - before;

    expect(results.map((result) => result.closedByHub)).toEqual([true, true, true, true]);
    // Buffering what was sent would be 64 MB; a few MB is TLS and the collector's slack.
    expect(grown).toBeLessThan(8 * 1024 * 1024);
    await logged;
  });

  it("a CONNECT larger than 8 KB (a long password) gets no CONNACK; a normal one after it does", async () => {
    const identity = await createModule(suite.registry, "size-connect", "m");
    const socket = await tlsSocket(suite.hub.info);
    const answers: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => answers.push(chunk));
    const gone = new Promise((resolve) => socket.once("close", resolve));
    socket.on("error", () => undefined);
    socket.write(connectPacket(suite.hub.info, "size-connect/m", Buffer.alloc(9 * 1024, "a")));
    await gone;
    expect(answers).toEqual([]);

    const client = rawMqttClient(suite.hub.info, identity);
    await expect(connected(client)).resolves.toMatchObject({ sessionPresent: false });
    await end(client);
  });
});

describe("after CONNACK", () => {
  let identity: ModuleIdentity;
  const telemetryTopic = "devices/size-dev/modules/m/messages/events/";

  beforeAll(async () => {
    identity = await createModule(suite.registry, "size-dev", "m");
  });

  it("accepts a 256 KB message; one byte more closes the connection and never reaches the tap", async () => {
    const tap = await openTap(suite.hub.stateDir);
    try {
      const client = rawMqttClient(suite.hub.info, identity);
      await connected(client);
      await publish(client, telemetryTopic, "x".repeat(MESSAGE_LIMIT)); // PUBACK: accepted
      expect((await tap.next()).body).toHaveLength(MESSAGE_LIMIT);

      const gone = closed(client);
      const logged = suite.hub.waitForOutput(
        /PUBLISH of 262145 bytes \(a message may be at most 262144 bytes\)/,
      );
      client.publish(telemetryTopic, "y".repeat(MESSAGE_LIMIT + 1), { qos: 1 });
      await gone;
      expect(client.connected).toBe(false);
      await logged;
      await end(client);

      // The next message the tap sees is this one, not the over-size one.
      const next = rawMqttClient(suite.hub.info, identity);
      await connected(next);
      await publish(next, telemetryTopic, "after");
      expect((await tap.next()).body).toBe("after");
      await end(next);
    } finally {
      tap.close();
    }
  });

  it("a reported-properties patch over 256 KB closes the connection", async () => {
    const client = rawMqttClient(suite.hub.info, identity);
    await connected(client);
    const gone = closed(client);
    const patch = JSON.stringify({ blob: "z".repeat(MESSAGE_LIMIT) });
    client.publish("$iothub/twin/PATCH/properties/reported/?$rid=1", patch, { qos: 0 });
    await gone;
    expect(client.connected).toBe(false);
    const twin = (await suite.registry.getModuleTwin("size-dev", "m")).responseBody;
    expect(twin.properties.reported).not.toHaveProperty("blob");
    await end(client);
  });

  it("a 256 MB PUBLISH declared after CONNACK is closed as soon as its header arrives", async () => {
    const socket = await acceptedSocket(suite.hub.info, identity);
    const logged = suite.hub.waitForOutput(/PUBLISH of 268435448 bytes \(a message may be at most/);
    // QoS 0 PUBLISH, remaining length 268,435,455, topic length 5: the hub must not wait for the body.
    const { closedByHub } = await stream(
      socket,
      Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f, 0x00, 0x05]),
      16 << 20,
    );
    expect(closedByHub).toBe(true);
    await logged;
  });
});
