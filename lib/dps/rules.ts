import type { RuleViolation } from "../iothub/rules";

/**
 * The Device Provisioning Service's ids and limits (Microsoft's DPS documentation), one definition for the local
 * DPS, the Pulumi side and verify. Every check returns all violations it finds, each naming the field and the rule.
 */

export const DPS_LIMITS = {
  /** Registration ids and enrollment group ids: at most 128 characters. */
  idMaxLength: 128,
  /** DPS: at most 100 enrollment groups per attestation kind (symmetric key, X.509). */
  enrollmentGroupsPerAttestation: 100,
  /** DPS: at most 1,000,000 individual enrollments. */
  enrollmentsPerDps: 1_000_000,
  /** DPS: at most 1,000,000 registrations. */
  registrationsPerDps: 1_000_000,
  /** A bulk enrollment operation takes at most 10 enrollments. */
  bulkMaxEnrollments: 10,
  /** DPS links at most 50 IoT hubs. */
  linkedHubsMax: 50,
} as const;

/**
 * DPS's shared access rights (Microsoft's "Control access to Azure IoT Hub Device Provisioning Service"): a policy
 * grants any set of them. The local DPS's policies and the Azure target's DPS policies name them alike.
 */
export const DPS_RIGHTS = [
  "ServiceConfig",
  "EnrollmentRead",
  "EnrollmentWrite",
  "RegistrationStatusRead",
  "RegistrationStatusWrite",
] as const;
export type DpsRight = (typeof DPS_RIGHTS)[number];

/**
 * DPS: "a case-insensitive string (up to 128 characters long) of alphanumeric characters plus the special
 * characters '-', '.', '_', ':'. The last character must be alphanumeric or dash". DPS keeps them lowercase; the
 * local DPS refuses uppercase rather than folding it, so a key derived from the id the user typed is the key the
 * device needs.
 */
const DPS_ID_PATTERN = /^[a-z0-9\-._:]+$/;
const DPS_ID_LAST = /[a-z0-9-]$/;

function checkDpsId(value: unknown, field: string): RuleViolation[] {
  if (typeof value !== "string") return [{ field, rule: "must be a string" }];
  if (value.length === 0) return [{ field, rule: "must not be empty" }];
  const violations: RuleViolation[] = [];
  if (value.length > DPS_LIMITS.idMaxLength) {
    violations.push({ field, rule: `must be at most ${DPS_LIMITS.idMaxLength} characters` });
  }
  if (!DPS_ID_PATTERN.test(value)) {
    violations.push({ field, rule: "may contain only lowercase letters, digits and - . _ :" });
  } else if (!DPS_ID_LAST.test(value)) {
    violations.push({ field, rule: "must end with a lowercase letter, a digit or -" });
  }
  return violations;
}

export function checkRegistrationId(value: unknown, field = "registrationId"): RuleViolation[] {
  return checkDpsId(value, field);
}

export function checkEnrollmentGroupId(value: unknown, field = "enrollmentGroupId"): RuleViolation[] {
  return checkDpsId(value, field);
}

/** `0ne` followed by 8 hex digits, as DPS hands id scopes out (e.g. 0ne000A1B2C). */
export const ID_SCOPE_PATTERN = /^0ne[0-9A-F]{8}$/;

export function checkIdScope(value: unknown, field = "idScope"): RuleViolation[] {
  return typeof value === "string" && ID_SCOPE_PATTERN.test(value)
    ? []
    : [{ field, rule: "must be 0ne followed by 8 hex digits (uppercase)" }];
}
