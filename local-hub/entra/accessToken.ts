import { randomUUID } from "node:crypto";
import { IOT_HUB_TOKEN_AUDIENCE } from "../../lib/iothub/dataPlaneRoles";
import type { Principal } from "../persistence/principalStore";
import { signJwt, verifyJwtSignature } from "./jwt";
import type { TokenSigningKey } from "./signingKey";

/**
 * The access tokens the hub's token endpoint issues for IoT Hub's audience, and their verification by the service
 * API: signature (this hub's key), issuer (this hub's tenant), audience (IoT Hub), expiry and not-before.
 */

/** Entra's access tokens live 60-90 minutes; the hub's live an hour (`expires_in` says 3599, as Entra's do). */
export const ACCESS_TOKEN_LIFETIME_SECONDS = 3599;

/** Clock skew allowed on `nbf` (a token minted by another process a moment ahead); none on `exp`. */
const NOT_BEFORE_SKEW_SECONDS = 300;

/**
 * The hub's authority: its endpoints live under `<authorityHost>/<tenantId>`. `tokenIssuer` is its access tokens'
 * `iss`, `https://<hostName>/<tenantId>/`: like Entra's v1 access tokens (IoT Hub's resource gets those, issued by
 * `https://sts.windows.net/<tenantId>/`), it is not the discovery document's issuer, and it names no port, so the
 * tokens issued before a restart stay valid when the token endpoint comes back on another port.
 */
export interface Authority {
  authorityHost: string;
  tenantId: string;
  tokenIssuer: string;
}

/** The discovery document's issuer: MSAL requires its scheme, host and port to be the authority's. */
export const discoveryIssuerOf = (authority: Authority): string =>
  `${authority.authorityHost}/${authority.tenantId}/v2.0`;

export function issueAccessToken(
  principal: Principal,
  authority: Authority,
  key: TokenSigningKey,
  now = Date.now(),
): string {
  const issuedAt = Math.floor(now / 1000);
  return signJwt(
    {
      aud: IOT_HUB_TOKEN_AUDIENCE,
      iss: authority.tokenIssuer,
      iat: issuedAt,
      nbf: issuedAt,
      exp: issuedAt + ACCESS_TOKEN_LIFETIME_SECONDS,
      tid: authority.tenantId,
      oid: principal.objectId,
      sub: principal.objectId,
      appid: principal.clientId,
      azp: principal.clientId,
      idtyp: "app",
      ver: "1.0",
      uti: randomUUID(),
    },
    key.privateKey,
    key.keyId,
  );
}

/** A verified token's principal ids and expiry, or why it is refused (for the hub's log, never sent). */
export type AccessTokenVerdict =
  | { ok: true; objectId: string; appId: string; expiresAtMs: number }
  | { ok: false; reason: string; expired?: boolean };

export function verifyAccessToken(
  token: string,
  authority: Authority,
  key: TokenSigningKey,
  now = Date.now(),
): AccessTokenVerdict {
  const signature = verifyJwtSignature(token, key.publicKey, key.keyId);
  if (!signature.ok) return signature;
  const { aud, iss, exp, nbf, oid, appid } = signature.claims;
  if (aud !== IOT_HUB_TOKEN_AUDIENCE)
    return { ok: false, reason: `the token's audience is not ${IOT_HUB_TOKEN_AUDIENCE}` };
  if (iss !== authority.tokenIssuer)
    return { ok: false, reason: "the token was issued for another tenant or authority" };
  if (typeof exp !== "number" || !Number.isFinite(exp)) return { ok: false, reason: "the token has no exp" };
  const nowSeconds = now / 1000;
  if (exp <= nowSeconds) return { ok: false, reason: "the token has expired", expired: true };
  if (typeof nbf === "number" && nbf > nowSeconds + NOT_BEFORE_SKEW_SECONDS) {
    return { ok: false, reason: "the token is not valid yet (nbf)" };
  }
  if (typeof oid !== "string" || typeof appid !== "string") {
    return { ok: false, reason: "the token names no principal (oid, appid)" };
  }
  return { ok: true, objectId: oid, appId: appid, expiresAtMs: exp * 1000 };
}
