import { parseSasToken, verifySignature, type ParsedSasToken } from "../../lib/iothub/sas";

/**
 * The one SAS token verification of the hub, for the service API's `Authorization` header and the device API's
 * MQTT password alike: a `SharedAccessSignature` token, not expired, its resource (`sr`, URL-decoded) in the
 * caller's scope, signed over `sr` exactly as sent with one of the keys the caller names (a policy's or an
 * identity's primary and secondary key).
 */

export interface SasTokenScope<Signer> {
  /** Undefined when the token's resource (URL-decoded) is one it may be used for; else the reason it is not. */
  checkResource(resource: string): string | undefined;
  /**
   * Who may have signed this token (a policy, an identity) with which keys, or the reason nobody can (no such
   * policy, an identity without symmetric keys).
   */
  signer(
    token: ParsedSasToken,
  ): { signer: Signer; keys: ReadonlyArray<string | null | undefined> } | { refusal: string };
}

export type SasTokenVerdict<Signer> =
  { ok: true; signer: Signer; expiresAtMs: number } | { ok: false; reason: string; expired: boolean };

export const SAS_TOKEN_EXPIRED = "the SAS token has expired";

export function verifySasToken<Signer>(
  text: string,
  scope: SasTokenScope<Signer>,
  nowMs: number,
): SasTokenVerdict<Signer> {
  const refuse = (reason: string): SasTokenVerdict<Signer> => ({ ok: false, reason, expired: false });
  const token = parseSasToken(text.trim());
  if (!token) return refuse("not a SharedAccessSignature token");
  const expiresAtMs = token.se * 1000;
  if (expiresAtMs <= nowMs) return { ok: false, reason: SAS_TOKEN_EXPIRED, expired: true };
  let resource: string;
  try {
    resource = decodeURIComponent(token.sr);
  } catch {
    return refuse("the SAS token's sr is not URL-encoded correctly");
  }
  const outOfScope = scope.checkResource(resource);
  if (outOfScope) return refuse(outOfScope);
  const candidate = scope.signer(token);
  if ("refusal" in candidate) return refuse(candidate.refusal);
  const signed = candidate.keys.some((key) => !!key && verifySignature(token, key));
  if (!signed) return refuse("the SAS token's signature does not match a key");
  return { ok: true, signer: candidate.signer, expiresAtMs };
}
