import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { createServer, type Server, type TLSSocket } from "node:tls";
import { SizeLimitedConnection } from "./sizeLimitedConnection";

/** The hub's certificate, key and CA (local-hub/tls), as a device-facing listener serves them. */
export interface DeviceTlsCredentials {
  key: string | Buffer;
  cert: string | Buffer;
  ca?: string | Buffer;
}

/**
 * The TLS listener of a device endpoint (the hub's MQTT API, the local DPS's registration endpoint). Clients always
 * verify this server against the hub's CA. Client certificates are requested, as IoT Hub and DPS request them, and
 * checked by the endpoint's own authentication, not by TLS: SAS clients send none, and X.509 devices present
 * self-signed certificates that no CA vouches for, which Node would drop before the MQTT CONNECT if TLS judged them
 * (`rejectUnauthorized: true`). A presented certificate is accepted only when its thumbprint is registered (the
 * hub's mqtt/authenticate.ts, the DPS's dpsDevice/attestation.ts) or, at the DPS, when the chain it came with
 * verifies up to an X.509 enrollment group's CA (dpsDevice/certificateChain.ts), and it is inside its validity
 * period.
 */
export function createDeviceTlsServer(
  credentials: DeviceTlsCredentials,
  onSocket: (socket: TLSSocket) => void,
): Server {
  const server = createServer(
    {
      ...credentials,
      requestCert: true,
      // The server's policy for CLIENT certificates (see above), not a client skipping verification of a server.
      rejectUnauthorized: false,
      // Device-bound packets are small and each is awaited (twin answers, pushes, method calls, registration
      // answers): Nagle's algorithm would hold one back until the client ACKs the last (docs/field-notes.md, Latency).
      noDelay: true,
    },
    onSocket,
  );
  // A failed handshake concerns that client only.
  server.on("tlsClientError", () => undefined);
  return server;
}

/** The MQTT broker behind a device endpoint (the hub's DeviceBroker, the DPS's RegistrationBroker). */
export interface DeviceEndpointBroker {
  aedes: { handle(stream: Duplex): void };
  close(): Promise<void>;
}

export interface DeviceEndpointOptions {
  credentials: DeviceTlsCredentials;
  host: string;
  /** 0 = a free port. */
  port: number;
  broker: DeviceEndpointBroker;
  /** Prefix of the log lines (`mqtt`, `dps`). */
  logName: string;
  /** The largest PUBLISH the endpoint takes (mqtt/packetSizeCheck.ts; default: the hub's message size). */
  maxMessageBytes?: number;
  log?: (line: string) => void;
}

export interface DeviceEndpoint {
  port: number;
  /** Stops listening, closes the broker, then drops the connections left; once, however often called. */
  close(): Promise<void>;
}

/**
 * A device endpoint listening on `host:port`: TLS as createDeviceTlsServer has it, each connection's packets
 * size-checked before the broker reads them (an oversized one closes that connection, logged with its peer).
 * When the address cannot be bound the broker is closed and the error thrown.
 */
export async function listenForDevices(options: DeviceEndpointOptions): Promise<DeviceEndpoint> {
  const { broker, log } = options;
  const sockets = new Set<TLSSocket>();
  const server = createDeviceTlsServer(options.credentials, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    broker.aedes.handle(
      new SizeLimitedConnection(
        socket,
        (refusal) =>
          log?.(
            `${options.logName}: closed the connection of ${peer}: ${refusal.packetType} of ${refusal.bytes} bytes (${refusal.rule})`,
          ),
        options.maxMessageBytes,
      ),
    );
  });
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
  let closing: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      (closing ??= (async () => {
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        await broker.close();
        for (const socket of sockets) socket.destroy();
        await serverClosed;
      })()),
  };
}
