import { resolve } from "node:path";
import type { FaultSpec } from "./chaos/faults";
import { parseFaultSpec } from "./chaos/faults";
import type { QuotaRule } from "./chaos/quotas";
import { parseQuotaSpec } from "./chaos/quotas";

/** Everything `iothub-local start` needs, validated. */
export interface HubConfiguration {
  /** Absolute path of the state directory. */
  stateDir: string;
  /** The address HTTPS and MQTT bind. */
  host: string;
  /** The name clients use: in hub.json, connection strings, SAS audiences and the server certificate. */
  hostName: string;
  httpsPort: number;
  mqttPort: number;
  /** Quotas set at start (replacing the stored ones for their classes). */
  quota?: QuotaRule[];
  /** Faults added at start. */
  faults: FaultSpec[];
  /** The period of the ADM engine's full evaluation (IoT Hub: 5 minutes), in milliseconds. */
  admIntervalMs: number;
  /** The port of the Entra token endpoint (0 = a free port; hub.json's entra.authorityHost tells). */
  entraPort: number;
  /** IoT Hub's disableLocalAuth: the service API refuses shared access signatures (devices keep theirs). */
  disableLocalAuth: boolean;
}

export const DEFAULT_STATE_DIR = ".iothub-local";
export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_HOSTNAME = "localhost";
export const DEFAULT_HTTPS_PORT = 443;
export const DEFAULT_MQTT_PORT = 8883;
export const DEFAULT_ADM_INTERVAL_MS = 5000;
export const DEFAULT_ENTRA_PORT = 0;

/** The flags as commander hands them over (strings). */
export interface StartFlags {
  state?: string;
  httpsPort?: string;
  mqttPort?: string;
  host?: string;
  hostname?: string;
  quota?: string;
  fault?: string[];
  admInterval?: string;
  entraPort?: string;
  disableLocalAuth?: boolean;
}

export function configurationFromFlags(flags: StartFlags): HubConfiguration {
  const host = flags.host ?? DEFAULT_HOST;
  // Another bound address is usually reached by that address: it becomes the host name unless one is given.
  // A wildcard address (0.0.0.0, ::) is no name anyone can connect to: those keep localhost.
  const hostName =
    flags.hostname ??
    (flags.host && flags.host !== DEFAULT_HOST && !isWildcard(flags.host) ? flags.host : DEFAULT_HOSTNAME);
  if (!/^[A-Za-z0-9.:-]+$/.test(hostName)) {
    throw new Error(`--hostname: '${hostName}' must be a DNS name or an IP address`);
  }
  return {
    stateDir: resolve(flags.state ?? DEFAULT_STATE_DIR),
    host,
    hostName,
    httpsPort: parsePort("--https-port", flags.httpsPort, DEFAULT_HTTPS_PORT),
    mqttPort: parsePort("--mqtt-port", flags.mqttPort, DEFAULT_MQTT_PORT),
    quota: flags.quota ? parseQuotaSpec(flags.quota) : undefined,
    faults: (flags.fault ?? []).map(parseFaultSpec),
    admIntervalMs: parseAdmInterval(flags.admInterval),
    entraPort: parsePort("--entra-port", flags.entraPort, DEFAULT_ENTRA_PORT),
    disableLocalAuth: flags.disableLocalAuth === true,
  };
}

/** 10 ms to 1 hour: a shorter period would keep the hub busy evaluating, a longer one is no use to anyone. */
function parseAdmInterval(value: string | undefined): number {
  if (value === undefined) return DEFAULT_ADM_INTERVAL_MS;
  const ms = Number(value);
  if (!/^\d+$/.test(value) || ms < 10 || ms > 3_600_000) {
    throw new Error(`--adm-interval: '${value}' must be a whole number of milliseconds, 10-3600000`);
  }
  return ms;
}

/** 0 picks a free port (hub.json tells which). */
export function parsePort(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535)
    throw new Error(`${flag}: '${value}' must be a port number 0-65535`);
  return port;
}

export function isWildcard(address: string): boolean {
  return address === "0.0.0.0" || address === "::" || address === "[::]";
}
