import { createServer, type Server, type TLSSocket } from "node:tls";

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
