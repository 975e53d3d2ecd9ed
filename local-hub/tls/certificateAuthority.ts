import forge from "node-forge";
import { isIP } from "node:net";
import { join } from "node:path";
import { generateRsaKeyPair } from "./keyPair";
import { KEY_FILE_MODE, PUBLIC_FILE_MODE, readIfExists, writeFileAtomic } from "./files";

export interface CertificateAuthority {
  certificatePem: string;
  keyPem: string;
  /** Absolute path of ca.pem: what clients trust (NODE_EXTRA_CA_CERTS, or the device SDK's `ca` option). */
  file: string;
}

const TEN_YEARS_MS = 10 * 365 * 24 * 3600 * 1000;

/**
 * The state dir's CA: created once, reused forever, so clients that trust it keep trusting the hub across restarts
 * and server-certificate renewals. A state dir seeded with ca.pem + ca-key.pem (tests) keeps them, and so does one
 * whose CA an older version made without the constraints below (it is never regenerated behind the user's back).
 *
 * Clients add this CA to their trust store, so it must not be able to vouch for anything else: pathLenConstraint 0
 * (it signs end-entity certificates only, never another CA) and nameConstraints permitting only localhost,
 * loopback addresses and `names` (the --host/--hostname the hub was first started with).
 */
export function ensureCertificateAuthority(
  stateDir: string,
  names: readonly string[] = [],
): CertificateAuthority {
  const file = join(stateDir, "ca.pem");
  const keyFile = join(stateDir, "ca-key.pem");
  const certificatePem = readIfExists(file);
  const keyPem = readIfExists(keyFile);
  if (certificatePem && keyPem) return { certificatePem, keyPem, file };

  const keys = generateRsaKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + TEN_YEARS_MS);
  const subject = [{ name: "commonName", value: `iothub-local CA ${new Date().toISOString()}` }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: "basicConstraints", cA: true, pathLenConstraint: 0, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
    // node-forge parses nameConstraints but cannot build one from fields: it takes the ASN.1 value as given.
    { name: "nameConstraints", id: "2.5.29.30", critical: true, value: nameConstraints(names) },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  const ca = {
    certificatePem: forge.pki.certificateToPem(cert),
    keyPem: forge.pki.privateKeyToPem(keys.privateKey),
    file,
  };
  // Key first: a ca.pem without its key would be unusable, a key without ca.pem is simply remade.
  writeFileAtomic(keyFile, ca.keyPem, KEY_FILE_MODE);
  writeFileAtomic(file, ca.certificatePem, PUBLIC_FILE_MODE);
  return ca;
}

// In node-forge (it renders IP SANs with it) but missing from @types/node-forge.
const bytesFromIp = (ip: string): string =>
  (forge.util as unknown as { bytesFromIP(ip: string): string }).bytesFromIP(ip);

/** What every CA permits besides the configured names: `localhost` (and its subdomains), 127.0.0.0/8 and ::1. */
const ALWAYS_PERMITTED = { dnsNames: ["localhost"], ipRanges: ["127.0.0.0/8", "::1/128"] };

/** NameConstraints ::= SEQUENCE { permittedSubtrees [0] GeneralSubtrees } (RFC 5280 4.2.1.10), DNS and IP only. */
function nameConstraints(names: readonly string[]): forge.asn1.Asn1 {
  const { asn1 } = forge;
  const dnsNames = new Set(ALWAYS_PERMITTED.dnsNames);
  const ipRanges = new Set(ALWAYS_PERMITTED.ipRanges);
  // Wildcard bind addresses are not names a client connects to (as in serverNames()).
  for (const name of names) {
    if (!name || name === "0.0.0.0" || name === "::") continue;
    if (isIP(name) === 4) ipRanges.add(`${name}/32`);
    else if (isIP(name) === 6) ipRanges.add(`${name}/128`);
    else dnsNames.add(name.toLowerCase());
  }
  const subtree = (base: forge.asn1.Asn1): forge.asn1.Asn1 =>
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [base]);
  const dns = [...dnsNames].map((name) => subtree(asn1.create(asn1.Class.CONTEXT_SPECIFIC, 2, false, name)));
  const ips = [...ipRanges].map((range) => {
    const [address, bits] = range.split("/");
    const bytes = bytesFromIp(address);
    let mask = "";
    for (let i = 0; i < bytes.length; i++) {
      mask += String.fromCharCode(0xff & (0xff << Math.max(0, 8 - (Number(bits) - 8 * i))));
    }
    return subtree(asn1.create(asn1.Class.CONTEXT_SPECIFIC, 7, false, bytes + mask));
  });
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [...dns, ...ips]),
  ]);
}

/**
 * The names among `names` the CA's nameConstraints do not permit (empty: all permitted, or a CA without
 * constraints, as older versions made). A server certificate for those names would fail every client's check.
 */
export function namesOutsideConstraints(ca: CertificateAuthority, names: readonly string[]): string[] {
  const extension = forge.pki.certificateFromPem(ca.certificatePem).getExtension("nameConstraints") as
    { permittedSubtrees?: Array<{ type: number; value: string }> } | undefined;
  const permitted = extension?.permittedSubtrees;
  if (!permitted) return [];
  return names.filter((name) => {
    const ip = isIP(name) ? bytesFromIp(name) : undefined;
    return !permitted.some((subtree) => {
      if (ip === undefined) {
        if (subtree.type !== 2) return false;
        const base = subtree.value.toLowerCase();
        return name.toLowerCase() === base || name.toLowerCase().endsWith(`.${base}`);
      }
      if (subtree.type !== 7 || subtree.value.length !== ip.length * 2) return false;
      for (let i = 0; i < ip.length; i++) {
        const mask = subtree.value.charCodeAt(ip.length + i);
        if ((ip.charCodeAt(i) & mask) !== (subtree.value.charCodeAt(i) & mask)) return false;
      }
      return true;
    });
  });
}

export function randomSerial(): string {
  // 16 random bytes in DER's minimal form: the first byte's top bit clear (a positive INTEGER) and its next bit set
  // (never 0x00, which DER allows only before a byte >= 0x80; OpenSSL refused some certificates with one as
  // "illegal padding"). Prefixing a "0" digit instead, as this once did, made that padding byte for half the serials.
  const bytes = forge.random.getBytesSync(16);
  const first = (bytes.charCodeAt(0) & 0x7f) | 0x40;
  return forge.util.bytesToHex(String.fromCharCode(first) + bytes.slice(1));
}
