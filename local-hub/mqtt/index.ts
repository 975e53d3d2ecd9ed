import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import type { Database } from "better-sqlite3";
import { IdentityStore } from "../persistence/identityStore";
import type { EventEmitter } from "node:events";
import type { HubEvents, IdentityRef } from "../events";
import type { MethodInvoker, MethodRequest, MethodResult } from "../handlers/methods";
import type { DeviceApiBackend, DeviceApiChaos } from "./backend";
import { DeviceBroker } from "./deviceBroker";
import { createDeviceTlsServer } from "./deviceTlsServer";
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
  const server = createDeviceTlsServer({ key: options.key, cert: options.cert, ca: options.ca }, (socket) => {
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
  });
  // A failed handshake is the client's problem; the SDK reports it as "Not authorized".

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
