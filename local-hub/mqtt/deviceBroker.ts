import { EventEmitter } from "node:events";
import {
  Aedes,
  type AedesPublishPacket,
  type AuthenticateError,
  type Client,
  type Subscription,
} from "aedes";
import { deviceNotFound, moduleNotFound, serviceUnavailable, throttled } from "../errors/iotHubError";
import type { HubEvents, IdentityRef } from "../events";
import type { MethodInvoker, MethodRequest, MethodResult } from "../handlers/methods";
import { authenticateConnect, peerCertificateThumbprints } from "./authenticate";
import type { DeviceApiBackend, DeviceApiChaos } from "./backend";
import { DirectMethods, identityKey } from "./directMethods";
import type { SessionStore } from "./sessions";
import { answerFailure, answerReportedPatch, answerTwinGet, type TwinAnswer } from "./twinRequests";
import { parseTopicProperties, type TelemetryMessage } from "./telemetryTap";
import { TokenExpiry } from "./tokenExpiry";
import {
  allowedSubscriptions,
  classifyPublish,
  hubTopics,
  isHubToDeviceTopic,
  METHOD_REQUESTS,
  topicMatches,
} from "./topics";

/**
 * IoT Hub's device API on an aedes broker. aedes does the MQTT protocol (CONNECT, QoS, keepalive, sessions);
 * everything IoT Hub decides is here: who may connect, which topics each identity may use, and every answer,
 * written to the one connection it is for (never routed through the broker's topic tree, where all clients share
 * the same `$iothub/...` names).
 */

export interface DeviceBrokerOptions {
  hostName: string;
  backend: DeviceApiBackend;
  events: HubEvents;
  sessions: SessionStore;
  chaos?: DeviceApiChaos;
  log?: (line: string) => void;
}

interface Connection {
  client: Client;
  identity: IdentityRef;
}

type ChaosOutcome = "proceed" | "throttle" | "503" | "hang" | "reset" | "drop";

/** lastActivityTime is written at most this often per identity: telemetry must not turn into one write per message. */
const ACTIVITY_WRITE_INTERVAL_MS = 1000;

export class DeviceBroker implements MethodInvoker {
  /** Every accepted device-to-cloud message. */
  readonly telemetry = new EventEmitter<{ message: [TelemetryMessage] }>();
  private readonly connections = new Map<string, Connection>();
  private readonly identities = new WeakMap<Client, IdentityRef>();
  /** Emits an identity's key when it starts listening for direct methods. */
  private readonly methodListeners = new EventEmitter();
  private readonly lastActivityWrite = new Map<string, number>();
  private readonly methods: DirectMethods;
  private readonly detachEvents: () => void;
  /** SAS-authenticated connections, closed when their token expires (X.509 ones have no token to expire). */
  private readonly tokenExpiry = new TokenExpiry<Client>((client) => {
    this.options.log?.(`mqtt: closing ${client.id}: its SAS token has expired`);
    client.close();
  });

  private constructor(
    readonly aedes: Aedes,
    private readonly options: DeviceBrokerOptions,
  ) {
    this.methodListeners.setMaxListeners(0);
    this.methods = new DirectMethods(
      (identity, methodName, rid, payload) =>
        this.sendToIdentity(identity, hubTopics.methodRequest(methodName, rid), payload),
      (identity, timeoutMs) => this.waitForMethodListener(identity, timeoutMs),
    );
    aedes.authenticate = (client, username, password, done) =>
      this.authenticate(client, username, password, done);
    aedes.authorizePublish = (client, packet, done) => {
      // IoT Hub keeps no retained messages: a device's message must not linger in the broker for others.
      packet.retain = false;
      this.authorizePublish(client, packet, done);
    };
    aedes.authorizeSubscribe = (client, subscription, done) =>
      this.authorizeSubscribe(client, subscription, done);
    aedes.preConnect = (client, _packet, done) =>
      grantAtMostQos1(client)
        ? done(null, true)
        : done(new Error("aedes' client has no _parser: QoS 2 subscriptions cannot be capped"), false);
    // Only the hub's own answers reach clients; nothing a client publishes is forwarded to another client.
    aedes.authorizeForward = (_client, packet) => (isHubToDeviceTopic(packet.topic) ? packet : null);
    // The identity counts as connected from before its CONNACK: aedes emits `client` as it registers an
    // authenticated connection (after closing the one it takes over), before writing the CONNACK, so a deletion,
    // re-key or disable the service API takes after the device saw CONNACK always finds the connection to drop,
    // and the registry already says Connected. (From `connackSent`, it could miss: that event waits for the
    // CONNACK's write callback, a loop turn in which the service API may answer a request.)
    aedes.on("client", (client) => this.onConnected(client));
    // Calls may go to the connection from its CONNACK on. aedes reads the packets a client sends after CONNACK
    // only once this event has run, but emits `clientReady` later still: by then the client may have subscribed
    // and be waiting for a push or a method call.
    aedes.on("connackSent", (connack, client) => {
      if (connack.returnCode === 0) this.onConnackSent(client);
    });
    aedes.on("clientDisconnect", (client) => this.onClientDisconnect(client));
    aedes.on("publish", (packet, client) => {
      if (client) this.onDevicePublish(client, packet);
    });
    aedes.on("unsubscribe", (filters, client) => {
      // aedes also reports the subscriptions it drops when a connection closes; those stay in the session.
      if (!client.closed) for (const filter of filters) options.sessions.remove(client.id, filter);
    });

    const onDesiredChanged = (identity: IdentityRef, patch: Record<string, unknown>, version: number): void =>
      this.pushDesired(identity, patch, version);
    const onRevoked = (identity: IdentityRef, reason: "deleted" | "credentialsChanged" | "disabled"): void =>
      this.revoke(identity, reason);
    options.events.on("desiredChanged", onDesiredChanged);
    options.events.on("identityRevoked", onRevoked);
    this.detachEvents = () => {
      options.events.off("desiredChanged", onDesiredChanged);
      options.events.off("identityRevoked", onRevoked);
    };
  }

  static async create(options: DeviceBrokerOptions): Promise<DeviceBroker> {
    const aedes = await Aedes.createBroker({
      // IoT Hub ids are up to 128 characters; a module's clientId is two of them.
      maxClientsIdLength: 260,
      drainTimeout: 30_000,
    });
    return new DeviceBroker(aedes, options);
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  invokeMethod(identity: IdentityRef, request: MethodRequest): Promise<MethodResult> {
    const device = this.options.backend.getDevice(identity.deviceId);
    if (!device) return Promise.reject(deviceNotFound(identity.deviceId));
    if (identity.moduleId && !this.options.backend.getModule(identity.deviceId, identity.moduleId)) {
      return Promise.reject(moduleNotFound(identity.deviceId, identity.moduleId));
    }
    return this.methods.invoke(identity, request);
  }

  async close(): Promise<void> {
    this.detachEvents();
    this.methods.close();
    this.tokenExpiry.close();
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
  }

  // --- connect, disconnect, revoke -----------------------------------------------------------------------------

  private authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (error: AuthenticateError | null, success: boolean | null) => void,
  ): void {
    const result = authenticateConnect(
      this.options.backend,
      this.options.hostName,
      {
        clientId: client.id,
        username,
        password,
        certificateThumbprints: peerCertificateThumbprints(client.conn),
      },
      new Date(),
    );
    if (result.ok) {
      this.identities.set(client, result.identity);
      this.startSession(client);
      // aedes destroys the connection's stream however the client ends (DISCONNECT, takeover, error, close()):
      // its 'close' releases the timer. A stream already gone (closed while authenticating) gets none.
      if (result.tokenExpiresAtMs !== undefined && !client.conn.destroyed) {
        this.tokenExpiry.watch(client, result.tokenExpiresAtMs);
        client.conn.once("close", () => this.tokenExpiry.release(client));
      }
      done(null, true);
      return;
    }
    this.options.log?.(`mqtt: refused ${client.id}: ${result.reason}`);
    // CONNACK 5 "not authorized", whatever the reason, as IoT Hub answers.
    const error = Object.assign(new Error(`Not authorized: ${result.reason}`), { returnCode: 5 });
    done(error as AuthenticateError, null);
  }

  /**
   * A clean session starts empty; a persistent one keeps what it subscribed to, even across hub restarts. Run from
   * `authenticate`, before CONNACK, while aedes holds back every packet of the connection: whatever the client
   * subscribes to is stored after this.
   */
  private startSession(client: Client): void {
    if (client.clean) this.options.sessions.clear(client.id);
  }

  private onConnected(client: Client): void {
    const identity = this.identities.get(client);
    if (!identity) return;
    const key = identityKey(identity);
    this.connections.set(key, { client, identity });
    try {
      this.options.backend.setConnectionState(identity, "Connected", new Date());
    } catch (error) {
      this.options.log?.(`mqtt: could not record the connect of ${key}: ${String(error)}`);
    }
  }

  private onConnackSent(client: Client): void {
    const identity = this.identities.get(client);
    if (!identity || client.closed) return;
    // A restored session may already listen for methods: calls waiting for this identity can go now.
    if (this.options.sessions.subscriptions(client.id).has(METHOD_REQUESTS))
      this.methodListeners.emit(identityKey(identity));
  }

  private onClientDisconnect(client: Client): void {
    const identity = this.identities.get(client);
    if (!identity) return;
    const key = identityKey(identity);
    // After a session takeover the new connection is already registered: only the current one counts.
    if (this.connections.get(key)?.client !== client) return;
    this.connections.delete(key);
    if (client.clean) this.options.sessions.clear(client.id);
    this.lastActivityWrite.delete(key);
    try {
      this.options.backend.setConnectionState(identity, "Disconnected", new Date());
    } catch (error) {
      // The identity may have just been deleted (the reason it was disconnected).
      this.options.log?.(`mqtt: could not record the disconnect of ${key}: ${String(error)}`);
    }
  }

  /** A deleted, re-keyed or disabled identity loses its connection at once, as on IoT Hub. */
  private revoke(identity: IdentityRef, reason: "deleted" | "credentialsChanged" | "disabled"): void {
    const wholeDevice = identity.moduleId === undefined && reason !== "credentialsChanged";
    for (const [key, connection] of this.connections) {
      const affected = wholeDevice
        ? connection.identity.deviceId === identity.deviceId
        : key === identityKey(identity);
      if (!affected) continue;
      this.options.log?.(`mqtt: dropping ${key} (${reason})`);
      if (reason === "deleted") this.options.sessions.clear(connection.client.id);
      connection.client.close();
    }
    if (reason === "deleted") this.options.sessions.clear(identityKey(identity));
  }

  // --- what clients may do ---------------------------------------------------------------------------------------

  private authorizePublish(
    client: Client | null,
    packet: { topic: string; qos: number },
    done: (error?: Error | null) => void,
  ): void {
    done(
      publishRefusal(packet, client, "mqtt", this.options.log, () => {
        const identity = client ? this.identities.get(client) : undefined;
        return identity !== undefined && classifyPublish(identity, packet.topic) !== undefined;
      }),
    );
  }

  private authorizeSubscribe(
    client: Client,
    subscription: Subscription,
    done: (error: Error | null, subscription?: Subscription | null) => void,
  ): void {
    const identity = this.identities.get(client);
    if (!identity || !allowedSubscriptions(identity).includes(subscription.topic)) {
      this.options.log?.(`mqtt: ${client.id} may not subscribe to ${subscription.topic}`);
      done(null, null); // SUBACK 0x80 for this filter
      return;
    }
    // The QoS is at most 1 here (grantAtMostQos1), and every delivery uses the session's QoS.
    this.options.sessions.add(client.id, subscription.topic, subscription.qos);
    if (subscription.topic === METHOD_REQUESTS) {
      const key = identityKey(identity);
      setImmediate(() => this.methodListeners.emit(key));
    }
    done(null, subscription);
  }

  // --- device -> hub ---------------------------------------------------------------------------------------------

  private onDevicePublish(client: Client, packet: AedesPublishPacket): void {
    const identity = this.identities.get(client);
    if (!identity) return;
    const request = classifyPublish(identity, packet.topic);
    if (!request) return;
    this.recordActivity(identity);
    const body = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    switch (request.kind) {
      case "telemetry":
        this.telemetry.emit("message", {
          enqueuedTime: new Date().toISOString(),
          deviceId: identity.deviceId,
          ...(identity.moduleId ? { moduleId: identity.moduleId } : {}),
          properties: parseTopicProperties(request.properties),
          body: body.toString("utf8"),
        });
        return;
      case "methodResponse":
        this.methods.handleResponse(identity, request.rid, request.status, body);
        return;
      case "twinGet":
      case "reportedPatch":
        this.answerTwinRequest(client, packet.topic, request.rid, () =>
          request.kind === "twinGet"
            ? answerTwinGet(this.options.backend, identity)
            : answerReportedPatch(this.options.backend, identity, body),
        );
        return;
    }
  }

  /** Quotas and faults first (`deviceTwin`), then the request; the answer goes to the asking connection only. */
  private answerTwinRequest(client: Client, topic: string, rid: string, operation: () => TwinAnswer): void {
    const outcome = this.chaos("deviceTwin", `${client.id} ${topic}`);
    if (outcome === "reset") return void client.conn.destroy();
    if (outcome === "hang" || outcome === "drop") return;
    const answer =
      outcome === "throttle"
        ? answerFailure(throttled("deviceTwin"))
        : outcome === "503"
          ? answerFailure(serviceUnavailable())
          : operation();
    this.sendToClient(client, hubTopics.twinResponse(answer.status, rid, answer.version), answer.body);
  }

  private recordActivity(identity: IdentityRef): void {
    const key = identityKey(identity);
    const now = Date.now();
    if (now - (this.lastActivityWrite.get(key) ?? 0) < ACTIVITY_WRITE_INTERVAL_MS) return;
    this.lastActivityWrite.set(key, now);
    try {
      this.options.backend.touchActivity(identity, new Date(now));
    } catch (error) {
      this.options.log?.(`mqtt: could not record activity of ${key}: ${String(error)}`);
    }
  }

  // --- hub -> device ---------------------------------------------------------------------------------------------

  private pushDesired(identity: IdentityRef, patch: Record<string, unknown>, version: number): void {
    const connection = this.connections.get(identityKey(identity));
    if (!connection) return;
    const topic = hubTopics.desiredPatch(version);
    if (this.grantedQos(connection.client, topic) === undefined) return;
    const outcome = this.chaos("desiredPush", `${connection.client.id} ${topic}`);
    if (outcome === "reset") connection.client.conn.destroy();
    if (outcome !== "proceed") return;
    this.sendToClient(connection.client, topic, JSON.stringify({ ...patch, $version: version }));
  }

  /** Sends to the identity's live connection if it subscribed to `topic`; false when nobody would receive it. */
  private sendToIdentity(identity: IdentityRef, topic: string, payload: string): boolean {
    const connection = this.connections.get(identityKey(identity));
    if (!connection) return false;
    return this.sendToClient(connection.client, topic, payload);
  }

  private sendToClient(client: Client, topic: string, payload: string): boolean {
    const qos = this.grantedQos(client, topic);
    if (qos === undefined || client.closed) return false;
    client.publish(
      { cmd: "publish", topic, payload, qos: qos as 0 | 1, retain: false, dup: false },
      (error) => {
        if (error) this.options.log?.(`mqtt: could not deliver ${topic} to ${client.id}: ${error.message}`);
      },
    );
    return true;
  }

  private grantedQos(client: Client, topic: string): number | undefined {
    for (const [filter, qos] of this.options.sessions.subscriptions(client.id)) {
      if (topicMatches(filter, topic)) return qos;
    }
    return undefined;
  }

  private waitForMethodListener(identity: IdentityRef, timeoutMs: number): Promise<boolean> {
    const key = identityKey(identity);
    return new Promise((resolve) => {
      const onListening = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.methodListeners.off(key, onListening);
        resolve(false);
      }, timeoutMs);
      this.methodListeners.once(key, onListening);
    });
  }

  private chaos(operationClass: "desiredPush" | "deviceTwin", topic: string): ChaosOutcome {
    const verdict = this.options.chaos?.admit(operationClass, topic) ?? { action: "proceed" };
    return verdict.action === "fault" ? verdict.mode : verdict.action;
  }
}

/** The packets aedes' MQTT parser (mqtt-packet) emits, as far as grantAtMostQos1 reads them. */
interface ParsedPacket {
  cmd: string;
  subscriptions?: { qos: number }[];
}

/**
 * A device's PUBLISH as IoT Hub and DPS judge it: QoS 2 is not supported, and a topic the client may not publish to
 * (`mayPublish`) is refused; either closes the connection (aedes closes it on the error returned here). Refused
 * before aedes answers PUBREC or stores the packet, so nothing of it is delivered. Null: admitted.
 */
export function publishRefusal(
  { topic, qos }: { topic: string; qos: number },
  client: Client | null,
  logName: string,
  log: ((line: string) => void) | undefined,
  mayPublish: () => boolean,
): Error | null {
  if (qos === 2) {
    log?.(`${logName}: ${client?.id ?? "?"} published with QoS 2 to ${topic}: closing the connection`);
    return new Error("QoS 2 is not supported");
  }
  if (!client || !mayPublish()) {
    log?.(`${logName}: ${client?.id ?? "?"} may not publish to ${topic}`);
    return new Error(`not authorized to publish to ${topic}`);
  }
  return null;
}

/**
 * IoT Hub grants a QoS 2 subscription QoS 1 in its SUBACK and delivers at QoS 1 (docs/field-notes.md, IoT Hub's
 * answers to untrusted input). aedes 1.2 copies each requested QoS into its SUBACK before `authorizeSubscribe`
 * runs, so the request itself is lowered as the connection's parser hands it over: this listener goes in front of
 * aedes' own, during CONNECT (`preConnect` runs in the same turn as the CONNECT's parsing, before any later packet
 * of the connection is parsed). aedes keeps that parser on the client as `_parser`; false when it has none (an
 * aedes that changed), and the connection is then refused rather than granted QoS 2.
 */
export function grantAtMostQos1(client: Client): boolean {
  const parser = (client as unknown as { _parser?: EventEmitter })._parser;
  if (typeof parser?.prependListener !== "function") return false;
  parser.prependListener("packet", (packet: ParsedPacket) => {
    if (packet.cmd !== "subscribe" || !packet.subscriptions) return;
    for (const subscription of packet.subscriptions) if (subscription.qos > 1) subscription.qos = 1;
  });
  return true;
}
