import type { CertificateAuthority } from "./certificateAuthority";
import { ensureCertificateAuthority, namesOutsideConstraints } from "./certificateAuthority";
import type { ServerCertificate } from "./serverCertificate";
import { ensureServerCertificate, serverNames } from "./serverCertificate";

export type { CertificateAuthority, ServerCertificate };
export { ensureCertificateAuthority, ensureServerCertificate, serverNames };

export interface HubTls {
  ca: CertificateAuthority;
  server: ServerCertificate;
}

/** The CA (kept forever) and a server certificate covering the defaults plus `extraNames`. */
export function ensureHubTls(stateDir: string, extraNames: readonly string[]): HubTls {
  const ca = ensureCertificateAuthority(stateDir, extraNames);
  const names = serverNames(extraNames);
  const outside = namesOutsideConstraints(ca, names);
  if (outside.length > 0) {
    throw new Error(
      `${ca.file} may only vouch for the names it was made for, not ${outside.join(", ")}: use another --state, ` +
        "or remove ca.pem and ca-key.pem to make a new CA (clients must then trust the new ca.pem)",
    );
  }
  return { ca, server: ensureServerCertificate(stateDir, ca, names) };
}
