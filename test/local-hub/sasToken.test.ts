import { createSasToken } from "../../lib/iothub/sas";
import {
  SAS_TOKEN_EXPIRED,
  verifySasToken,
  type SasTokenScope,
} from "../../local-hub/authentication/sasToken";

// The hub's one SAS verification, which both the service API and the MQTT side use: format, expiry, scope,
// signer and signature, each refusal with its reason (the hub logs it; clients only learn "unauthorized").

const KEY = Buffer.alloc(32, 1).toString("base64");
const OTHER_KEY = Buffer.alloc(32, 2).toString("base64");
const NOW_MS = Date.parse("2026-01-01T00:00:00Z");
const IN_AN_HOUR = NOW_MS / 1000 + 3600;

const scope: SasTokenScope<string> = {
  hostName: "hub.local",
  checkScope: (segments, resource) =>
    segments.join("/") === "devices/d1" ? undefined : `not for ${resource}`,
  signer: (token) =>
    token.skn === "ghost" ? { refusal: "no such signer" } : { signer: "d1", keys: [null, KEY] },
};

const verify = (token: string) => verifySasToken(token, scope, NOW_MS);

describe("SAS token verification", () => {
  it("accepts a token for the scope signed with any of the signer's keys, and tells its expiry", () => {
    expect(verify(createSasToken("hub.local/devices/d1", KEY, IN_AN_HOUR))).toEqual({
      ok: true,
      signer: "d1",
      expiresAtMs: IN_AN_HOUR * 1000,
      scope: ["devices", "d1"],
    });
  });

  it("compares the host case-insensitively and hands the caller the path segments, decoded once", () => {
    expect(verify(createSasToken("HUB.Local/devices/d1", KEY, IN_AN_HOUR))).toMatchObject({ ok: true });
    // %252F is decoded once to the text %2F: a segment of its own, never a slash.
    const scopes: string[][] = [];
    verifySasToken(
      createSasToken("hub.local/devices/a%2Fb", KEY, IN_AN_HOUR),
      {
        ...scope,
        checkScope: (segments) => {
          scopes.push([...segments]);
          return undefined;
        },
      },
      NOW_MS,
    );
    expect(scopes).toEqual([["devices", "a%2Fb"]]);
  });

  it("reads a bare host, with or without a trailing slash, as the whole hub (an empty scope)", () => {
    const whole: SasTokenScope<string> = { ...scope, checkScope: () => undefined };
    for (const resource of ["hub.local", "hub.local/"]) {
      expect(verifySasToken(createSasToken(resource, KEY, IN_AN_HOUR), whole, NOW_MS)).toMatchObject({
        ok: true,
        scope: [],
      });
    }
  });

  it.each([
    ["no SAS token", "Bearer abc", /not a SharedAccessSignature/],
    ["an expired token", createSasToken("hub.local/devices/d1", KEY, NOW_MS / 1000), /expired/],
    [
      "another resource",
      createSasToken("hub.local/devices/d2", KEY, IN_AN_HOUR),
      /not for hub.local\/devices\/d2/,
    ],
    ["an unknown signer", createSasToken("hub.local/devices/d1", KEY, IN_AN_HOUR, "ghost"), /no such signer/],
    [
      "another key",
      createSasToken("hub.local/devices/d1", OTHER_KEY, IN_AN_HOUR),
      /signature does not match/,
    ],
    ["another hub", createSasToken("other.local/devices/d1", KEY, IN_AN_HOUR), /not for 'hub.local'/],
    [
      "a host that only starts like this hub's",
      createSasToken("hub.local.evil/devices/d1", KEY, IN_AN_HOUR),
      /not for 'hub.local'/,
    ],
    ["a '..' segment", createSasToken("hub.local/devices/d1/..", KEY, IN_AN_HOUR), /'\.' or '\.\.'/],
    ["a '.' segment", createSasToken("hub.local/./devices/d1", KEY, IN_AN_HOUR), /'\.' or '\.\.'/],
    [
      "an encoded '..' segment",
      createSasToken("hub.local/devices/%2e%2e", KEY, IN_AN_HOUR).replace("%252e%252e", "%2e%2e"),
      /'\.' or '\.\.'/,
    ],
    ["an empty segment", createSasToken("hub.local//devices/d1", KEY, IN_AN_HOUR), /empty path segment/],
    [
      "se in exponent form",
      createSasToken("hub.local/devices/d1", KEY, IN_AN_HOUR).replace(/se=\d+/, "se=1.8e9"),
      /decimal se/,
    ],
    [
      "se in hexadecimal",
      createSasToken("hub.local/devices/d1", KEY, IN_AN_HOUR).replace(/se=\d+/, "se=0x6B49D200"),
      /decimal se/,
    ],
    [
      "se with a leading zero",
      createSasToken("hub.local/devices/d1", KEY, IN_AN_HOUR).replace(/se=(\d+)/, "se=0$1"),
      /decimal se/,
    ],
    [
      "se with a sign or spaces",
      createSasToken("hub.local/devices/d1", KEY, IN_AN_HOUR).replace(/se=(\d+)/, "se=+$1"),
      /decimal se/,
    ],
    [
      "a field given twice",
      `${createSasToken("hub.local/devices/d1", KEY, IN_AN_HOUR)}&sr=hub.local%2Fdevices%2Fd2`,
      /each once/,
    ],
    [
      "a badly encoded resource",
      `SharedAccessSignature sr=%E0%A4%A&sig=abc&se=${IN_AN_HOUR}`,
      /not URL-encoded/,
    ],
  ])("refuses %s with its reason", (_case, token, reason) => {
    const verdict = verify(token);
    expect(verdict.ok).toBe(false);
    expect(verdict.ok ? "" : verdict.reason).toMatch(reason);
  });

  it("marks only expiry as expired (the one reason IoT Hub tells the caller)", () => {
    const expired = verify(createSasToken("hub.local/devices/d1", KEY, NOW_MS / 1000 - 1));
    expect(expired).toEqual({ ok: false, reason: SAS_TOKEN_EXPIRED, expired: true });
    expect(verify(createSasToken("hub.local/devices/d1", OTHER_KEY, IN_AN_HOUR))).toMatchObject({
      expired: false,
    });
  });

  it("checks the signature over sr as sent, so a differently encoded resource does not verify", () => {
    const token = createSasToken("hub.local/devices/d1", KEY, IN_AN_HOUR);
    // The same resource, encoded differently: the scope accepts it, the signature (over the original text) does not.
    const reencoded = token.replace("hub.local%2Fdevices%2Fd1", "hub.local/devices/d1");
    expect(reencoded).not.toBe(token);
    expect(verify(reencoded)).toMatchObject({ ok: false, reason: expect.stringMatching(/signature/) });
  });
});
