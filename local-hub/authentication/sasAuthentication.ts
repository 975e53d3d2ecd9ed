import { unauthorized, type IotHubError } from "../errors/iotHubError";
import type { PolicyStore, SharedAccessPolicy } from "./policyStore";
import type { Right } from "./rights";
import { grants } from "./rights";
import { verifySasToken } from "./sasToken";
import { scopeAdmits, type TokenScope } from "./tokenScope";

/**
 * A verified token's policy and scope (the path segments its `sr` names below the hub, which every request it
 * makes must be at or below), or why it was refused: logged by the hub, never sent (IoT Hub does not tell the
 * caller which check failed).
 */
export type AuthenticationResult =
  | { ok: true; policy: SharedAccessPolicy; scope: TokenScope }
  | { ok: false; error: IotHubError; reason: string };

/**
 * Checks a service-API `Authorization` header as IoT Hub does: a SharedAccessSignature for this hub's host name
 * (or a path below it), not expired, naming a policy that exists, signed with one of its two keys. The signature
 * covers `sr` exactly as the client sent it. Whether the token reaches the requested path is `authorizeScope`'s.
 */
export function authenticateServiceToken(
  header: string | undefined,
  policies: PolicyStore,
  hostName: string,
  now: number = Date.now(),
): AuthenticationResult {
  // Clients send the same token for many requests: a token already verified against the policy's current keys
  // needs only its expiry checked again (the cache entry dies with a key change or the policy's removal).
  const verified = header ? verifiedTokens.get(header) : undefined;
  if (verified && verified.expiresAt > now) {
    const policy = policies.get(verified.policy.name);
    if (
      policy &&
      policy.primaryKey === verified.policy.primaryKey &&
      policy.secondaryKey === verified.policy.secondaryKey
    ) {
      return { ok: true, policy, scope: verified.scope };
    }
  }
  const { expiresAt, ...result } = checkToken(header, policies, hostName, now);
  if (result.ok && header && expiresAt !== undefined) remember(header, result, expiresAt);
  return result;
}

/** What the caller learns of every refused token but an expired one (the reason goes to the hub's log). */
const INVALID_TOKEN = "Unauthorized: invalid SAS token.";

/** Verified tokens by their header text; bounded so a client minting a token per request cannot grow it. */
const verifiedTokens = new Map<
  string,
  { policy: SharedAccessPolicy; scope: TokenScope; expiresAt: number }
>();
const MAX_VERIFIED_TOKENS = 1000;

function remember(
  header: string,
  { policy, scope }: { policy: SharedAccessPolicy; scope: TokenScope },
  expiresAt: number,
): void {
  if (verifiedTokens.size >= MAX_VERIFIED_TOKENS) verifiedTokens.delete(verifiedTokens.keys().next().value!);
  verifiedTokens.set(header, { policy, scope, expiresAt });
}

function checkToken(
  header: string | undefined,
  policies: PolicyStore,
  hostName: string,
  now: number,
): AuthenticationResult & { expiresAt?: number } {
  const refuse = (reason: string, expired = false): AuthenticationResult => ({
    ok: false,
    reason,
    // Expiry is the one reason IoT Hub names; the others are all "invalid".
    error: unauthorized(expired ? "Unauthorized: the SAS token has expired." : INVALID_TOKEN),
  });
  if (!header) return refuse("no Authorization header");
  const verdict = verifySasToken<SharedAccessPolicy>(
    header,
    {
      hostName,
      // Any path below the hub: each request is checked against it (authorizeScope).
      checkScope: () => undefined,
      signer: (token) => {
        if (!token.skn) return { refusal: "the token names no policy (skn)" };
        const policy = policies.get(token.skn);
        if (!policy) return { refusal: `no policy named '${token.skn}'` };
        return { signer: policy, keys: [policy.primaryKey, policy.secondaryKey] };
      },
    },
    now,
  );
  if (!verdict.ok) return refuse(verdict.reason, verdict.expired);
  return { ok: true, policy: verdict.signer, scope: verdict.scope, expiresAt: verdict.expiresAtMs };
}

/** 401 unless the policy grants `right` (RegistryWrite includes RegistryRead). */
export function authorize(policy: SharedAccessPolicy, right: Right): IotHubError | undefined {
  if (grants(policy.rights, right)) return undefined;
  return unauthorized(`Unauthorized: the policy '${policy.name}' does not grant ${right}.`);
}

/**
 * 401 unless the request's path (URL-decoded segments) is at or below the token's scope: a token for
 * `<host>/devices/d1` reaches `/devices/d1/...` only, one for `<host>/twins/d1` only that twin.
 */
export function authorizeScope(
  scope: TokenScope,
  segments: readonly string[],
): { error: IotHubError; reason: string } | undefined {
  if (scopeAdmits(scope, segments)) return undefined;
  return {
    error: unauthorized(INVALID_TOKEN),
    reason: `the token is scoped to '/${scope.join("/")}'`,
  };
}
