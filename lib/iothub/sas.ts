import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { RuleViolation } from "./rules";

/**
 * Shared access signatures and connection strings, as IoT Hub defines them. Used by the local hub (to check
 * tokens) and by the Pulumi side (to build connection strings), so both agree by construction.
 */

/** A new symmetric key: 32 random bytes, base64, the size IoT Hub generates for policies and identities. */
export function generateKey(): string {
  return randomBytes(32).toString("base64");
}

/**
 * sig = base64(HMAC-SHA256(base64decode(key), resource + "\n" + expiry)). `resource` and `expiry` are signed
 * exactly as given (an expiry given as text keeps its spelling).
 */
export function signature(key: string, resource: string, expiry: number | string): string {
  return createHmac("sha256", Buffer.from(key, "base64")).update(`${resource}\n${expiry}`).digest("base64");
}

/** A token `SharedAccessSignature sr=<url-encoded resource>&sig=<url-encoded sig>&se=<expiry>[&skn=<policy>]`. */
export function createSasToken(resource: string, key: string, expiry: number, policyName?: string): string {
  const sr = encodeURIComponent(resource);
  const sig = encodeURIComponent(signature(key, sr, expiry));
  return (
    `SharedAccessSignature sr=${sr}&sig=${sig}&se=${expiry}` +
    (policyName ? `&skn=${encodeURIComponent(policyName)}` : "")
  );
}

export interface ParsedSasToken {
  /** The resource exactly as sent (still URL-encoded where the client encoded it): signatures cover it as sent. */
  sr: string;
  /** The signature, URL-decoded. */
  sig: string;
  /** Seconds since the epoch. Sent as a plain decimal integer, so the signature over `se` covers the text as sent. */
  se: number;
  skn?: string;
}

/**
 * `se` as IoT Hub reads it: decimal digits only, no sign, exponent, fraction, spaces or leading zeros (`Number()`
 * would take `1e10`, `0x1F`, ` 42` or `042` and sign another text than the one sent), at most 15 digits.
 */
const EXPIRY_PATTERN = /^(?:0|[1-9][0-9]{0,14})$/;

/** Parses a SharedAccessSignature token; undefined when it is not one (a field missing, repeated or malformed). */
export function parseSasToken(token: string): ParsedSasToken | undefined {
  const prefix = "SharedAccessSignature ";
  if (!token.startsWith(prefix)) return undefined;
  const fields = new Map<string, string>();
  for (const part of token.slice(prefix.length).split("&")) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    const name = part.slice(0, eq);
    // A repeated field is ambiguous (which one was signed?): no token.
    if (fields.has(name)) return undefined;
    fields.set(name, part.slice(eq + 1));
  }
  const sr = fields.get("sr");
  const sig = fields.get("sig");
  const se = fields.get("se");
  if (!sr || !sig || se === undefined || !EXPIRY_PATTERN.test(se)) return undefined;
  const skn = fields.get("skn");
  return { sr, sig: safeDecode(sig), se: Number(se), skn: skn === undefined ? undefined : safeDecode(skn) };
}

/** True when `sig` was made with `key` over `sr` and `se` (constant-time comparison). */
export function verifySignature(token: ParsedSasToken, key: string): boolean {
  const expected = Buffer.from(signature(key, token.sr, token.se));
  const given = Buffer.from(token.sig);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** `Key=Value;Key=Value` connection strings. Values may contain `=` (base64 keys end with it). */
export function parseConnectionString(connectionString: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const part of connectionString.split(";")) {
    if (!part.trim()) continue;
    const eq = part.indexOf("=");
    if (eq <= 0) throw new Error("connection string: every part must be Key=Value");
    fields[part.slice(0, eq).trim()] = part.slice(eq + 1);
  }
  return fields;
}

export function buildConnectionString(fields: Record<string, string | undefined>): string {
  return Object.entries(fields)
    .filter(([, value]) => value !== undefined && value !== "")
    .map(([key, value]) => `${key}=${value}`)
    .join(";");
}

/** The service connection string of a shared access policy. */
export function serviceConnectionString(hostName: string, policyName: string, key: string): string {
  return buildConnectionString({ HostName: hostName, SharedAccessKeyName: policyName, SharedAccessKey: key });
}

/**
 * The rules of a shared access policy's connection string as the service SDK needs it: HostName,
 * SharedAccessKeyName and SharedAccessKey, and a HostName without a port (the SDK always calls port 443). The
 * violations never quote the string: it holds a key.
 */
export function checkServiceConnectionString(
  value: unknown,
  field = "serviceConnectionString",
): RuleViolation[] {
  if (typeof value !== "string" || value.length === 0) return [{ field, rule: "is required" }];
  let fields: Record<string, string> = {};
  try {
    fields = parseConnectionString(value);
  } catch {
    // reported as missing fields
  }
  const missing = ["HostName", "SharedAccessKeyName", "SharedAccessKey"].filter((name) => !fields[name]);
  if (missing.length > 0) return [{ field, rule: `must hold ${missing.join(", ")} (Key=Value;...)` }];
  if (fields.HostName.includes(":")) {
    return [{ field, rule: "HostName must not carry a port (the service API is always on 443)" }];
  }
  return [];
}

/** What an identity's connection string names: its hub, ids and key (none for an X.509 identity). */
export interface IdentityConnection {
  hostName: string;
  deviceId: string;
  moduleId?: string;
  key?: string;
  gatewayHostName?: string;
}

/**
 * `HostName=..;DeviceId=..[;ModuleId=..];SharedAccessKey=..[;GatewayHostName=..]`, with `x509=true` in place of a
 * key for an identity that authenticates with a certificate.
 */
export function identityConnectionString(identity: IdentityConnection): string {
  return buildConnectionString({
    HostName: identity.hostName,
    DeviceId: identity.deviceId,
    ModuleId: identity.moduleId,
    SharedAccessKey: identity.key,
    x509: identity.key ? undefined : "true",
    GatewayHostName: identity.gatewayHostName,
  });
}
