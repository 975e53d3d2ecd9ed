import type { AddressInfo } from "node:net";
import { createServer, type TLSSocket } from "node:tls";
import type { Database } from "better-sqlite3";
import { IdentityStore } from "../persistence/identityStore";
import type { EventEmitter } from "node:events";
import type { HubEvents, IdentityRef } from "../events";
import type { MethodInvoker, MethodRequest, MethodResult } from "../handlers/methods";
import type { DeviceApiBackend, DeviceApiChaos } from "./backend";
import { DeviceBroker } from "./deviceBroker";
import { MemorySessionStore, SqliteSessionStore } from "./sessions";
import { SizeLimitedConnection } from "./sizeLimitedConnection";
import { TelemetryTap, telemetryTapPath, type TelemetryMessage } from "./telemetryTap";

export type { DeviceApiBackend, DeviceApiChaos, DeviceApiChaosVerdict } from "./backend";
export type { TelemetryMessage } from "./telemetryTap";
export { telemetryTapPath } from "./telemetryTap";

/** How the platform (local-hub/server.ts) starts the device API. */
export interface DeviceApiOptions {
  /** PEM server key and certificate, and the hub's CA (sent along as the chain). */
  key: string | Buffer;
  cert: string | Buffer;
  ca?: string | Buffer;
  /** Address to bind, e.g. 127.0.0.1. */
  host: string;
  /** 0 picks a free port (the returned `port` tells which). */
  port: number;
  /** The hub's host name: SAS tokens are scoped to `{hostName}/devices/...`, usernames start with it. */
  hostName: string;
  events: HubEvents;
  /** hub.db: the identities (unless `store` is given) and the clean=false sessions, which so survive a restart. */
  db?: Database;
  /** The identities; default: an IdentityStore on `db`. One of the two is required. */
  store?: DeviceApiBackend;
  /** Quotas and faults for the classes `desiredPush` and `deviceTwin` (the platform's Chaos). */
  chaos?: DeviceApiChaos;
  /** The state dir: enables the telemetry tap (`iothub-local tail`) on a socket of this dir. */
  stateDir?: string;
  /** Diagnostics (refused connections, ACL denials); never given keys or tokens. */
  log?: (line: string) => void;
}

export interface DeviceApi extends MethodInvoker {
  port: number;
  close(): Promise<void>;
  /** Every accepted device-to-cloud message, in process (the tap streams the same to `tail`). */
  telemetry: EventEmitter<{ message: [TelemetryMessage] }>;
  /** Identities connected right now. */
  connectionCount(): number;
}

export async function startDeviceApi(options: DeviceApiOptions): Promise<DeviceApi> {
  const broker = await DeviceBroker.create({
    hostName: options.hostName,
    backend: options.store ?? new IdentityStore(requireDb(options)),
    events: options.events,
    sessions: options.db ? new SqliteSessionStore(options.db) : new MemorySessionStore(),
    chaos: options.chaos,
    log: options.log,
  });

  const sockets = new Set<TLSSocket>();
  // `rejectUnauthorized: false` below is this SERVER's policy for CLIENT certificates; no client skips verifying
  // the hub (every client verifies this server against the hub's CA). IoT Hub requests a client certificate but
  // never requires one: SAS clients send none, and X.509 devices present self-signed certificates that no CA
  // vouches for, which Node would drop before the MQTT CONNECT with `true`. The check happens in
  // mqtt/authenticate.ts instead: a presented certificate is accepted only when its SHA-1/SHA-256 thumbprint is
  // registered on a selfSigned identity and it is inside its validity period; anything else is "not authorized".
  const server = createServer(
    {
      key: options.key,
      cert: options.cert,
      ca: options.ca,
      requestCert: true,
      rejectUnauthorized: false,
      // Hub->device packets are small and each is awaited (twin answers, pushes, method calls): Nagle's algorithm
      // would hold one back until the client ACKs the last, and clients delay ACKs (docs/field-notes.md, Latency).
      noDelay: true,
    },
    (socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      const peer = `${socket.remoteAddress}:${socket.remotePort}`;
      broker.aedes.handle(
        new SizeLimitedConnection(socket, (refusal) =>
          options.log?.(
            `mqtt: closed the connection of ${peer}: ${refusal.packetType} of ${refusal.bytes} bytes (${refusal.rule})`,
          ),
        ),
      );
    },
  );
  // A failed handshake is the client's problem; the SDK reports it as "Not authorized".
  server.on("tlsClientError", () => undefined);

  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port, options.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    await broker.close();
    throw error;
  }

  let tap: TelemetryTap | undefined;
  if (options.stateDir) {
    tap = await TelemetryTap.open(telemetryTapPath(options.stateDir));
    const tapRef = tap;
    broker.telemetry.on("message", (message) => tapRef.publish(message));
  }

  let closing: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    telemetry: broker.telemetry,
    connectionCount: () => broker.connectionCount,
    invokeMethod: (identity: IdentityRef, request: MethodRequest): Promise<MethodResult> =>
      broker.invokeMethod(identity, request),
    close: () =>
      (closing ??= (async () => {
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        await broker.close();
        for (const socket of sockets) socket.destroy();
        await serverClosed;
        await tap?.close();
      })()),
  };
}

function requireDb(options: DeviceApiOptions): Database {
  if (!options.db) throw new Error("startDeviceApi: give `store` or `db`");
  return options.db;
}
