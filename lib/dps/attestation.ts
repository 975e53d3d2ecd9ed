import { X509Certificate } from "node:crypto";
import { checkSymmetricKeys, type RuleViolation } from "../iothub/rules";
import { generateKey } from "../iothub/sas";
import { isPlainObject } from "../iothub/twin";

/**
 * How a device proves it may register, as DPS's service API carries it (`AttestationMechanism`, api-version
 * 2021-10-01). The local DPS supports symmetric keys (individual enrollments and groups, keys generated when none
 * are given) and X.509: an individual enrollment's client certificates, a group's signing (CA or intermediate)
 * certificates. DPS keeps the certificates' info (thumbprints, subject, validity) and answers with that info only.
 * TPM needs the TPM's challenge protocol, and CA references need DPS's certificate registry: neither exists locally,
 * so both are refused by name.
 */

export type AttestationType = "symmetricKey" | "x509" | "tpm" | "none";
export type EnrollmentKind = "enrollment" | "enrollmentGroup";

export interface SymmetricKeyAttestation {
  primaryKey: string;
  secondaryKey: string;
}

/** What DPS records of a certificate (`X509CertificateInfo`). */
export interface X509CertificateInfo {
  subjectName: string;
  sha1Thumbprint: string;
  sha256Thumbprint: string;
  issuerName: string;
  notBeforeUtc: string;
  notAfterUtc: string;
  serialNumber: string;
  version: number;
}

export interface X509CertificateWithInfo {
  /** As given (PEM or base64 DER); DPS answers without it. */
  certificate?: string | null;
  info: X509CertificateInfo;
}

export interface X509Certificates {
  primary: X509CertificateWithInfo;
  secondary: X509CertificateWithInfo | null;
}

export interface X509Attestation {
  /** Individual enrollments: the device's own certificate(s). */
  clientCertificates: X509Certificates | null;
  /** Enrollment groups: the CA or intermediate certificate(s) that signed the devices' certificates. */
  signingCertificates: X509Certificates | null;
  caReferences: null;
}

/** As the local DPS holds it: the type and its one credential set, the other null. */
export interface RegisteredAttestation {
  type: "symmetricKey" | "x509";
  symmetricKey: SymmetricKeyAttestation | null;
  x509: X509Attestation | null;
  tpm: null;
}

/** The attestation in GET and query answers: no key, no certificate text. */
export interface PublicAttestation extends Omit<RegisteredAttestation, "symmetricKey"> {
  symmetricKey: { primaryKey: null; secondaryKey: null } | null;
}

/** A certificate as a client may send it: PEM, or base64 of its DER. Longer texts are no single certificate. */
const CERTIFICATE_MAX_CHARS = 16 * 1024;

/**
 * The attestation of a PUT body with DPS's rules: a known type; `symmetricKey` with both keys (base64, 16-64
 * bytes) or neither (then both are generated: `registerAttestation`); `x509` with the certificates the kind takes
 * (individual: `clientCertificates`, group: `signingCertificates`), each one parseable X.509 certificate and no
 * other PEM block, a group's a CA certificate. Returns the attestation as registered (keys generated) only when
 * there is no violation.
 */
export function parseAttestation(
  value: unknown,
  kind: EnrollmentKind,
  field = "attestation",
): { attestation?: RegisteredAttestation; violations: RuleViolation[] } {
  if (!isPlainObject(value)) return { violations: [{ field, rule: "is required: an object with a type" }] };
  const type = value.type;
  if (type === "tpm") {
    return {
      violations: [
        { field: `${field}.type`, rule: "tpm is not supported by the local DPS (use symmetricKey or x509)" },
      ],
    };
  }
  if (type === "symmetricKey") {
    const keys = value.symmetricKey ?? {};
    if (!isPlainObject(keys))
      return { violations: [{ field: `${field}.symmetricKey`, rule: "must be an object" }] };
    const violations = checkSymmetricKeys(keys.primaryKey, keys.secondaryKey, `${field}.symmetricKey`);
    if (violations.length > 0) return { violations };
    const given = typeof keys.primaryKey === "string" && keys.primaryKey !== "";
    return {
      attestation: {
        type,
        symmetricKey: {
          primaryKey: given ? (keys.primaryKey as string) : generateKey(),
          secondaryKey: given ? (keys.secondaryKey as string) : generateKey(),
        },
        x509: null,
        tpm: null,
      },
      violations: [],
    };
  }
  if (type === "x509") return parseX509(value.x509, kind, `${field}.x509`);
  return { violations: [{ field: `${field}.type`, rule: "must be symmetricKey or x509" }] };
}

function parseX509(
  value: unknown,
  kind: EnrollmentKind,
  field: string,
): { attestation?: RegisteredAttestation; violations: RuleViolation[] } {
  if (!isPlainObject(value)) return { violations: [{ field, rule: "must be an object" }] };
  const wanted = kind === "enrollment" ? "clientCertificates" : "signingCertificates";
  const other = kind === "enrollment" ? "signingCertificates" : "clientCertificates";
  const violations: RuleViolation[] = [];
  if (value.caReferences !== undefined && value.caReferences !== null) {
    violations.push({
      field: `${field}.caReferences`,
      rule: "is not supported by the local DPS (it has no certificate registry): give signingCertificates",
    });
  }
  if (value[other] !== undefined && value[other] !== null) {
    violations.push({
      field: `${field}.${other}`,
      rule: `is not taken by an ${kind === "enrollment" ? "individual enrollment" : "enrollment group"}: give ${wanted}`,
    });
  }
  const certificates = parseCertificates(value[wanted], `${field}.${wanted}`, kind, violations);
  if (violations.length > 0 || !certificates) return { violations };
  return {
    attestation: {
      type: "x509",
      symmetricKey: null,
      x509: {
        clientCertificates: kind === "enrollment" ? certificates : null,
        signingCertificates: kind === "enrollmentGroup" ? certificates : null,
        caReferences: null,
      },
      tpm: null,
    },
    violations,
  };
}

function parseCertificates(
  value: unknown,
  field: string,
  kind: EnrollmentKind,
  violations: RuleViolation[],
): X509Certificates | undefined {
  if (!isPlainObject(value)) {
    violations.push({ field, rule: "is required: an object with a primary certificate" });
    return undefined;
  }
  const primary = parseCertificate(value.primary, `${field}.primary`, kind, violations);
  if (!primary && (value.primary === undefined || value.primary === null)) {
    violations.push({ field: `${field}.primary`, rule: "is required" });
  }
  const secondary =
    value.secondary === undefined || value.secondary === null
      ? null
      : (parseCertificate(value.secondary, `${field}.secondary`, kind, violations) ?? null);
  return primary ? { primary, secondary } : undefined;
}

function parseCertificate(
  value: unknown,
  field: string,
  kind: EnrollmentKind,
  violations: RuleViolation[],
): X509CertificateWithInfo | undefined {
  if (value === undefined || value === null) return undefined;
  const text = isPlainObject(value) ? value.certificate : undefined;
  const refuse = (rule: string): undefined => void violations.push({ field: `${field}.certificate`, rule });
  if (typeof text !== "string" || text.trim() === "") {
    return refuse("must be a certificate (PEM or base64 DER)");
  }
  if (text.length > CERTIFICATE_MAX_CHARS) {
    return refuse(`must be at most ${CERTIFICATE_MAX_CHARS} characters`);
  }
  // Node reads the first PEM block and ignores the rest: a chain or a pasted private key would pass unseen.
  const blocks = text.match(/-----BEGIN [^-]*-----/g) ?? [];
  if (blocks.some((block) => block !== "-----BEGIN CERTIFICATE-----")) {
    return refuse("must hold certificates only (PEM blocks BEGIN CERTIFICATE; never a private key)");
  }
  if (blocks.length > 1) return refuse("must be one certificate, not a chain");
  const certificate = x509CertificateOf(text);
  if (!certificate) return refuse("must be an X.509 certificate (PEM or base64 DER)");
  // A group's devices are those whose certificates it signed: only a CA can have signed any.
  if (kind === "enrollmentGroup" && !certificate.ca) {
    return refuse(
      "must be a CA certificate (basicConstraints cA: true), the root or intermediate that signs the devices' certificates, not a device's own",
    );
  }
  return { certificate: text, info: infoOf(certificate) };
}

/** A certificate as DPS takes it (PEM, or base64 of its DER); undefined when the text is no certificate. */
export function x509CertificateOf(text: string): X509Certificate | undefined {
  const trimmed = text.trim();
  try {
    return new X509Certificate(
      trimmed.startsWith("-----BEGIN") ? trimmed : Buffer.from(trimmed.replace(/\s+/g, ""), "base64"),
    );
  } catch {
    return undefined;
  }
}

/** DPS's info of a certificate; undefined when the text is no certificate. Thumbprints are uppercase hex. */
export function certificateInfo(text: string): X509CertificateInfo | undefined {
  const certificate = x509CertificateOf(text);
  return certificate && infoOf(certificate);
}

function infoOf(certificate: X509Certificate): X509CertificateInfo {
  const hex = (fingerprint: string): string => fingerprint.replace(/:/g, "").toUpperCase();
  return {
    subjectName: distinguishedName(certificate.subject),
    sha1Thumbprint: hex(certificate.fingerprint),
    sha256Thumbprint: hex(certificate.fingerprint256),
    issuerName: distinguishedName(certificate.issuer),
    notBeforeUtc: new Date(certificate.validFrom).toISOString(),
    notAfterUtc: new Date(certificate.validTo).toISOString(),
    serialNumber: certificate.serialNumber.toUpperCase(),
    version: 3,
  };
}

/** Node prints one `CN=x` per line; DPS writes them comma-separated, like Windows does. */
const distinguishedName = (lines: string): string => lines.split("\n").filter(Boolean).join(", ");

/**
 * The attestation as DPS answers GET and query: keys withheld (they come from `attestationmechanism` only) and
 * certificates as their info only.
 */
export function publicAttestation(attestation: RegisteredAttestation): PublicAttestation {
  if (attestation.symmetricKey) {
    return { ...attestation, symmetricKey: { primaryKey: null, secondaryKey: null } };
  }
  const x509 = attestation.x509!;
  const strip = (certificates: X509Certificates | null): X509Certificates | null =>
    certificates && {
      primary: { info: certificates.primary.info },
      secondary: certificates.secondary && { info: certificates.secondary.info },
    };
  return {
    ...attestation,
    symmetricKey: null,
    x509: {
      clientCertificates: strip(x509.clientCertificates),
      signingCertificates: strip(x509.signingCertificates),
      caReferences: null,
    },
  };
}

/** Every SHA-1 and SHA-256 thumbprint an X.509 attestation registered (uppercase hex). */
export function attestationThumbprints(attestation: RegisteredAttestation): string[] {
  const x509 = attestation.x509;
  const certificates = x509?.clientCertificates ?? x509?.signingCertificates;
  if (!certificates) return [];
  return [certificates.primary, certificates.secondary].flatMap((certificate) =>
    certificate ? [certificate.info.sha1Thumbprint, certificate.info.sha256Thumbprint] : [],
  );
}
