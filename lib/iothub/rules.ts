/**
 * IoT Hub's rules for identities and twins (Microsoft's documented limits). The local hub enforces them and the
 * Pulumi providers check inputs with them before any call, so a bad input fails the same way on both sides.
 * Every check returns all violations it finds (empty = valid), each naming the field and the rule.
 */

export interface RuleViolation {
  /** A path like `deviceId`, `modules[0].moduleId` or `desired.a.b`. */
  field: string;
  rule: string;
}

export const LIMITS = {
  idMaxLength: 128,
  statusReasonMaxLength: 128,
  modulesPerDevice: 50,
  keyBytesMin: 16,
  keyBytesMax: 64,
  twinSectionMaxBytes: { tags: 8192, desired: 32768, reported: 32768 },
  twinMaxDepth: 10,
  twinKeyMaxBytes: 1024,
  twinStringMaxBytes: 4096,
  bulkMaxIdentities: 100,
} as const satisfies {
  idMaxLength: 128;
  statusReasonMaxLength: 128;
  modulesPerDevice: 50;
  keyBytesMin: 16;
  keyBytesMax: 64;
  twinSectionMaxBytes: { tags: 8192; desired: 32768; reported: 32768 };
  twinMaxDepth: 10;
  twinKeyMaxBytes: 1024;
  twinStringMaxBytes: 4096;
  bulkMaxIdentities: 100;
};

/** ASCII alphanumerics and `- : . + % _ # * ? ! ( ) , = @ ; $ '` (IoT Hub's identity id alphabet). */
const ID_PATTERN = /^[A-Za-z0-9\-:.+%_#*?!(),=@;$']+$/;
const ID_ALPHABET = "ASCII letters, digits and - : . + % _ # * ? ! ( ) , = @ ; $ '";

function checkId(value: unknown, field: string): RuleViolation[] {
  if (typeof value !== "string") return [{ field, rule: "must be a string" }];
  if (value.length === 0) return [{ field, rule: "must not be empty" }];
  const violations: RuleViolation[] = [];
  if (value.length > LIMITS.idMaxLength) {
    violations.push({ field, rule: `must be at most ${LIMITS.idMaxLength} characters` });
  }
  if (!ID_PATTERN.test(value)) violations.push({ field, rule: `may contain only ${ID_ALPHABET}` });
  // Both are in the alphabet, but as a path segment they mean "this" and "the parent": no identity may be one.
  if (value === "." || value === "..") violations.push({ field, rule: "must not be '.' or '..'" });
  return violations;
}

export function checkDeviceId(value: unknown, field = "deviceId"): RuleViolation[] {
  return checkId(value, field);
}

export function checkModuleId(value: unknown, field = "moduleId"): RuleViolation[] {
  const violations = checkId(value, field);
  if (typeof value === "string" && value.startsWith("$")) {
    violations.push({ field, rule: "must not start with $ (reserved for IoT Hub's system modules)" });
  }
  return violations;
}

/** IoT Hub: shared access policy names are 1-64 characters of letters, digits and `-._`. */
const POLICY_NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

export function checkPolicyName(value: unknown, field = "policyName"): RuleViolation[] {
  if (typeof value !== "string") return [{ field, rule: "must be a string" }];
  if (!POLICY_NAME_PATTERN.test(value)) {
    return [{ field, rule: "must be 1-64 letters, digits, '.', '_' or '-'" }];
  }
  return [];
}

const isAbsent = (value: unknown): boolean => value === undefined || value === null || value === "";

const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** One symmetric key: base64 of 16-64 bytes (IoT Hub's and DPS's keys alike). */
export function checkKey(value: unknown, field: string): RuleViolation[] {
  if (typeof value !== "string") return [{ field, rule: "must be a base64 string" }];
  if (!BASE64_PATTERN.test(value)) return [{ field, rule: "must be valid base64" }];
  const bytes = Buffer.from(value, "base64").length;
  if (bytes < LIMITS.keyBytesMin || bytes > LIMITS.keyBytesMax) {
    return [
      {
        field,
        rule: `must decode to ${LIMITS.keyBytesMin}-${LIMITS.keyBytesMax} bytes (it decodes to ${bytes})`,
      },
    ];
  }
  return [];
}

/** Base64 keys of 16-64 bytes; both given or neither (neither: the hub generates them). */
export function checkSymmetricKeys(
  primary: unknown,
  secondary: unknown,
  field = "authentication.symmetricKey",
): RuleViolation[] {
  const primaryAbsent = isAbsent(primary);
  const secondaryAbsent = isAbsent(secondary);
  if (primaryAbsent && secondaryAbsent) return [];
  if (primaryAbsent || secondaryAbsent) {
    return [
      {
        field: `${field}.${primaryAbsent ? "primaryKey" : "secondaryKey"}`,
        rule: "both keys must be given, or neither (then both are generated)",
      },
    ];
  }
  return [...checkKey(primary, `${field}.primaryKey`), ...checkKey(secondary, `${field}.secondaryKey`)];
}

const THUMBPRINT_PATTERN = /^(?:[0-9A-Fa-f]{40}|[0-9A-Fa-f]{64})$/;

/** Each thumbprint given must be 40 hex digits (SHA-1) or 64 (SHA-256). Which ones are required is the caller's rule. */
export function checkThumbprints(
  primary: unknown,
  secondary: unknown,
  field = "authentication.x509Thumbprint",
): RuleViolation[] {
  const violations: RuleViolation[] = [];
  for (const [name, value] of [
    ["primaryThumbprint", primary],
    ["secondaryThumbprint", secondary],
  ] as const) {
    if (isAbsent(value)) continue;
    if (typeof value !== "string" || !THUMBPRINT_PATTERN.test(value)) {
      violations.push({
        field: `${field}.${name}`,
        rule: "must be 40 hex digits (SHA-1) or 64 hex digits (SHA-256)",
      });
    }
  }
  return violations;
}

// C0 and C1 control characters, `.`, `$` and space are not allowed in twin property names.
// eslint-disable-next-line no-control-regex
const FORBIDDEN_KEY_CHARACTERS = /[\u0000-\u001f\u007f-\u009f.$ ]/;

/**
 * A twin section (tags, desired or reported), or a patch of one. Checks: a JSON object; nesting depth (the
 * section's own properties are at depth 1); property names; string lengths; total size. Null values are allowed
 * (in a patch they delete the property).
 *
 * Input may be nested far deeper than the rule allows: JSON.parse builds such values, JSON.stringify overflows
 * the stack on them (docs/field-notes.md, Node's JSON). So the walk never descends past the limit, and the size is
 * measured only once the value is known to be within it.
 */
export function checkTwinSection(
  section: "tags" | "desired" | "reported",
  value: unknown,
  field: string = section,
): RuleViolation[] {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return [{ field, rule: "must be a JSON object" }];
  }
  const violations: RuleViolation[] = [];
  checkTwinValue(value, field, 0, violations);
  if (violations.some((violation) => violation.rule === NESTING_RULE)) return violations;
  const maxBytes = LIMITS.twinSectionMaxBytes[section];
  const bytes = Buffer.byteLength(JSON.stringify(value), "utf8");
  if (bytes > maxBytes) {
    violations.unshift({ field, rule: `must be at most ${maxBytes} bytes (it is ${bytes})` });
  }
  return violations;
}

const NESTING_RULE = `must be nested at most ${LIMITS.twinMaxDepth} levels deep`;

/** Recursive, but bounded: it returns at the first container below ten others, however deep the input goes. */
function checkTwinValue(value: unknown, field: string, depth: number, violations: RuleViolation[]): void {
  if (typeof value === "string") {
    const bytes = Buffer.byteLength(value, "utf8");
    if (bytes > LIMITS.twinStringMaxBytes) {
      violations.push({
        field,
        rule: `strings must be at most ${LIMITS.twinStringMaxBytes} bytes (it is ${bytes})`,
      });
    }
    return;
  }
  if (typeof value === "number") {
    if (!Number.isFinite(value)) violations.push({ field, rule: "numbers must be finite" });
    return;
  }
  if (value === null || typeof value === "boolean") return;
  if (typeof value !== "object") {
    violations.push({ field, rule: "must be a JSON value" });
    return;
  }
  // `depth` counts the containers above this value: an object at depth > 10 is nested too deep.
  if (depth > LIMITS.twinMaxDepth) {
    violations.push({ field, rule: NESTING_RULE });
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, index) => checkTwinValue(item, `${field}[${index}]`, depth + 1, violations));
    return;
  }
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const childField = `${field}.${key}`;
    const keyRule = twinKeyRule(key);
    if (keyRule) violations.push({ field: childField, rule: keyRule });
    checkTwinValue(child, childField, depth + 1, violations);
  }
}

function twinKeyRule(key: string): string | undefined {
  if (key.length === 0) return "property names must not be empty";
  if (Buffer.byteLength(key, "utf8") > LIMITS.twinKeyMaxBytes) {
    return `property names must be at most ${LIMITS.twinKeyMaxBytes} bytes`;
  }
  if (FORBIDDEN_KEY_CHARACTERS.test(key)) {
    return "property names must not contain control characters, '.', '$' or spaces";
  }
  return undefined;
}

/** `deviceId: must be at most 128 characters; modules[0].moduleId: ...` */
export function describeViolations(violations: RuleViolation[]): string {
  return violations.map((violation) => `${violation.field}: ${violation.rule}`).join("; ");
}
