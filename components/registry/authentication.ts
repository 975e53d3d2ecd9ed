import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { checkSymmetricKeys, checkThumbprints, type RuleViolation } from "../../lib/iothub/rules";
import { closedObject, dottedPath, ruleRefinement, schemaViolations } from "../schemaViolations";
import type { IdentityBody } from "./client";
import type { IdentityOutputFields } from "./identityProvider";

/** The three ways a declared identity can authenticate, each a closed object (an unknown key is a problem). */
const authenticationVariants = z.discriminatedUnion("type", [
  closedObject({
    type: z.literal("sas"),
    /**
     * Base64 keys, secrets (in the stack config: `pulumi config set --secret --path`). None: the hub generates
     * them (the tutorial's way). Given keys survive re-creation.
     */
    primaryKey: z.string().optional(),
    secondaryKey: z.string().optional(),
  }),
  /** X.509 self-signed: the certificates' thumbprints (SHA-1 40 hex, or SHA-256 64 hex). */
  closedObject({
    type: z.literal("selfSigned"),
    primaryThumbprint: z.string({ required_error: "is required for selfSigned authentication" }),
    secondaryThumbprint: z.string().optional(),
  }),
  /** X.509 signed by a CA registered with the hub. */
  closedObject({ type: z.literal("certificateAuthority") }),
]);

/** The declared authentication as the provider receives it (resolved values). */
export type AuthenticationInputs = z.infer<typeof authenticationVariants>;

/** IoT Hub's rules for the credentials a variant carries: keys (both or neither, 16-64 bytes) and thumbprints. */
function credentialViolations(auth: AuthenticationInputs, field: string): RuleViolation[] {
  if (auth.type === "sas") return checkSymmetricKeys(auth.primaryKey, auth.secondaryKey, field);
  if (auth.type === "selfSigned") {
    return checkThumbprints(auth.primaryThumbprint, auth.secondaryThumbprint, field);
  }
  return [];
}

/**
 * The one definition of a declared authentication: its shape and its rules. The stack config embeds it and the
 * identity providers' check() applies it (checkAuthentication), so both refuse the same input the same way.
 */
export const identityAuthenticationSchema = authenticationVariants.superRefine(
  ruleRefinement(credentialViolations),
);

/** How a device or module authenticates, as the resources take it: each credential may be an Output (a secret). */
export type IdentityAuthentication = AuthenticationInputs extends infer Variant
  ? Variant extends AuthenticationInputs
    ? { [Field in keyof Variant]: Field extends "type" ? Variant[Field] : pulumi.Input<Variant[Field]> }
    : never
  : never;

/**
 * Violations of an authentication block (unchecked input: any value; absent means SAS with generated keys), each
 * naming the field (below `field`) and the rule.
 */
export function checkAuthentication(value: unknown, field = "authentication"): RuleViolation[] {
  if (value === undefined || value === null) return [];
  return schemaViolations(identityAuthenticationSchema, value, (path) => dottedPath([field, ...path]));
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
