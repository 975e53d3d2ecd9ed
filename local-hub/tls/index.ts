import type { CertificateAuthority } from "./certificateAuthority";
import { ensureCertificateAuthority } from "./certificateAuthority";
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
  const ca = ensureCertificateAuthority(stateDir);
  return { ca, server: ensureServerCertificate(stateDir, ca, serverNames(extraNames)) };
}
