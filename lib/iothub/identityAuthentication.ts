import { checkSymmetricKeys, checkThumbprints, type RuleViolation } from "./rules";
import { generateKey } from "./sas";
import { isPlainObject } from "./twin";

/**
 * How a device or module authenticates, as IoT Hub's registry API carries it (`AuthenticationMechanism` of the
 * service API): the body the SDK sends on create/update and the one the hub answers with. The local hub parses
 * request bodies with these rules, the MQTT side decides CONNECTs on the registered form, and the providers build
 * their PUT bodies in this shape.
 */

export type AuthenticationType = "sas" | "selfSigned" | "certificateAuthority" | "none";

const AUTHENTICATION_TYPES: readonly AuthenticationType[] = [
  "sas",
  "selfSigned",
  "certificateAuthority",
  "none",
];

interface SymmetricKey {
  primaryKey?: string | null;
  secondaryKey?: string | null;
}

interface X509Thumbprint {
  primaryThumbprint?: string | null;
  secondaryThumbprint?: string | null;
}

/** As a client sends it: every field may be missing (no keys = the hub generates them). */
export interface AuthenticationMechanism {
  type?: AuthenticationType;
  symmetricKey?: SymmetricKey;
  x509Thumbprint?: X509Thumbprint;
}

/** As the registry holds and returns it: the type set, both slots present, an unused credential null. */
export interface RegisteredAuthentication {
  type: AuthenticationType;
  symmetricKey: { primaryKey: string | null; secondaryKey: string | null };
  x509Thumbprint: { primaryThumbprint: string | null; secondaryThumbprint: string | null };
}

const given = (value: unknown): string | null => (typeof value === "string" && value !== "" ? value : null);

/**
 * IoT Hub's rules for an `authentication` body (absent = SAS with generated keys): an object; a known type; for
 * `sas` both keys (base64, 16-64 bytes) or neither; for `selfSigned` at least one thumbprint, each SHA-1 or
 * SHA-256 hex. Returns every violation, each naming its field.
 */
export function checkAuthenticationMechanism(value: unknown, field = "authentication"): RuleViolation[] {
  if (value === undefined || value === null) return [];
  if (!isPlainObject(value)) return [{ field, rule: "must be an object" }];
  const type = value.type ?? "sas";
  if (!AUTHENTICATION_TYPES.includes(type as AuthenticationType)) {
    return [{ field: `${field}.type`, rule: `must be one of ${AUTHENTICATION_TYPES.join(", ")}` }];
  }
  if (type === "sas") {
    const keys = isPlainObject(value.symmetricKey) ? value.symmetricKey : {};
    return checkSymmetricKeys(keys.primaryKey, keys.secondaryKey, `${field}.symmetricKey`);
  }
  if (type === "selfSigned") {
    const thumbprints = isPlainObject(value.x509Thumbprint) ? value.x509Thumbprint : {};
    const violations = checkThumbprints(
      thumbprints.primaryThumbprint,
      thumbprints.secondaryThumbprint,
      `${field}.x509Thumbprint`,
    );
    if (given(thumbprints.primaryThumbprint) === null && given(thumbprints.secondaryThumbprint) === null) {
      violations.push({
        field: `${field}.x509Thumbprint.primaryThumbprint`,
        rule: "a selfSigned identity needs at least one thumbprint",
      });
    }
    return violations;
  }
  return [];
}

/**
 * What the registry stores for a mechanism that passed `checkAuthenticationMechanism`, filled in as IoT Hub fills
 * it in: a SAS identity without keys gets two new ones; slots the type does not use are null.
 */
export function registeredAuthentication(
  mechanism: AuthenticationMechanism | null | undefined,
): RegisteredAuthentication {
  const noKeys = { primaryKey: null, secondaryKey: null };
  const noThumbprints = { primaryThumbprint: null, secondaryThumbprint: null };
  const type = mechanism?.type ?? "sas";
  if (type === "sas") {
    const primaryKey = given(mechanism?.symmetricKey?.primaryKey);
    const secondaryKey = given(mechanism?.symmetricKey?.secondaryKey);
    const keys =
      primaryKey !== null && secondaryKey !== null
        ? { primaryKey, secondaryKey }
        : { primaryKey: generateKey(), secondaryKey: generateKey() };
    return { type, symmetricKey: keys, x509Thumbprint: noThumbprints };
  }
  if (type === "selfSigned") {
    const thumbprints = mechanism?.x509Thumbprint;
    return {
      type,
      symmetricKey: noKeys,
      x509Thumbprint: {
        primaryThumbprint: given(thumbprints?.primaryThumbprint),
        secondaryThumbprint: given(thumbprints?.secondaryThumbprint),
      },
    };
  }
  return { type, symmetricKey: noKeys, x509Thumbprint: noThumbprints };
}

/** True when an identity can no longer connect with what it had: its type, keys or thumbprints changed. */
export function credentialsChanged(before: AuthenticationMechanism, after: AuthenticationMechanism): boolean {
  return (
    before.type !== after.type ||
    before.symmetricKey?.primaryKey !== after.symmetricKey?.primaryKey ||
    before.symmetricKey?.secondaryKey !== after.symmetricKey?.secondaryKey ||
    before.x509Thumbprint?.primaryThumbprint !== after.x509Thumbprint?.primaryThumbprint ||
    before.x509Thumbprint?.secondaryThumbprint !== after.x509Thumbprint?.secondaryThumbprint
  );
}
