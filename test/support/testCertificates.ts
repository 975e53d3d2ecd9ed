import { createHash, generateKeyPairSync } from "node:crypto";
import forge from "node-forge";

/**
 * X.509 certificates for tests (node-forge, keys from node:crypto): self-signed device certificates, CAs and the
 * certificates they issue, as a device maker's PKI would make them. Each comes with its PEM, private key and the
 * SHA-1 / SHA-256 thumbprints IoT Hub and DPS register (uppercase hex).
 */

export interface TestCertificate {
  cert: string;
  key: string;
  sha1: string;
  sha256: string;
  /** node-forge's form, to sign with (`issueCertificate`). */
  forgeCertificate: forge.pki.Certificate;
  forgeKey: forge.pki.rsa.PrivateKey;
}

export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

export interface CertificateOptions {
  /** Default: from a minute ago for a day. */
  validity?: Validity;
  /** A CA certificate (basicConstraints cA, keyCertSign); default: an end-entity (device) certificate. */
  ca?: boolean;
}

const defaultValidity = (): Validity => ({
  notBefore: new Date(Date.now() - 60_000),
  notAfter: new Date(Date.now() + 24 * 3600_000),
});

let serial = 0;

function makeCertificate(
  commonName: string,
  issuer: TestCertificate | undefined,
  options: CertificateOptions,
): TestCertificate {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: "pkcs1", format: "pem" }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  const certificate = forge.pki.createCertificate();
  certificate.publicKey = forge.pki.rsa.setPublicKey(forgeKey.n, forgeKey.e);
  // Positive and unique within the test process (a CA's certificates must differ by serial).
  certificate.serialNumber = (0x10000 + ++serial).toString(16);
  const validity = options.validity ?? defaultValidity();
  certificate.validity.notBefore = validity.notBefore;
  certificate.validity.notAfter = validity.notAfter;
  const subject = [{ name: "commonName", value: commonName }];
  certificate.setSubject(subject);
  certificate.setIssuer(issuer ? issuer.forgeCertificate.subject.attributes : subject);
  if (options.ca || issuer) {
    certificate.setExtensions([
      { name: "basicConstraints", cA: options.ca === true, critical: true },
      options.ca
        ? { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true }
        : { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
      { name: "subjectKeyIdentifier" },
    ]);
  }
  certificate.sign(issuer ? issuer.forgeKey : forgeKey, forge.md.sha256.create());
  const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(certificate)).getBytes(), "binary");
  return {
    cert: forge.pki.certificateToPem(certificate),
    key: keyPem,
    sha1: createHash("sha1").update(der).digest("hex").toUpperCase(),
    sha256: createHash("sha256").update(der).digest("hex").toUpperCase(),
    forgeCertificate: certificate,
    forgeKey,
  };
}

/** A self-signed certificate: a device's own (IoT Hub's selfSigned thumbprint) or, with `ca: true`, a root CA. */
export function selfSignedCertificate(commonName: string, options: CertificateOptions = {}): TestCertificate {
  return makeCertificate(commonName, undefined, options);
}

/** A root CA (self-signed, basicConstraints cA). */
export function testCertificateAuthority(commonName: string, validity?: Validity): TestCertificate {
  return makeCertificate(commonName, undefined, { ca: true, validity });
}

/** A certificate `issuer` signs: a device's leaf, or with `ca: true` an intermediate CA. */
export function issueCertificate(
  issuer: TestCertificate,
  commonName: string,
  options: CertificateOptions = {},
): TestCertificate {
  return makeCertificate(commonName, issuer, options);
}

/** The certificate and its chain as a device presents them over TLS: its own first, then its issuers. */
export function withChain(
  leaf: TestCertificate,
  ...issuers: TestCertificate[]
): { cert: string; key: string } {
  return { cert: [leaf, ...issuers].map((certificate) => certificate.cert).join(""), key: leaf.key };
}
