import { X509Certificate } from "node:crypto";
import type { DetailedPeerCertificate, TLSSocket } from "node:tls";
import { verifySasToken } from "../authentication/sasToken";
import { scopeAdmits } from "../authentication/tokenScope";
import type { IdentityRef } from "../events";
import type { DeviceApiBackend, IdentityCredentials } from "./backend";

/**
 * Who an MQTT CONNECT claims to be and whether it proves it, the way IoT Hub decides:
 * clientId `{deviceId}` or `{deviceId}/{moduleId}`; username `{hostName}/{clientId}/?api-version=...`;
 * password a SAS token over the URL-encoded resource `{hostName}/devices/{d}[/modules/{m}]` (the host in any
 * case, the ids exactly), signed with the identity's primary or secondary key; or no password and a TLS client certificate whose SHA-1 or SHA-256
 * thumbprint is registered on an identity of type `selfSigned`.
 */

export type AuthenticationResult =
  /** `tokenExpiresAtMs`: when the SAS token it connected with expires (the hub then closes the connection). */
  { ok: true; identity: IdentityRef; tokenExpiresAtMs?: number } | { ok: false; reason: string };

export interface ConnectAttempt {
  clientId: string;
  username: string | undefined;
  password: Buffer | undefined;
  /**
   * The client's TLS certificate thumbprints (upper-case hex), when it sent one, and its validity period (the
   * server requests the certificate without verifying it: a self-signed one has no chain to check).
   */
  certificateThumbprints?: { sha1: string; sha256: string; notBefore?: Date; notAfter?: Date };
  /**
   * The client's certificate and the issuers it presented with it, leaf first (`peerCertificateChain`); unverified.
   * The local DPS checks it against its X.509 enrollment groups; the hub goes by thumbprint only.
   */
  certificateChain?: X509Certificate[];
}

/** Parses `{d}` / `{d}/{m}`. Ids cannot contain `/` (IoT Hub's id alphabet), so one slash separates them. */
export function identityFromClientId(clientId: string): IdentityRef | undefined {
  const parts = clientId.split("/");
  if (parts.length === 1 && parts[0]) return { deviceId: parts[0] };
  if (parts.length === 2 && parts[0] && parts[1]) return { deviceId: parts[0], moduleId: parts[1] };
  return undefined;
}

/** The path segments below the hub a SAS token of this identity must be scoped to: `devices/{d}[/modules/{m}]`. */
function identityScope(identity: IdentityRef): string[] {
  return ["devices", identity.deviceId, ...(identity.moduleId ? ["modules", identity.moduleId] : [])];
}

export function authenticateConnect(
  backend: DeviceApiBackend,
  hostName: string,
  attempt: ConnectAttempt,
  now: Date,
): AuthenticationResult {
  const identity = identityFromClientId(attempt.clientId);
  if (!identity)
    return { ok: false, reason: `clientId '${attempt.clientId}' is not {deviceId}[/{moduleId}]` };

  // The username names the hub and the same identity as the clientId; what follows is the SDK's query string.
  const expectedPrefix = `${hostName}/${attempt.clientId}/`;
  if (
    !attempt.username ||
    attempt.username.slice(0, expectedPrefix.length).toLowerCase() !== expectedPrefix.toLowerCase()
  ) {
    return { ok: false, reason: `username must start with '${expectedPrefix}'` };
  }

  const device = backend.getDevice(identity.deviceId);
  if (!device) return { ok: false, reason: `device '${identity.deviceId}' is not registered` };
  if (device.status !== "enabled") return { ok: false, reason: `device '${identity.deviceId}' is disabled` };
  const module = identity.moduleId ? backend.getModule(identity.deviceId, identity.moduleId) : undefined;
  if (identity.moduleId && !module)
    return { ok: false, reason: `module '${attempt.clientId}' is not registered` };
  // A module of type `none` (an IoT Edge device's $edgeAgent and $edgeHub) authenticates with its device's
  // credentials: that is how the IoT Edge runtime connects them.
  const credentials: IdentityCredentials = module && module.authentication.type !== "none" ? module : device;

  const password = attempt.password?.toString("utf8");
  if (password) return checkSasToken(credentials, hostName, identity, password, now);
  return checkCertificate(credentials, attempt.certificateThumbprints, identity, now);
}

function checkSasToken(
  credentials: IdentityCredentials,
  hostName: string,
  identity: IdentityRef,
  password: string,
  now: Date,
): AuthenticationResult {
  const expected = identityScope(identity);
  const verdict = verifySasToken(
    password,
    {
      hostName,
      // The identity's own resource exactly: a device's token does not connect its modules, nor the other way round.
      checkScope: (scope, resource) =>
        scope.length === expected.length && scopeAdmits(scope, expected)
          ? undefined
          : `the SAS token is scoped to '${resource}', not to this identity`,
      signer: () => {
        const { type, symmetricKey } = credentials.authentication;
        if (type !== "sas" || !symmetricKey) return { refusal: "the identity does not use symmetric keys" };
        return { signer: identity, keys: [symmetricKey.primaryKey, symmetricKey.secondaryKey] };
      },
    },
    now.getTime(),
  );
  return verdict.ok
    ? { ok: true, identity, tokenExpiresAtMs: verdict.expiresAtMs }
    : { ok: false, reason: verdict.reason };
}

function checkCertificate(
  credentials: IdentityCredentials,
  thumbprints: ConnectAttempt["certificateThumbprints"],
  identity: IdentityRef,
  now: Date,
): AuthenticationResult {
  if (!thumbprints) return { ok: false, reason: "neither a SAS token nor a client certificate was given" };
  // IoT Hub refuses a certificate outside its validity period even when its thumbprint is registered.
  if (thumbprints.notAfter && !(thumbprints.notAfter.getTime() >= now.getTime())) {
    return { ok: false, reason: "the client certificate has expired" };
  }
  if (thumbprints.notBefore && !(thumbprints.notBefore.getTime() <= now.getTime())) {
    return { ok: false, reason: "the client certificate is not valid yet" };
  }
  const registered = credentials.authentication.x509Thumbprint;
  if (credentials.authentication.type !== "selfSigned" || !registered) {
    return { ok: false, reason: "the identity does not use self-signed X.509 thumbprints" };
  }
  const presented = [thumbprints.sha1, thumbprints.sha256];
  const matches = [registered.primaryThumbprint, registered.secondaryThumbprint].some(
    (thumbprint) => !!thumbprint && presented.includes(thumbprint.toUpperCase()),
  );
  return matches
    ? { ok: true, identity }
    : { ok: false, reason: "the client certificate's thumbprint is not registered for this identity" };
}

/** The thumbprints of the certificate the TLS client presented, if any (the server requests, never requires, one). */
export function peerCertificateThumbprints(socket: unknown): ConnectAttempt["certificateThumbprints"] {
  const tlsSocket = socket as Partial<TLSSocket>;
  if (typeof tlsSocket.getPeerCertificate !== "function") return undefined;
  const certificate = tlsSocket.getPeerCertificate();
  if (!certificate || !certificate.fingerprint) return undefined;
  const hex = (fingerprint: string): string => fingerprint.replace(/:/g, "").toUpperCase();
  return {
    sha1: hex(certificate.fingerprint),
    sha256: hex(certificate.fingerprint256),
    // An unparsable date becomes an Invalid Date, which the checks above treat as outside the period.
    notBefore: new Date(certificate.valid_from),
    notAfter: new Date(certificate.valid_to),
  };
}

/**
 * The certificates the TLS client presented, leaf first, each issuer after what it issued (as OpenSSL orders the
 * peer's chain by issuer name; nothing verified), at most `limit` of them. OpenSSL may append an issuer from the
 * server's own trust store (the hub's CA): whoever reads the chain verifies each signature itself.
 */
export function peerCertificateChain(socket: unknown, limit: number): X509Certificate[] {
  const tlsSocket = socket as Partial<TLSSocket>;
  if (typeof tlsSocket.getPeerCertificate !== "function") return [];
  const chain: X509Certificate[] = [];
  const seen = new Set<string>();
  let certificate: DetailedPeerCertificate | undefined = tlsSocket.getPeerCertificate(true);
  // A self-signed certificate is its own issuerCertificate: stop at the first one seen twice.
  while (certificate?.raw && chain.length < limit && !seen.has(certificate.fingerprint256)) {
    seen.add(certificate.fingerprint256);
    chain.push(new X509Certificate(certificate.raw));
    certificate = certificate.issuerCertificate;
  }
  return chain;
}
