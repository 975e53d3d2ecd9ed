import { generateKey } from "../../lib/iothub/sas";
import {
  checkSymmetricKeys,
  checkThumbprints,
  describeViolations,
  type RuleViolation,
} from "../../lib/iothub/rules";
import { badRequest } from "../errors/iotHubError";
import { isPlainObject } from "./twinDocument";

export type AuthType = "sas" | "selfSigned" | "certificateAuthority" | "none";

/** The registry JSON shape the SDK sends and receives. */
export interface Authentication {
  type: AuthType;
  symmetricKey?: { primaryKey: string | null; secondaryKey: string | null };
  x509Thumbprint?: { primaryThumbprint: string | null; secondaryThumbprint: string | null };
}

const AUTH_TYPES: readonly AuthType[] = ["sas", "selfSigned", "certificateAuthority", "none"];

const present = (value: unknown): string | null => (typeof value === "string" && value !== "" ? value : null);

/**
 * Validates the `authentication` of a create/update body and fills in what IoT Hub fills in: missing SAS keys are
 * generated, unused credential slots are null. Throws 400 ArgumentInvalid naming every bad field.
 */
export function normalizeAuthentication(input: unknown, field = "authentication"): Authentication {
  if (input === undefined || input === null) return sasWithNewKeys();
  if (!isPlainObject(input)) throw badRequest(`${field}: must be an object`);
  const type = (input.type ?? "sas") as AuthType;
  if (!AUTH_TYPES.includes(type)) {
    throw badRequest(`${field}.type: must be one of ${AUTH_TYPES.join(", ")}`);
  }
  const symmetricKey = isPlainObject(input.symmetricKey) ? input.symmetricKey : {};
  const thumbprint = isPlainObject(input.x509Thumbprint) ? input.x509Thumbprint : {};
  const violations: RuleViolation[] = [];
  const nullThumbprints = { primaryThumbprint: null, secondaryThumbprint: null };
  const nullKeys = { primaryKey: null, secondaryKey: null };

  if (type === "sas") {
    violations.push(
      ...checkSymmetricKeys(symmetricKey.primaryKey, symmetricKey.secondaryKey, `${field}.symmetricKey`),
    );
    throwIfAny(violations);
    const primaryKey = present(symmetricKey.primaryKey);
    const secondaryKey = present(symmetricKey.secondaryKey);
    if (primaryKey === null || secondaryKey === null) return sasWithNewKeys();
    return { type, symmetricKey: { primaryKey, secondaryKey }, x509Thumbprint: nullThumbprints };
  }
  if (type === "selfSigned") {
    violations.push(
      ...checkThumbprints(
        thumbprint.primaryThumbprint,
        thumbprint.secondaryThumbprint,
        `${field}.x509Thumbprint`,
      ),
    );
    const primaryThumbprint = present(thumbprint.primaryThumbprint);
    const secondaryThumbprint = present(thumbprint.secondaryThumbprint);
    if (primaryThumbprint === null && secondaryThumbprint === null) {
      violations.push({
        field: `${field}.x509Thumbprint.primaryThumbprint`,
        rule: "a selfSigned identity needs at least one thumbprint",
      });
    }
    throwIfAny(violations);
    return { type, symmetricKey: nullKeys, x509Thumbprint: { primaryThumbprint, secondaryThumbprint } };
  }
  return { type, symmetricKey: nullKeys, x509Thumbprint: nullThumbprints };
}

function sasWithNewKeys(): Authentication {
  return {
    type: "sas",
    symmetricKey: { primaryKey: generateKey(), secondaryKey: generateKey() },
    x509Thumbprint: { primaryThumbprint: null, secondaryThumbprint: null },
  };
}

function throwIfAny(violations: RuleViolation[]): void {
  if (violations.length > 0) throw badRequest(describeViolations(violations));
}

/** True when a device or module can no longer connect with what it had: keys or thumbprints changed. */
export function credentialsChanged(before: Authentication, after: Authentication): boolean {
  return (
    before.type !== after.type ||
    before.symmetricKey?.primaryKey !== after.symmetricKey?.primaryKey ||
    before.symmetricKey?.secondaryKey !== after.symmetricKey?.secondaryKey ||
    before.x509Thumbprint?.primaryThumbprint !== after.x509Thumbprint?.primaryThumbprint ||
    before.x509Thumbprint?.secondaryThumbprint !== after.x509Thumbprint?.secondaryThumbprint
  );
}
