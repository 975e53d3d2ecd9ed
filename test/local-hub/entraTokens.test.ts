import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { issueAccessToken, verifyAccessToken, type Authority } from "../../local-hub/entra/accessToken";
import { MAX_TOKEN_LENGTH, signJwt, verifyJwtSignature } from "../../local-hub/entra/jwt";
import { ensureTokenSigningKey, TOKEN_SIGNING_KEY_FILE } from "../../local-hub/entra/signingKey";
import type { Principal } from "../../local-hub/persistence/principalStore";

/** The hub's access tokens without a hub: what is issued, and each rule of their verification. */
describe("the hub's Entra access tokens", () => {
  const stateDir = mkdtempSync(join(tmpdir(), "iothub-local-tokens-"));
  const key = ensureTokenSigningKey(stateDir);
  const authority: Authority = {
    authorityHost: "https://hub.example:40000",
    tenantId: "11111111-2222-3333-4444-555555555555",
    tokenIssuer: "https://hub.example/11111111-2222-3333-4444-555555555555/",
  };
  const principal: Principal = {
    name: "p",
    clientId: "aaaaaaaa-0000-0000-0000-000000000001",
    objectId: "bbbbbbbb-0000-0000-0000-000000000002",
    roles: [],
    effectiveAtMs: {},
  };
  const now = Date.UTC(2026, 11, 2, 12, 0, 0);

  it("keeps one signing key per state dir, private, with a stable key id", () => {
    expect(statSync(join(stateDir, TOKEN_SIGNING_KEY_FILE)).mode & 0o777).toBe(0o600);
    const again = ensureTokenSigningKey(stateDir);
    expect(again.keyId).toBe(key.keyId);
    const other = ensureTokenSigningKey(mkdtempSync(join(tmpdir(), "iothub-local-tokens-")));
    expect(other.keyId).not.toBe(key.keyId);
  });

  it("verifies its own token until exp, not at or after it", () => {
    const token = issueAccessToken(principal, authority, key, now);
    expect(verifyAccessToken(token, authority, key, now + 3598_000)).toEqual({
      ok: true,
      objectId: principal.objectId,
      appId: principal.clientId,
      expiresAtMs: now + 3599_000,
    });
    expect(verifyAccessToken(token, authority, key, now + 3599_000)).toEqual({
      ok: false,
      reason: "the token has expired",
      expired: true,
    });
  });

  it("allows five minutes of clock skew on nbf, no more", () => {
    const token = issueAccessToken(principal, authority, key, now + 300_000);
    expect(verifyAccessToken(token, authority, key, now).ok).toBe(true);
    const later = issueAccessToken(principal, authority, key, now + 301_000);
    expect(verifyAccessToken(later, authority, key, now)).toMatchObject({
      ok: false,
      reason: "the token is not valid yet (nbf)",
    });
  });

  it("refuses a token of another tenant's issuer or signed with another key id", () => {
    const token = issueAccessToken(principal, authority, key, now);
    expect(
      verifyAccessToken(token, { ...authority, tokenIssuer: "https://hub.example/other/" }, key, now),
    ).toMatchObject({
      ok: false,
    });
    const other = ensureTokenSigningKey(mkdtempSync(join(tmpdir(), "iothub-local-tokens-")));
    expect(verifyAccessToken(token, authority, other, now)).toMatchObject({
      ok: false,
      reason: "the token was not signed with this hub's key (kid)",
    });
    // The other key under this key's id: the signature decides.
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const claims = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString()) as Record<
      string,
      unknown
    >;
    expect(verifyAccessToken(signJwt(claims, privateKey, key.keyId), authority, key, now)).toMatchObject({
      ok: false,
      reason: "the token's signature does not verify",
    });
  });

  it("refuses malformed tokens without decoding more than the limit", () => {
    const cases: Array<[string, string]> = [
      ["x".repeat(MAX_TOKEN_LENGTH + 1), `the token is over ${MAX_TOKEN_LENGTH} characters`],
      ["a.b", "the token is not a compact JWS (three base64url parts)"],
      ["a.b.c=", "the token is not a compact JWS (three base64url parts)"],
      ["a..c", "the token is not a compact JWS (three base64url parts)"],
      [`${Buffer.from("[1]").toString("base64url")}.b.c`, "the token's header does not say alg RS256"],
      [
        `${Buffer.from('{"alg":"HS256"}').toString("base64url")}.b.c`,
        "the token's header does not say alg RS256",
      ],
    ];
    for (const [token, reason] of cases) {
      expect(verifyJwtSignature(token, key.publicKey, key.keyId)).toEqual({ ok: false, reason });
    }
    const notJson = signJwt({}, key.privateKey, key.keyId).split(".");
    notJson[1] = Buffer.from("not json").toString("base64url");
    expect(verifyJwtSignature(notJson.join("."), key.publicKey, key.keyId)).toMatchObject({ ok: false });
  });
});
