import type { X509Certificate } from "node:crypto";
import { attestationThumbprints, x509CertificateOf } from "../../lib/dps/attestation";
import { deriveDeviceKey } from "../../lib/dps/deviceKey";
import type { EnrollmentGroupRecord, IndividualEnrollmentRecord } from "../../lib/dps/enrollment";
import { REGISTRATION_KEY_NAME, registrationUsernamePrefix } from "../../lib/dps/registrationProtocol";
import { checkRegistrationId, DPS_LIMITS } from "../../lib/dps/rules";
import { describeViolations } from "../../lib/iothub/rules";
import { verifySignature, type ParsedSasToken } from "../../lib/iothub/sas";
import { verifySasToken } from "../authentication/sasToken";
import type { ConnectAttempt } from "../mqtt/authenticate";
import { chainLeadsTo, commonNameOf, LEADS_NOWHERE } from "./certificateChain";

/**
 * Who a CONNECT to the DPS's device endpoint claims to register and whether it proves it, as DPS decides: the
 * clientId is the registration id (DPS's id rules); the username names this DPS's id scope and that registration
 * id; the password is a SAS token over `{idScope}/registrations/{registrationId}` with `skn=registration`, signed
 * with the individual enrollment's key or, for a device of a symmetric-key enrollment group, with the key derived
 * from the group's key and the registration id (lib/dps/deviceKey.ts); or there is no password and the TLS client
 * certificate's thumbprint is one an X.509 individual enrollment registered, or, without an individual enrollment,
 * the certificate's chain leads to an X.509 enrollment group's signing certificate (certificateChain.ts) and the
 * registration id is the certificate's subject common name. An individual enrollment takes precedence over groups,
 * as on DPS; of several groups on a device's chain, the one whose certificate is closest to the leaf wins (then the
 * first by group id). A disabled enrollment still attests: its registration is refused with DPS's
 * `disabled` status, not at CONNECT.
 */

/** What registering gives the device in the hub: the keys it proved it holds, or its certificate's thumbprints. */
export type DeviceCredentials =
  | { type: "sas"; primaryKey: string; secondaryKey: string }
  | { type: "selfSigned"; primaryThumbprint: string; secondaryThumbprint: string | null };

/** The enrollment a device registers through: its individual enrollment, or the group whose key it holds. */
export type AttestationSource =
  | { source: "enrollment"; enrollment: IndividualEnrollmentRecord }
  | { source: "enrollmentGroup"; group: EnrollmentGroupRecord };

export type Attestation = AttestationSource & { credentials: DeviceCredentials };

export type AttestationResult =
  | { ok: true; registrationId: string; attestation: Attestation; tokenExpiresAtMs?: number }
  | { ok: false; reason: string };

/** The DPS state attestation reads (DpsStore satisfies it). */
export interface AttestationBackend {
  getEnrollment(registrationId: string): IndividualEnrollmentRecord | undefined;
  /** Every symmetric-key enrollment group (DPS allows at most 100). */
  symmetricKeyGroups(): EnrollmentGroupRecord[];
  /** Every X.509 enrollment group (at most 100), in group id order. */
  x509Groups(): EnrollmentGroupRecord[];
}

export function attestConnect(
  backend: AttestationBackend,
  idScope: string,
  attempt: ConnectAttempt,
  now: Date,
): AttestationResult {
  const registrationId = attempt.clientId;
  const idViolations = checkRegistrationId(registrationId, "clientId");
  if (idViolations.length > 0) return { ok: false, reason: describeViolations(idViolations) };

  const expectedPrefix = registrationUsernamePrefix(idScope, registrationId);
  const username = attempt.username ?? "";
  // The id scope in any case (DPS hands it out in upper case; some tools lower it), the registration id exactly.
  const [scope, ...rest] = username.split("/");
  if (scope.toLowerCase() !== idScope.toLowerCase()) {
    return { ok: false, reason: `the username must start with this DPS's id scope '${idScope}/'` };
  }
  if (`${idScope}/${rest.join("/")}`.slice(0, expectedPrefix.length) !== expectedPrefix) {
    return { ok: false, reason: `the username must start with '${expectedPrefix}'` };
  }

  const password = attempt.password?.toString("utf8");
  const enrollment = backend.getEnrollment(registrationId);
  if (password) return checkSasToken(backend, idScope, registrationId, enrollment, password, now);
  if (!enrollment && attempt.certificateThumbprints) {
    return checkGroupCertificate(backend, registrationId, attempt.certificateChain ?? [], now);
  }
  return checkCertificate(registrationId, enrollment, attempt.certificateThumbprints, now);
}

function checkSasToken(
  backend: AttestationBackend,
  idScope: string,
  registrationId: string,
  enrollment: IndividualEnrollmentRecord | undefined,
  password: string,
  now: Date,
): AttestationResult {
  // Each candidate is a key pair a valid token may be signed with.
  const candidates: Array<{ attestation: AttestationSource; keys: [string, string] }> = [];
  if (enrollment) {
    const keys = enrollment.attestation.symmetricKey;
    if (!keys) return { ok: false, reason: `enrollment '${registrationId}' does not use symmetric keys` };
    candidates.push({
      attestation: { source: "enrollment", enrollment },
      keys: [keys.primaryKey, keys.secondaryKey],
    });
  } else {
    for (const group of backend.symmetricKeyGroups()) {
      const keys = group.attestation.symmetricKey;
      if (!keys) continue;
      candidates.push({
        attestation: { source: "enrollmentGroup", group },
        keys: [
          deriveDeviceKey(keys.primaryKey, registrationId),
          deriveDeviceKey(keys.secondaryKey, registrationId),
        ],
      });
    }
    if (candidates.length === 0) {
      return {
        ok: false,
        reason: `no enrollment and no symmetric-key enrollment group for '${registrationId}'`,
      };
    }
  }
  const verdict = verifySasToken<ParsedSasToken>(
    password,
    {
      hostName: idScope,
      checkScope: (scope, resource) =>
        scope.length === 2 && scope[0] === "registrations" && scope[1] === registrationId
          ? undefined
          : `the SAS token is scoped to '${resource}', not to this registration`,
      signer: (token) =>
        token.skn === REGISTRATION_KEY_NAME
          ? { signer: token, keys: candidates.flatMap((candidate) => candidate.keys) }
          : { refusal: `the SAS token's skn must be '${REGISTRATION_KEY_NAME}'` },
    },
    now.getTime(),
  );
  if (!verdict.ok) return { ok: false, reason: verdict.reason };
  // Which candidate signed it: the one whose key verifies (at most one HMAC per key, as above).
  const token = verdict.signer;
  const signer = candidates.find((candidate) => candidate.keys.some((key) => verifySignature(token, key)))!;
  const [primaryKey, secondaryKey] = signer.keys;
  return {
    ok: true,
    registrationId,
    attestation: { ...signer.attestation, credentials: { type: "sas", primaryKey, secondaryKey } },
    tokenExpiresAtMs: verdict.expiresAtMs,
  };
}

function checkCertificate(
  registrationId: string,
  enrollment: IndividualEnrollmentRecord | undefined,
  thumbprints: ConnectAttempt["certificateThumbprints"],
  now: Date,
): AttestationResult {
  if (!thumbprints) return { ok: false, reason: "neither a SAS token nor a client certificate was given" };
  if (thumbprints.notAfter && !(thumbprints.notAfter.getTime() >= now.getTime())) {
    return { ok: false, reason: "the client certificate has expired" };
  }
  if (thumbprints.notBefore && !(thumbprints.notBefore.getTime() <= now.getTime())) {
    return { ok: false, reason: "the client certificate is not valid yet" };
  }
  if (!enrollment || enrollment.attestation.type !== "x509") {
    return { ok: false, reason: `no X.509 individual enrollment for '${registrationId}'` };
  }
  const registered = attestationThumbprints(enrollment.attestation);
  if (!registered.includes(thumbprints.sha1) && !registered.includes(thumbprints.sha256)) {
    return { ok: false, reason: "the client certificate is not the one the enrollment registered" };
  }
  const certificates = enrollment.attestation.x509?.clientCertificates;
  return {
    ok: true,
    registrationId,
    attestation: {
      source: "enrollment",
      enrollment,
      credentials: {
        type: "selfSigned",
        primaryThumbprint: certificates!.primary.info.sha256Thumbprint,
        secondaryThumbprint: certificates!.secondary?.info.sha256Thumbprint ?? null,
      },
    },
  };
}

/** A device of an X.509 enrollment group: its chain leads to the group's signing certificate, its CN is its id. */
function checkGroupCertificate(
  backend: AttestationBackend,
  registrationId: string,
  chain: readonly X509Certificate[],
  now: Date,
): AttestationResult {
  const groups = backend.x509Groups();
  if (groups.length === 0) {
    return {
      ok: false,
      reason: `no X.509 individual enrollment for '${registrationId}' and no X.509 enrollment group`,
    };
  }
  const leaf = chain[0];
  if (!leaf) return { ok: false, reason: "the client certificate could not be read" };
  if (commonNameOf(leaf) !== registrationId) {
    return {
      ok: false,
      reason: "the registration id must be the client certificate's subject common name (CN)",
    };
  }
  let best: { group: EnrollmentGroupRecord; links: number } | undefined;
  // Why a chain that reaches a group's certificate was still refused (validity), for the log.
  let refusal: string | undefined;
  for (const group of groups) {
    const signing = group.attestation.x509?.signingCertificates;
    for (const entry of [signing?.primary, signing?.secondary]) {
      const certificate = entry?.certificate ? signingCertificateOf(entry.certificate) : undefined;
      if (!certificate) continue;
      const verdict = chainLeadsTo(chain, certificate, now);
      if (!verdict.ok) {
        if (verdict.reason !== LEADS_NOWHERE)
          refusal ??= `group '${group.enrollmentGroupId}': ${verdict.reason}`;
        continue;
      }
      if (!best || verdict.links < best.links) best = { group, links: verdict.links };
    }
  }
  if (!best) {
    return {
      ok: false,
      reason: `the client certificate chains to no X.509 enrollment group's signing certificate${refusal ? ` (${refusal})` : ""}`,
    };
  }
  return {
    ok: true,
    registrationId,
    attestation: {
      source: "enrollmentGroup",
      group: best.group,
      // The local hub has no CA certificate registry to authenticate a `certificateAuthority` device with: the
      // identity registers the leaf's thumbprint instead (docs/architecture.md, Device registration).
      credentials: {
        type: "selfSigned",
        primaryThumbprint: leaf.fingerprint256.replace(/:/g, ""),
        secondaryThumbprint: null,
      },
    },
  };
}

/**
 * A group's signing certificate, parsed once: every certificate CONNECT is judged against every X.509 group (up to
 * 100, two certificates each), and the stored PEM of a group changes only when the group does. Keyed by the text,
 * so a changed group is parsed afresh; bounded by DPS's group limit (cleared when a fleet's changes outgrow it).
 */
const signingCertificates = new Map<string, X509Certificate | undefined>();
const SIGNING_CERTIFICATES_KEPT = 4 * DPS_LIMITS.enrollmentGroupsPerAttestation;

function signingCertificateOf(text: string): X509Certificate | undefined {
  if (signingCertificates.has(text)) return signingCertificates.get(text);
  if (signingCertificates.size >= SIGNING_CERTIFICATES_KEPT) signingCertificates.clear();
  const certificate = x509CertificateOf(text);
  signingCertificates.set(text, certificate);
  return certificate;
}
