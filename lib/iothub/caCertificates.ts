import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { rootCertificates } from "node:tls";
import { describeViolations, type RuleViolation } from "./rules";

/** The PEM certificate blocks of a text, in order. */
function certificateBlocks(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
}

/**
 * The rule for a CA given as PEM (one CA or a bundle): at least one certificate, and every block a readable X.509
 * certificate. Node's `ca` option silently skips a block it cannot read, which would leave a hub untrusted with no
 * word why, so a check (the providers' check(), verify's --ca) names the field instead.
 */
export function checkCaCertificate(pem: unknown, field: string): RuleViolation[] {
  // Every resource of a fleet carries the same CA, and check(), create and the client factory each check it:
  // the last PEM found readable is remembered, so X.509 parsing runs once per CA, not three times per resource.
  if (pem === lastReadablePem) return [];
  const violations = certificateViolations(pem, field);
  if (violations.length === 0) lastReadablePem = pem as string;
  return violations;
}

let lastReadablePem: string | undefined;

function certificateViolations(pem: unknown, field: string): RuleViolation[] {
  const blocks = typeof pem === "string" ? certificateBlocks(pem) : [];
  if (blocks.length === 0)
    return [{ field, rule: "must be a PEM certificate (-----BEGIN CERTIFICATE-----)" }];
  for (const [index, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch (error) {
      const which = blocks.length === 1 ? "the certificate" : `certificate ${index + 1} of ${blocks.length}`;
      return [{ field, rule: `${which} is not a readable X.509 certificate (${(error as Error).message})` }];
    }
  }
  return [];
}

/** The certificates of a PEM text, each checked (checkCaCertificate); throws an Error naming `field` otherwise. */
export function readableCertificates(pem: string, field: string): string[] {
  const violations = checkCaCertificate(pem, field);
  if (violations.length > 0) throw new Error(describeViolations(violations));
  return certificateBlocks(pem);
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
