import type { Database } from "better-sqlite3";
import { IdentityStore } from "../persistence/identityStore";
import type { EventEmitter } from "node:events";
import type { HubEvents, IdentityRef } from "../events";
import type { MethodInvoker, MethodRequest, MethodResult } from "../handlers/methods";
import type { DeviceApiBackend, DeviceApiChaos } from "./backend";
import { DeviceBroker } from "./deviceBroker";
import { listenForDevices } from "./deviceTlsServer";
import { MemorySessionStore, SqliteSessionStore } from "./sessions";
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

  // A failed handshake is the client's problem; the SDK reports it as "Not authorized".
  const endpoint = await listenForDevices({
    credentials: { key: options.key, cert: options.cert, ca: options.ca },
    host: options.host,
    port: options.port,
    broker,
    logName: "mqtt",
    log: options.log,
  });

  let tap: TelemetryTap | undefined;
  if (options.stateDir) {
    tap = await TelemetryTap.open(telemetryTapPath(options.stateDir));
    const tapRef = tap;
    broker.telemetry.on("message", (message) => tapRef.publish(message));
  }

  let closing: Promise<void> | undefined;
  return {
    port: endpoint.port,
    telemetry: broker.telemetry,
    connectionCount: () => broker.connectionCount,
    invokeMethod: (identity: IdentityRef, request: MethodRequest): Promise<MethodResult> =>
      broker.invokeMethod(identity, request),
    close: () =>
      (closing ??= (async () => {
        await endpoint.close();
        await tap?.close();
      })()),
  };
}

function requireDb(options: DeviceApiOptions): Database {
  if (!options.db) throw new Error("startDeviceApi: give `store` or `db`");
  return options.db;
}
