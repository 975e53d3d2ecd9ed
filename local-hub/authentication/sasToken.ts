import { parseSasToken, verifySignature, type ParsedSasToken } from "../../lib/iothub/sas";
import { parseTokenScope, type TokenScope } from "./tokenScope";

/**
 * The one SAS token verification of the hub, for the service API's `Authorization` header and the device API's
 * MQTT password alike: a `SharedAccessSignature` token, not expired, its resource (`sr`, URL-decoded once) naming
 * this hub and a scope the caller accepts, signed over `sr` exactly as sent with one of the keys the caller names
 * (a policy's or an identity's primary and secondary key).
 */

export interface SasTokenScope<Signer> {
  /** The hub's host name: `sr` must start with it. */
  hostName: string;
  /** Undefined when a token of this scope (path segments below the host) may be used here; else the reason not. */
  checkScope(scope: TokenScope, resource: string): string | undefined;
  /**
   * Who may have signed this token (a policy, an identity) with which keys, or the reason nobody can (no such
   * policy, an identity without symmetric keys).
   */
  signer(
    token: ParsedSasToken,
  ): { signer: Signer; keys: ReadonlyArray<string | null | undefined> } | { refusal: string };
}

export type SasTokenVerdict<Signer> =
  | { ok: true; signer: Signer; expiresAtMs: number; scope: TokenScope }
  | { ok: false; reason: string; expired: boolean };

export const SAS_TOKEN_EXPIRED = "the SAS token has expired";

export function verifySasToken<Signer>(
  text: string,
  caller: SasTokenScope<Signer>,
  nowMs: number,
): SasTokenVerdict<Signer> {
  const refuse = (reason: string): SasTokenVerdict<Signer> => ({ ok: false, reason, expired: false });
  const token = parseSasToken(text.trim());
  if (!token) return refuse("not a SharedAccessSignature token (sr, sig and a decimal se, each once)");
  const expiresAtMs = token.se * 1000;
  if (expiresAtMs <= nowMs) return { ok: false, reason: SAS_TOKEN_EXPIRED, expired: true };
  let resource: string;
  try {
    resource = decodeURIComponent(token.sr);
  } catch {
    return refuse("the SAS token's sr is not URL-encoded correctly");
  }
  const parsed = parseTokenScope(resource, caller.hostName);
  if ("refusal" in parsed) return refuse(parsed.refusal);
  const outOfScope = caller.checkScope(parsed.scope, resource);
  if (outOfScope) return refuse(outOfScope);
  const candidate = caller.signer(token);
  if ("refusal" in candidate) return refuse(candidate.refusal);
  const signed = candidate.keys.some((key) => !!key && verifySignature(token, key));
  if (!signed) return refuse("the SAS token's signature does not match a key");
  return { ok: true, signer: candidate.signer, expiresAtMs, scope: parsed.scope };
}
