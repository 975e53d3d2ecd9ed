import type { X509Certificate } from "node:crypto";

/**
 * Whether a device's certificate chain leads to an X.509 enrollment group's signing certificate, as DPS decides
 * group membership: the device presents its own (leaf) certificate and, optionally, the intermediates between it
 * and the group's CA; each certificate must be signed (signature verified, issuer name matching) by the next, every
 * issuer on the way must be a CA (basicConstraints cA), and the last one must be signed by the signing certificate,
 * which must be a CA too. Every certificate on that path and the signing certificate itself must be inside its
 * validity period. TLS does not judge client certificates (mqtt/deviceTlsServer.ts): this is the one place the
 * local DPS verifies a chain. Not checked: pathLenConstraint, key usage, name constraints and revocation.
 */

/** The most certificates of a presented chain that are followed: the leaf and nine intermediates. */
export const MAX_CHAIN_CERTIFICATES = 10;

/** `links`: how many certificates lie between the leaf and the signing certificate, plus one (1: it signed the leaf). */
export type ChainVerdict = { ok: true; links: number } | { ok: false; reason: string };

const within = (certificate: X509Certificate, now: Date): boolean =>
  new Date(certificate.validFrom).getTime() <= now.getTime() &&
  now.getTime() <= new Date(certificate.validTo).getTime();

/** Issuer name and signature: a certificate whose issuer field merely names `issuer` is not signed by it. */
function signedBy(certificate: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return certificate.checkIssued(issuer) && certificate.verify(issuer.publicKey);
  } catch {
    // A key type or signature algorithm node:crypto cannot verify proves nothing.
    return false;
  }
}

/**
 * `chain`: the leaf first, then the intermediates in the order they issued each other. The path is found first, so
 * a validity refusal is only ever about a chain that does lead to `signing`.
 */
export function chainLeadsTo(
  chain: readonly X509Certificate[],
  signing: X509Certificate,
  now: Date,
): ChainVerdict {
  if (!signing.ca) return { ok: false, reason: "the signing certificate is not a CA certificate" };
  const followed = chain.slice(0, MAX_CHAIN_CERTIFICATES);
  let links = 0;
  for (let index = 0; index < followed.length; index++) {
    if (signedBy(followed[index], signing)) {
      links = index + 1;
      break;
    }
    const next = followed[index + 1];
    if (!next || !next.ca || !signedBy(followed[index], next)) break;
  }
  if (links === 0) return { ok: false, reason: LEADS_NOWHERE };
  const outside = followed.slice(0, links).findIndex((certificate) => !within(certificate, now));
  if (outside === 0) return { ok: false, reason: "the device certificate is outside its validity period" };
  if (outside > 0) {
    return { ok: false, reason: `certificate ${outside} of the chain is outside its validity period` };
  }
  if (!within(signing, now)) {
    return { ok: false, reason: "the signing certificate is outside its validity period" };
  }
  return { ok: true, links };
}

/** The refusal of a chain that does not reach the signing certificate at all. */
export const LEADS_NOWHERE = "the certificate chain does not lead to the signing certificate";

/** The subject's common name (DPS's registration id of a group's device); undefined without exactly one CN. */
export function commonNameOf(certificate: X509Certificate): string | undefined {
  // Node prints one `NAME=value` per line, escaping values that hold separators, so a CN cannot fake a line.
  const names = certificate.subject
    .split("\n")
    .filter((line) => line.startsWith("CN="))
    .map((line) => line.slice(3));
  return names.length === 1 ? names[0] : undefined;
}
