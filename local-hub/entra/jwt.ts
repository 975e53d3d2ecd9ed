import { createSign, createVerify, type KeyObject } from "node:crypto";

/**
 * Compact JWS with RS256, the one algorithm Entra signs access tokens with: what the hub's token endpoint issues
 * and its service API verifies. Nothing here trusts the token's own header beyond checking it says RS256 and the
 * expected key id (no `alg: none`, no key taken from the token).
 */

export type JwtClaims = Record<string, unknown>;

/** Longer than any token this hub issues (~1 KB) by far; a longer header is refused before it is decoded. */
export const MAX_TOKEN_LENGTH = 8192;

export function signJwt(claims: JwtClaims, key: KeyObject, keyId: string): string {
  const header = { typ: "JWT", alg: "RS256", kid: keyId };
  const signingInput = `${encodePart(header)}.${encodePart(claims)}`;
  const signature = createSign("RSA-SHA256").update(signingInput).sign(key);
  return `${signingInput}.${signature.toString("base64url")}`;
}

export type JwtVerdict = { ok: true; claims: JwtClaims } | { ok: false; reason: string };

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Checks the form, the header (RS256, this key id) and the signature; the claims are the caller's to judge. */
export function verifyJwtSignature(token: string, key: KeyObject, keyId: string): JwtVerdict {
  if (token.length > MAX_TOKEN_LENGTH)
    return { ok: false, reason: `the token is over ${MAX_TOKEN_LENGTH} characters` };
  const parts = token.split(".");
  if (parts.length !== 3 || !parts.every((part) => BASE64URL.test(part))) {
    return { ok: false, reason: "the token is not a compact JWS (three base64url parts)" };
  }
  const header = decodePart(parts[0]);
  if (!header || header.alg !== "RS256")
    return { ok: false, reason: "the token's header does not say alg RS256" };
  if (header.kid !== keyId)
    return { ok: false, reason: "the token was not signed with this hub's key (kid)" };
  const signed = createVerify("RSA-SHA256")
    .update(`${parts[0]}.${parts[1]}`)
    .verify(key, Buffer.from(parts[2], "base64url"));
  if (!signed) return { ok: false, reason: "the token's signature does not verify" };
  const claims = decodePart(parts[1]);
  if (!claims) return { ok: false, reason: "the token's claims are not a JSON object" };
  return { ok: true, claims };
}

function encodePart(value: object): string {
  return Buffer.from(JSON.stringify(value), "utf8").toString("base64url");
}

function decodePart(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
