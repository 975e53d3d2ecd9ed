import type * as pulumi from "@pulumi/pulumi";
import { checkSymmetricKeys, checkThumbprints, type RuleViolation } from "../../lib/iothub/rules";
import type { IdentityBody } from "./client";
import type { IdentityOutputFields } from "./identityProvider";

/** How a device or module authenticates. */
export type IdentityAuthentication =
  /** Symmetric keys. No keys: the hub generates them (the tutorial's way). Given keys (secrets) survive re-creation. */
  | { type: "sas"; primaryKey?: pulumi.Input<string>; secondaryKey?: pulumi.Input<string> }
  /** X.509 self-signed: the certificates' thumbprints (SHA-1 40 hex, or SHA-256 64 hex). */
  | {
      type: "selfSigned";
      primaryThumbprint: pulumi.Input<string>;
      secondaryThumbprint?: pulumi.Input<string>;
    }
  /** X.509 signed by a CA registered with the hub. */
  | { type: "certificateAuthority" };

/** The resolved form the provider works with. */
export type AuthenticationInputs = pulumi.Unwrap<IdentityAuthentication>;

/** Violations of an authentication block (unchecked input: any value), each naming the field and the rule. */
export function checkAuthentication(value: unknown, field = "authentication"): RuleViolation[] {
  if (value === undefined || value === null) return [];
  if (typeof value !== "object" || Array.isArray(value)) return [{ field, rule: "must be an object" }];
  const auth = value as Partial<
    Record<"type" | "primaryKey" | "secondaryKey" | "primaryThumbprint" | "secondaryThumbprint", string>
  >;
  switch (auth.type) {
    case "sas":
      return checkSymmetricKeys(auth.primaryKey, auth.secondaryKey, field);
    case "selfSigned":
      if (!auth.primaryThumbprint) {
        return [{ field: `${field}.primaryThumbprint`, rule: "is required for selfSigned authentication" }];
      }
      return checkThumbprints(auth.primaryThumbprint, auth.secondaryThumbprint, field);
    case "certificateAuthority":
      return [];
    default:
      return [{ field: `${field}.type`, rule: "must be sas, selfSigned or certificateAuthority" }];
  }
}

/**
 * The authentication block of a PUT. `current` is what the hub holds: keys not declared are carried over from it,
 * because a PUT without keys makes the hub mint new ones (a full replace).
 */
export function authenticationBody(
  declared: AuthenticationInputs | undefined,
  current?: IdentityBody,
): NonNullable<IdentityBody["authentication"]> {
  const auth = declared ?? { type: "sas" };
  if (auth.type === "sas") {
    const keys = current?.authentication?.symmetricKey;
    return {
      type: "sas",
      symmetricKey: {
        primaryKey: auth.primaryKey ?? keys?.primaryKey ?? "",
        secondaryKey: auth.secondaryKey ?? keys?.secondaryKey ?? "",
      },
    };
  }
  if (auth.type === "selfSigned") {
    return {
      type: "selfSigned",
      x509Thumbprint: {
        primaryThumbprint: auth.primaryThumbprint,
        secondaryThumbprint: auth.secondaryThumbprint ?? null,
      },
    };
  }
  return { type: "certificateAuthority" };
}

/** True when the hub's identity authenticates as declared (keys compared only where declared). */
export function authenticationMatches(
  declared: AuthenticationInputs | undefined,
  actual: IdentityBody,
): boolean {
  const auth = declared ?? { type: "sas" };
  const hub = actual.authentication;
  if ((hub?.type ?? "sas") !== auth.type) return false;
  if (auth.type === "sas") {
    return (
      (auth.primaryKey === undefined || auth.primaryKey === hub?.symmetricKey?.primaryKey) &&
      (auth.secondaryKey === undefined || auth.secondaryKey === hub?.symmetricKey?.secondaryKey)
    );
  }
  if (auth.type === "selfSigned") {
    const prints = hub?.x509Thumbprint;
    return (
      sameThumbprint(auth.primaryThumbprint, prints?.primaryThumbprint) &&
      sameThumbprint(auth.secondaryThumbprint, prints?.secondaryThumbprint)
    );
  }
  return true;
}

function sameThumbprint(a: string | null | undefined, b: string | null | undefined): boolean {
  return (a ?? "").toUpperCase() === (b ?? "").toUpperCase();
}

/** Outputs describing the hub's authentication: keys (secret outputs) and thumbprints. */
export type AuthenticationOutputs = Pick<
  IdentityOutputFields,
  "authenticationType" | "primaryKey" | "secondaryKey" | "primaryThumbprint" | "secondaryThumbprint"
>;

export function authenticationOutputs(actual: IdentityBody): AuthenticationOutputs {
  const hub = actual.authentication;
  return {
    authenticationType: hub?.type ?? "sas",
    primaryKey: hub?.symmetricKey?.primaryKey || undefined,
    secondaryKey: hub?.symmetricKey?.secondaryKey || undefined,
    primaryThumbprint: hub?.x509Thumbprint?.primaryThumbprint || undefined,
    secondaryThumbprint: hub?.x509Thumbprint?.secondaryThumbprint || undefined,
  };
}

/**
 * The stored outputs' authentication seen as the hub's (the inverse of authenticationOutputs): to compare the
 * declared authentication with the state in diff, and to carry the stored keys into an update's full PUT.
 */
export function authenticationFromOutputs(
  outputs: AuthenticationOutputs,
): NonNullable<IdentityBody["authentication"]> {
  return {
    type: outputs.authenticationType as AuthenticationInputs["type"],
    symmetricKey: { primaryKey: outputs.primaryKey, secondaryKey: outputs.secondaryKey },
    x509Thumbprint: {
      primaryThumbprint: outputs.primaryThumbprint,
      secondaryThumbprint: outputs.secondaryThumbprint,
    },
  };
}
