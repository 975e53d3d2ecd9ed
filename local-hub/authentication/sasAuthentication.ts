import { parseSasToken, verifySignature } from "../../lib/iothub/sas";
import { unauthorized, type IotHubError } from "../errors/iotHubError";
import type { PolicyStore, SharedAccessPolicy } from "./policyStore";
import type { Right } from "./rights";
import { grants } from "./rights";

/** Why a token was refused: logged by the hub (never sent: IoT Hub does not tell the caller which check failed). */
export type AuthenticationResult =
  { ok: true; policy: SharedAccessPolicy } | { ok: false; error: IotHubError; reason: string };

/**
 * Checks a service-API `Authorization` header as IoT Hub does: a SharedAccessSignature for this hub's host name,
 * not expired, naming a policy that exists, signed with one of its two keys. The signature covers `sr` exactly as
 * the client sent it.
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
      return { ok: true, policy };
    }
  }
  const { expiresAt, ...result } = checkToken(header, policies, hostName, now);
  if (result.ok && header && expiresAt !== undefined) remember(header, result.policy, expiresAt);
  return result;
}

/** Verified tokens by their header text; bounded so a client minting a token per request cannot grow it. */
const verifiedTokens = new Map<string, { policy: SharedAccessPolicy; expiresAt: number }>();
const MAX_VERIFIED_TOKENS = 1000;

function remember(header: string, policy: SharedAccessPolicy, expiresAt: number): void {
  if (verifiedTokens.size >= MAX_VERIFIED_TOKENS) verifiedTokens.delete(verifiedTokens.keys().next().value!);
  verifiedTokens.set(header, { policy, expiresAt });
}

function checkToken(
  header: string | undefined,
  policies: PolicyStore,
  hostName: string,
  now: number,
): AuthenticationResult & { expiresAt?: number } {
  const refuse = (reason: string): AuthenticationResult => ({
    ok: false,
    reason,
    error: unauthorized(`Unauthorized: ${publicReason(reason)}`),
  });
  if (!header) return refuse("no Authorization header");
  const token = parseSasToken(header.trim());
  if (!token) return refuse("the Authorization header is not a SharedAccessSignature");
  if (!token.skn) return refuse("the token names no policy (skn)");
  if (!audienceMatches(token.sr, hostName))
    return refuse(`the token is for '${token.sr}', not '${hostName}'`);
  if (token.se * 1000 <= now) return refuse("the token has expired");
  const policy = policies.get(token.skn);
  if (!policy) return refuse(`no policy named '${token.skn}'`);
  if (!verifySignature(token, policy.primaryKey) && !verifySignature(token, policy.secondaryKey)) {
    return refuse("the signature does not match the policy's keys");
  }
  return { ok: true, policy, expiresAt: token.se * 1000 };
}

/** 401 unless the policy grants `right` (RegistryWrite includes RegistryRead). */
export function authorize(policy: SharedAccessPolicy, right: Right): IotHubError | undefined {
  if (grants(policy.rights, right)) return undefined;
  return unauthorized(`Unauthorized: the policy '${policy.name}' does not grant ${right}.`);
}

/** sr is the hub's host name, optionally followed by a path below it (IoT Hub's token scope). */
function audienceMatches(sr: string, hostName: string): boolean {
  let audience: string;
  try {
    audience = decodeURIComponent(sr).toLowerCase();
  } catch {
    return false;
  }
  const host = hostName.toLowerCase();
  return audience === host || audience === `${host}/` || audience.startsWith(`${host}/`);
}

/** Expiry is the one reason IoT Hub names; the others are all "unauthorized". */
function publicReason(reason: string): string {
  return reason === "the token has expired" ? "the SAS token has expired." : "invalid SAS token.";
}
