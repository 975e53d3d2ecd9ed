import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import {
  Client as DeviceClient,
  X509AuthenticationProvider,
  type ModuleClient,
  type Twin,
} from "azure-iot-device";
import { Mqtt } from "azure-iot-device-mqtt";
import type { Registry } from "azure-iothub";
import { createSasToken } from "../../lib/iothub/sas";
import type { HubInfo } from "../../local-hub/stateDir";
import {
  selfSignedCertificate as selfSignedTestCertificate,
  type TestCertificate,
  type Validity,
} from "../support/testCertificates";
import { openModuleClient as openVerifyModuleClient } from "../../verify/moduleClient";

/** What the device-API suites share: identities, SDK clients and raw MQTT clients against a test hub. */

// mqtt.js ships with azure-iot-device-mqtt; its types are not part of this project.
const mqtt = require("mqtt") as {
  connect(url: string, options: Record<string, unknown>): RawMqttClient;
};

export interface RawMqttClient {
  on(event: "connect", listener: (connack: { sessionPresent: boolean }) => void): this;
  on(event: "message", listener: (topic: string, payload: Buffer, packet: { qos: number }) => void): this;
  on(event: "close" | "offline", listener: () => void): this;
  on(event: "error", listener: (error: Error & { code?: number }) => void): this;
  once(event: string, listener: (...args: never[]) => void): this;
  subscribe(
    topic: string,
    options: { qos: 0 | 1 | 2 },
    callback: (error: Error | null, granted: { topic: string; qos: number }[]) => void,
  ): void;
  publish(
    topic: string,
    payload: string,
    options: { qos: 0 | 1 | 2 },
    callback?: (error?: Error) => void,
  ): void;
  end(force?: boolean, callback?: () => void): void;
  connected: boolean;
}

export interface ModuleIdentity {
  deviceId: string;
  moduleId?: string;
  key: string;
}

/** Registers a module (and its device when needed); returns its primary key. */
export async function createModule(
  registry: Registry,
  deviceId: string,
  moduleId: string,
): Promise<ModuleIdentity> {
  await registry.create({ deviceId }).catch((error: Error) => {
    if (error.name !== "DeviceAlreadyExistsError") throw error;
  });
  await registry.addModule({ deviceId, moduleId });
  const module = (await registry.getModule(deviceId, moduleId)).responseBody;
  return { deviceId, moduleId, key: module.authentication!.symmetricKey!.primaryKey! };
}

/** A device or module connection string that reaches the hub's MQTT port through GatewayHostName. */
export function connectionStringOf(info: HubInfo, identity: ModuleIdentity, key = identity.key): string {
  return (
    `HostName=${info.hostName};DeviceId=${identity.deviceId}` +
    (identity.moduleId ? `;ModuleId=${identity.moduleId}` : "") +
    `;SharedAccessKey=${key};GatewayHostName=${info.host}:${info.mqttPort}`
  );
}

/** An open SDK module client on the hub's MQTT port, trusting the hub's CA: verify's own client, as users run it. */
export function openModuleClient(
  info: HubInfo,
  identity: ModuleIdentity,
  key?: string,
): Promise<ModuleClient> {
  return openVerifyModuleClient(connectionStringOf(info, identity, key), readFileSync(info.caFile, "utf8"));
}

/** An open SDK device client (not a module) on the hub's MQTT port, with its own SAS key, trusting the hub's CA. */
export async function openDeviceClient(info: HubInfo, identity: ModuleIdentity): Promise<DeviceClient> {
  const client = DeviceClient.fromConnectionString(connectionStringOf(info, identity), Mqtt);
  await client.setOptions({ ca: readFileSync(info.caFile, "utf8") });
  await client.open();
  return client;
}

/** Adds a desired listener and resolves once the hub acknowledged the subscription (patches before it are lost). */
export async function listenForDesired(
  twin: Twin,
  listener: (patch: Record<string, unknown>) => void,
): Promise<void> {
  twin.on("properties.desired", listener);
  // Queued behind the subscription the listener started: resolves on its SUBACK.
  await new Promise<void>((resolve, reject) =>
    twin.enableTwinDesiredPropertiesUpdates((error?: Error) => (error ? reject(error) : resolve())),
  );
}

/** Twin.properties.reported.update is callback-only. */
export function updateReported(twin: Twin, patch: Record<string, unknown>): Promise<void> {
  return new Promise((resolve, reject) =>
    twin.properties.reported.update(patch, (error?: Error) => (error ? reject(error) : resolve())),
  );
}

/** The next desired patch carrying `$version` > `after` (the first call of a listener is the full document). */
export function nextDesired(twin: Twin, after: number): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const listener = (patch: Record<string, unknown>): void => {
      if (typeof patch.$version === "number" && patch.$version > after) {
        twin.removeListener("properties.desired", listener);
        resolve(patch);
      }
    };
    twin.on("properties.desired", listener);
  });
}

export function rawMqttClient(
  info: HubInfo,
  identity: ModuleIdentity,
  options: {
    clean?: boolean;
    key?: string;
    certificate?: { cert: string; key: string };
    /** Sent instead of the identity's own clientId (the username and token still name the identity). */
    clientId?: string;
    /** Sent instead of a SAS token over the identity's resource. */
    password?: string;
    /** The SAS token's `se` (seconds since the epoch); default: an hour from now. */
    tokenExpiry?: number;
  } = {},
): RawMqttClient {
  const identityClientId = identity.moduleId
    ? `${identity.deviceId}/${identity.moduleId}`
    : identity.deviceId;
  const clientId = options.clientId ?? identityClientId;
  const resource = encodeURIComponent(
    `${info.hostName}/devices/${identity.deviceId}` +
      (identity.moduleId ? `/modules/${identity.moduleId}` : ""),
  );
  const expiry = options.tokenExpiry ?? Math.floor(Date.now() / 1000) + 3600;
  return mqtt.connect(`mqtts://${info.host}:${info.mqttPort}`, {
    clientId,
    username: `${info.hostName}/${identityClientId}/?api-version=2021-04-12`,
    password: options.certificate
      ? undefined
      : (options.password ??
        createSasToken(decodeURIComponent(resource), options.key ?? identity.key, expiry)),
    ...(options.certificate ?? {}),
    ca: caOf(info.caFile),
    clean: options.clean ?? true,
    protocolVersion: 4,
    reconnectPeriod: 0,
    keepalive: 60,
  });
}

const caCache = new Map<string, Buffer>();
function caOf(file: string): Buffer {
  let ca = caCache.get(file);
  if (!ca) caCache.set(file, (ca = readFileSync(file)));
  return ca;
}

/** Resolves on CONNACK 0; rejects with the CONNACK error (e.g. code 5 not authorized). */
export function connected(client: RawMqttClient): Promise<{ sessionPresent: boolean }> {
  return new Promise((resolve, reject) => {
    client.once("connect", (connack: { sessionPresent: boolean }) => resolve(connack));
    client.once("error", (error: Error) => reject(error));
  });
}

export function closed(client: RawMqttClient): Promise<void> {
  return new Promise((resolve) => client.once("close", () => resolve()));
}

export function subscribe(client: RawMqttClient, topic: string): Promise<number> {
  return new Promise((resolve, reject) =>
    client.subscribe(topic, { qos: 0 }, (error, granted) =>
      error ? reject(error) : resolve(granted[0].qos),
    ),
  );
}

export function nextMessage(client: RawMqttClient): Promise<{ topic: string; payload: string }> {
  return new Promise((resolve) =>
    client.once("message", (topic: string, payload: Buffer) =>
      resolve({ topic, payload: payload.toString() }),
    ),
  );
}

export function end(client: RawMqttClient): Promise<void> {
  return new Promise((resolve) => client.end(true, () => resolve()));
}

/**
 * An X.509 device client. The SDK's x509=true connection strings drop GatewayHostName (only the SAS path keeps
 * it), so the MQTT port is given through the credentials of an X509AuthenticationProvider instead.
 */
export async function openDeviceClientWithCertificate(
  info: HubInfo,
  deviceId: string,
  certificate: { cert: string; key: string },
): Promise<DeviceClient> {
  const provider = new X509AuthenticationProvider({
    host: info.hostName,
    deviceId,
    gatewayHostName: `${info.host}:${info.mqttPort}`,
    x509: certificate,
  });
  const client = DeviceClient.fromAuthenticationProvider(provider, Mqtt);
  await client.setOptions({ ca: readFileSync(info.caFile, "utf8") });
  await client.open();
  return client;
}

/**
 * A self-signed client certificate and its SHA-1 / SHA-256 thumbprints, as IoT Hub registers them; valid from a
 * minute ago for a day unless `validity` says otherwise (test/support/testCertificates.ts).
 */
export function selfSignedCertificate(commonName: string, validity?: Validity): TestCertificate {
  return selfSignedTestCertificate(commonName, { validity });
}

/**
 * A TCP port free right now, chosen by the OS (for a hub that must come back on the same MQTT port after a restart,
 * as it does on 8883 in real use: the SDK reconnects to the port it knows).
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
