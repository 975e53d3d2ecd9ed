import forge from "node-forge";
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
 * and server-certificate renewals. A state dir seeded with ca.pem + ca-key.pem (tests) keeps them.
 */
export function ensureCertificateAuthority(stateDir: string): CertificateAuthority {
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
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
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

export function randomSerial(): string {
  // A positive serial: the leading hex digit stays below 8 so DER does not read it as negative.
  return "0" + forge.util.bytesToHex(forge.random.getBytesSync(15));
}
