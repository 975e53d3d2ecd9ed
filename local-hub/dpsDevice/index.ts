import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import { createDeviceTlsServer } from "../mqtt/deviceTlsServer";
import { SizeLimitedConnection } from "../mqtt/sizeLimitedConnection";
import { RegistrationBroker, type DpsDeviceChaos } from "./registrationBroker";
import type { DeviceRegistrations } from "./registrations";

export type { DpsDeviceChaos } from "./registrationBroker";

/**
 * The largest register request a device may PUBLISH: `{registrationId, payload}` is a 128-character id and custom
 * allocation data, which the local DPS does not use. A larger PUBLISH closes the connection as soon as its header
 * arrives (mqtt/packetSizeCheck.ts), as the hub does above its message size. DPS documents no figure: this bound is
 * the local DPS's own.
 */
export const MAX_REGISTRATION_REQUEST_BYTES = 16 * 1024;

export interface DpsDeviceApiOptions {
  /** PEM server key and certificate (the hub's, which names the DPS's address too) and the hub's CA. */
  key: string | Buffer;
  cert: string | Buffer;
  ca?: string | Buffer;
  /** The DPS's own address (its service API has 443 there); MQTT on `port` (DPS: 8883; 0 = a free port). */
  host: string;
  port: number;
  idScope: string;
  registrations: DeviceRegistrations;
  chaos?: DpsDeviceChaos;
  log?: (line: string) => void;
}

export interface DpsDeviceApi {
  port: number;
  close(): Promise<void>;
}

/** Starts DPS's device registration endpoint (MQTT over TLS): see registrationBroker.ts. */
export async function startDpsDeviceApi(options: DpsDeviceApiOptions): Promise<DpsDeviceApi> {
  const broker = await RegistrationBroker.create({
    idScope: options.idScope,
    registrations: options.registrations,
    chaos: options.chaos,
    log: options.log,
  });
  const sockets = new Set<TLSSocket>();
  const server = createDeviceTlsServer({ key: options.key, cert: options.cert, ca: options.ca }, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    broker.aedes.handle(
      new SizeLimitedConnection(
        socket,
        (refusal) =>
          options.log?.(
            `dps: closed the connection of ${peer}: ${refusal.packetType} of ${refusal.bytes} bytes (${refusal.rule})`,
          ),
        MAX_REGISTRATION_REQUEST_BYTES,
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
