import { listenForDevices } from "../mqtt/deviceTlsServer";
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
  const endpoint = await listenForDevices({
    credentials: { key: options.key, cert: options.cert, ca: options.ca },
    host: options.host,
    port: options.port,
    broker,
    logName: "dps",
    maxMessageBytes: MAX_REGISTRATION_REQUEST_BYTES,
    log: options.log,
  });
  return { port: endpoint.port, close: endpoint.close };
}
