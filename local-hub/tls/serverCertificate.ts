import forge from "node-forge";
import { isIP } from "node:net";
import { join } from "node:path";
import type { CertificateAuthority } from "./certificateAuthority";
import { randomSerial } from "./certificateAuthority";
import { generateRsaKeyPair } from "./keyPair";
import { KEY_FILE_MODE, PUBLIC_FILE_MODE, readIfExists, writeFileAtomic } from "./files";

export interface ServerCertificate {
  certificatePem: string;
  keyPem: string;
}

/** The names every server certificate covers, plus the hub's own --host and --hostname. */
export function serverNames(extra: readonly string[]): string[] {
  const names = new Set(["localhost", "127.0.0.1", "::1"]);
  // Wildcard bind addresses are not names a client connects to.
  for (const name of extra) if (name && name !== "0.0.0.0" && name !== "::") names.add(name.toLowerCase());
  return [...names].sort();
}

const ONE_YEAR_MS = 365 * 24 * 3600 * 1000;
const RENEW_BEFORE_MS = 7 * 24 * 3600 * 1000;

/**
 * server.pem/server-key.pem for `names`, signed by `ca`. Reused while it covers exactly these names, is signed by
 * this CA and is not about to expire; remade otherwise (a new --host, or a state dir seeded with another CA).
 */
export function ensureServerCertificate(
  stateDir: string,
  ca: CertificateAuthority,
  names: readonly string[],
): ServerCertificate {
  const file = join(stateDir, "server.pem");
  const keyFile = join(stateDir, "server-key.pem");
  const certificatePem = readIfExists(file);
  const keyPem = readIfExists(keyFile);
  if (certificatePem && keyPem && isReusable(certificatePem, ca, names)) return { certificatePem, keyPem };

  const keys = generateRsaKeyPair();
  const caCert = forge.pki.certificateFromPem(ca.certificatePem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + ONE_YEAR_MS);
  cert.setSubject([{ name: "commonName", value: names.includes("localhost") ? "localhost" : names[0] }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: "basicConstraints", cA: false },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true },
    {
      name: "subjectAltName",
      altNames: names.map((name) => (isIP(name) ? { type: 7, ip: name } : { type: 2, value: name })),
    },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(ca.keyPem), forge.md.sha256.create());
  const made = {
    certificatePem: forge.pki.certificateToPem(cert),
    keyPem: forge.pki.privateKeyToPem(keys.privateKey),
  };
  writeFileAtomic(keyFile, made.keyPem, KEY_FILE_MODE);
  writeFileAtomic(file, made.certificatePem, PUBLIC_FILE_MODE);
  return made;
}

function isReusable(certificatePem: string, ca: CertificateAuthority, names: readonly string[]): boolean {
  try {
    const cert = forge.pki.certificateFromPem(certificatePem);
    const caCert = forge.pki.certificateFromPem(ca.certificatePem);
    if (!caCert.verify(cert)) return false;
    if (cert.validity.notAfter.getTime() - Date.now() < RENEW_BEFORE_MS) return false;
    return sameNames(certificateNames(cert), names);
  } catch {
    return false;
  }
}

/** The SANs of a certificate, normalised like serverNames(). */
export function certificateNames(cert: forge.pki.Certificate): string[] {
  const extension = cert.getExtension("subjectAltName") as
    { altNames?: Array<{ type: number; value?: string; ip?: string }> } | undefined;
  const altNames = extension?.altNames ?? [];
  return altNames
    .map((alt) => (alt.type === 7 ? normaliseIp(alt.ip ?? "") : (alt.value ?? "").toLowerCase()))
    .sort();
}

function normaliseIp(ip: string): string {
  // forge renders IPv6 SANs fully expanded; compare in the short form used on the command line.
  return ip === "0:0:0:0:0:0:0:1" ? "::1" : ip.replace(/\b0+(\d)/g, "$1");
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  const sortedB = [...b].sort();
  return a.length === sortedB.length && a.every((name, i) => name === sortedB[i]);
}
