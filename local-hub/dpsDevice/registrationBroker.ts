import { randomUUID } from "node:crypto";
import {
  Aedes,
  type AedesPublishPacket,
  type AuthenticateError,
  type Client,
  type Subscription,
} from "aedes";
import {
  DPS_RESPONSE_FILTER,
  dpsTopics,
  parseDpsDeviceTopic,
  type RegistrationOperationStatus,
} from "../../lib/dps/registrationProtocol";
import { isPlainObject } from "../../lib/iothub/twin";
import { DPS_ERROR_CODES, DpsError, dpsBadRequest } from "../errors/dpsError";
import { peerCertificateChain, peerCertificateThumbprints } from "../mqtt/authenticate";
import { grantAtMostQos1, publishRefusal } from "../mqtt/deviceBroker";
import { TokenExpiry } from "../mqtt/tokenExpiry";
import { attestConnect, type Attestation } from "./attestation";
import { MAX_CHAIN_CERTIFICATES } from "./certificateChain";
import { RegistrationOperations } from "./operations";
import type { DeviceRegistrations } from "./registrations";

/**
 * DPS's device endpoint on an aedes broker: aedes does MQTT; who may connect (attestation.ts), which topics a
 * registering device may use, and every answer are decided here. Answers go to the asking connection only
 * (`client.publish`), never through the broker's topic tree, where every device subscribes to the same
 * `$dps/registrations/res/#`; nothing a device publishes reaches another device.
 */

export interface RegistrationBrokerOptions {
  idScope: string;
  registrations: DeviceRegistrations;
  /** Quotas and faults for `dpsRegistration` (the platform's Chaos); subject `{registrationId} {topic}`. */
  chaos?: DpsDeviceChaos;
  log?: (line: string) => void;
}

export type DpsDeviceChaosVerdict =
  | { action: "proceed" }
  | { action: "throttle" }
  | { action: "fault"; mode: "503" | "hang" | "reset" | "drop" };

export interface DpsDeviceChaos {
  admit(operationClass: "dpsRegistration", subject: string): DpsDeviceChaosVerdict;
}

/**
 * The local DPS assigns before it answers a register request: the operation can be polled at once. A throttled or
 * faulted request is to be sent again after a second.
 */
const RETRY_AFTER_SECONDS = { assigning: 0, retry: 1 } as const;

export class RegistrationBroker {
  private readonly attested = new WeakMap<Client, { registrationId: string; attestation: Attestation }>();
  private readonly subscribed = new WeakSet<Client>();
  private readonly operations = new RegistrationOperations();
  private readonly tokenExpiry = new TokenExpiry<Client>((client) => {
    this.options.log?.(`dps: closing ${client.id}: its SAS token has expired`);
    client.close();
  });

  private constructor(
    readonly aedes: Aedes,
    private readonly options: RegistrationBrokerOptions,
  ) {
    aedes.authenticate = (client, username, password, done) =>
      this.authenticate(client, username, password, done);
    aedes.preConnect = (client, _packet, done) =>
      grantAtMostQos1(client)
        ? done(null, true)
        : done(new Error("aedes' client has no _parser: QoS 2 subscriptions cannot be capped"), false);
    aedes.authorizePublish = (client, packet, done) => {
      packet.retain = false;
      this.authorizePublish(client, packet, done);
    };
    aedes.authorizeSubscribe = (client, subscription, done) =>
      this.authorizeSubscribe(client, subscription, done);
    // Only the DPS's own answers reach a device, and only the one that asked (sent with client.publish).
    aedes.authorizeForward = (_client, packet) =>
      packet.topic.startsWith("$dps/registrations/res/") ? packet : null;
    aedes.on("publish", (packet, client) => {
      if (client) this.onDevicePublish(client, packet);
    });
  }

  static async create(options: RegistrationBrokerOptions): Promise<RegistrationBroker> {
    // Registration ids are at most 128 characters.
    const aedes = await Aedes.createBroker({ maxClientsIdLength: 128, drainTimeout: 30_000 });
    return new RegistrationBroker(aedes, options);
  }

  async close(): Promise<void> {
    this.tokenExpiry.close();
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
  }

  private authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (error: AuthenticateError | null, success: boolean | null) => void,
  ): void {
    const result = attestConnect(
      this.options.registrations.attestationBackend,
      this.options.idScope,
      {
        clientId: client.id,
        username,
        password,
        certificateThumbprints: peerCertificateThumbprints(client.conn),
        certificateChain: peerCertificateChain(client.conn, MAX_CHAIN_CERTIFICATES),
      },
      new Date(),
    );
    if (!result.ok) {
      this.options.log?.(`dps: refused ${client.id}: ${result.reason}`);
      const error = Object.assign(new Error(`Not authorized: ${result.reason}`), { returnCode: 5 });
      done(error as AuthenticateError, null);
      return;
    }
    this.attested.set(client, { registrationId: result.registrationId, attestation: result.attestation });
    if (result.tokenExpiresAtMs !== undefined && !client.conn.destroyed) {
      this.tokenExpiry.watch(client, result.tokenExpiresAtMs);
      client.conn.once("close", () => this.tokenExpiry.release(client));
    }
    done(null, true);
  }

  private authorizePublish(
    client: Client | null,
    packet: { topic: string; qos: number },
    done: (error?: Error | null) => void,
  ): void {
    // As the hub: a publish to a topic that is no DPS request (or before attestation) closes the connection.
    done(
      publishRefusal(
        packet,
        client,
        "dps",
        this.options.log,
        () => client !== null && this.attested.has(client) && Boolean(parseDpsDeviceTopic(packet.topic)),
      ),
    );
  }

  private authorizeSubscribe(
    client: Client,
    subscription: Subscription,
    done: (error: Error | null, subscription?: Subscription | null) => void,
  ): void {
    if (!this.attested.has(client) || subscription.topic !== DPS_RESPONSE_FILTER) {
      this.options.log?.(`dps: ${client.id} may not subscribe to ${subscription.topic}`);
      done(null, null); // SUBACK 0x80 for this filter
      return;
    }
    this.subscribed.add(client);
    done(null, subscription);
  }

  private onDevicePublish(client: Client, packet: AedesPublishPacket): void {
    const device = this.attested.get(client);
    const request = parseDpsDeviceTopic(packet.topic);
    if (!device || !request) return;
    const body = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    if (request.kind === "operationStatus") {
      const outcome = this.operations.get(request.operationId, device.registrationId);
      if (!outcome) {
        this.answerError(
          client,
          request.rid,
          new DpsError(
            404,
            DPS_ERROR_CODES.registrationNotFound,
            `Operation ${request.operationId} not found.`,
          ),
        );
        return;
      }
      const status: RegistrationOperationStatus = { operationId: request.operationId, ...outcome };
      this.answer(client, dpsTopics.response(200, request.rid), status);
      return;
    }

    const verdict = this.options.chaos?.admit("dpsRegistration", `${client.id} ${packet.topic}`) ?? {
      action: "proceed",
    };
    if (verdict.action === "fault") {
      if (verdict.mode === "reset") return void client.conn.destroy();
      if (verdict.mode === "hang" || verdict.mode === "drop") return;
      this.answerError(
        client,
        request.rid,
        new DpsError(503, DPS_ERROR_CODES.unavailable, "The service is unavailable."),
        RETRY_AFTER_SECONDS.retry,
      );
      return;
    }
    if (verdict.action === "throttle") {
      this.answerError(
        client,
        request.rid,
        new DpsError(429, DPS_ERROR_CODES.throttled, "Too many registrations: the DPS's quota is used up."),
        RETRY_AFTER_SECONDS.retry,
      );
      return;
    }
    try {
      checkRegisterBody(body, device.registrationId);
      const outcome = this.options.registrations.register(device.registrationId, device.attestation);
      const operationId = this.operations.add(device.registrationId, outcome);
      this.answer(client, dpsTopics.response(202, request.rid, RETRY_AFTER_SECONDS.assigning), {
        operationId,
        status: "assigning",
      });
    } catch (error) {
      if (error instanceof DpsError) return this.answerError(client, request.rid, error);
      const trackingId = randomUUID();
      this.options.log?.(
        `dps: registering ${client.id} failed (tracking id ${trackingId}): ${String(error)}`,
      );
      this.answerError(
        client,
        request.rid,
        new DpsError(500, DPS_ERROR_CODES.internal, `Internal error, tracking id ${trackingId}.`),
      );
    }
  }

  private answerError(client: Client, rid: string, error: DpsError, retryAfterSeconds?: number): void {
    this.answer(client, dpsTopics.response(error.status, rid, retryAfterSeconds), error.toBody(randomUUID()));
  }

  private answer(client: Client, topic: string, body: unknown): void {
    // The SDK subscribes before it publishes; an answer nobody subscribed to is not sent (as on the hub).
    if (!this.subscribed.has(client) || client.closed) return;
    client.publish(
      { cmd: "publish", topic, payload: JSON.stringify(body), qos: 1, retain: false, dup: false },
      (error) => {
        if (error) this.options.log?.(`dps: could not deliver ${topic} to ${client.id}: ${error.message}`);
      },
    );
  }
}

/**
 * The register request's body: `{registrationId, payload?}` with the connection's registration id (the SDK sends
 * exactly that). `payload` is custom allocation data, which the local DPS does not use (no custom allocation).
 */
function checkRegisterBody(body: Buffer, registrationId: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    throw dpsBadRequest("body: must be JSON {registrationId, payload?}");
  }
  if (!isPlainObject(parsed)) throw dpsBadRequest("body: must be a JSON object {registrationId, payload?}");
  if (parsed.registrationId !== registrationId) {
    throw dpsBadRequest("registrationId: must be the registration id the connection authenticated as");
  }
  const unknown = Object.keys(parsed).filter((key) => key !== "registrationId" && key !== "payload");
  if (unknown.length > 0) throw dpsBadRequest(`${unknown[0]}: is not a field of a registration request`);
}
