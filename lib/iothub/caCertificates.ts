import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { rootCertificates } from "node:tls";

/**
 * The certificates of a PEM text (one CA or a bundle), each checked. Node's `ca` option silently skips a block it
 * cannot read, which would leave a hub untrusted with no word why; this throws an Error naming `field` instead.
 */
export function readableCertificates(pem: string, field: string): string[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) {
    throw new Error(`${field}: must be a PEM certificate (-----BEGIN CERTIFICATE-----)`);
  }
  blocks.forEach((block, index) => {
    try {
      new X509Certificate(block);
    } catch (error) {
      const which = blocks.length === 1 ? "the certificate" : `certificate ${index + 1} of ${blocks.length}`;
      throw new Error(`${field}: ${which} is not a readable X.509 certificate (${(error as Error).message})`);
    }
  });
  return blocks;
}

/**
 * What a secure context's `ca` must list to trust what this process trusts by default plus `extra`: the option
 * replaces Node's default list (its bundled roots and NODE_EXTRA_CA_CERTS) instead of adding to it.
 */
export function defaultTrustPlus(extra: readonly string[]): string[] {
  const environmentFile = process.env.NODE_EXTRA_CA_CERTS;
  let environmentPem: string | undefined;
  if (environmentFile) {
    try {
      environmentPem = readFileSync(environmentFile, "utf8");
    } catch {
      // Node itself only warns about an unreadable NODE_EXTRA_CA_CERTS and goes on without it.
    }
  }
  return [...rootCertificates, ...(environmentPem ? [environmentPem] : []), ...extra];
}
