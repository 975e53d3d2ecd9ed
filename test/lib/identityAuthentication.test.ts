import {
  checkAuthenticationMechanism,
  credentialsChanged,
  registeredAuthentication,
} from "../../lib/iothub/identityAuthentication";

// The `authentication` of a registry body: IoT Hub's rules (what the hub answers 400 for) and how the hub fills in
// what a client left out.

const KEY_A = Buffer.alloc(32, 1).toString("base64");
const KEY_B = Buffer.alloc(32, 2).toString("base64");
const SHA1 = "AB".repeat(20);

describe("identity authentication rules", () => {
  it("accepts no authentication, SAS with both keys or none, selfSigned with one thumbprint, and the CA type", () => {
    for (const valid of [
      undefined,
      null,
      {},
      { type: "sas" },
      { type: "sas", symmetricKey: { primaryKey: KEY_A, secondaryKey: KEY_B } },
      { type: "selfSigned", x509Thumbprint: { primaryThumbprint: SHA1 } },
      { type: "selfSigned", x509Thumbprint: { secondaryThumbprint: "cd".repeat(32) } },
      { type: "certificateAuthority" },
      { type: "none" },
    ]) {
      expect(checkAuthenticationMechanism(valid)).toEqual([]);
    }
  });

  it.each([
    ["a non-object", "sas", "authentication: must be an object"],
    ["an unknown type", { type: "password" }, "authentication.type: must be one of sas, selfSigned"],
    [
      "one key only",
      { symmetricKey: { primaryKey: KEY_A } },
      "authentication.symmetricKey.secondaryKey: both keys must be given, or neither",
    ],
    [
      "a short key",
      { symmetricKey: { primaryKey: "c2hvcnQ=", secondaryKey: KEY_B } },
      "authentication.symmetricKey.primaryKey: must decode to 16-64 bytes (it decodes to 5)",
    ],
    [
      "selfSigned without thumbprints",
      { type: "selfSigned" },
      "authentication.x509Thumbprint.primaryThumbprint: a selfSigned identity needs at least one thumbprint",
    ],
    [
      "a malformed thumbprint",
      { type: "selfSigned", x509Thumbprint: { primaryThumbprint: "xyz" } },
      "authentication.x509Thumbprint.primaryThumbprint: must be 40 hex digits (SHA-1) or 64 hex digits (SHA-256)",
    ],
  ])("refuses %s, naming the field and the rule", (_case, value, expected) => {
    const described = checkAuthenticationMechanism(value).map((v) => `${v.field}: ${v.rule}`);
    expect(described.join("; ")).toContain(expected);
  });

  it("registers SAS without keys with two new 32-byte keys, and nulls the slots a type does not use", () => {
    const generated = registeredAuthentication(undefined);
    expect(generated.type).toBe("sas");
    expect(Buffer.from(generated.symmetricKey.primaryKey!, "base64")).toHaveLength(32);
    expect(generated.symmetricKey.secondaryKey).not.toBe(generated.symmetricKey.primaryKey);
    expect(generated.x509Thumbprint).toEqual({ primaryThumbprint: null, secondaryThumbprint: null });
    expect(
      registeredAuthentication({ type: "sas", symmetricKey: { primaryKey: KEY_A, secondaryKey: KEY_B } }),
    ).toEqual({
      type: "sas",
      symmetricKey: { primaryKey: KEY_A, secondaryKey: KEY_B },
      x509Thumbprint: { primaryThumbprint: null, secondaryThumbprint: null },
    });
    expect(
      registeredAuthentication({ type: "selfSigned", x509Thumbprint: { primaryThumbprint: SHA1 } }),
    ).toEqual({
      type: "selfSigned",
      symmetricKey: { primaryKey: null, secondaryKey: null },
      x509Thumbprint: { primaryThumbprint: SHA1, secondaryThumbprint: null },
    });
  });

  it("tells when credentials changed: type, either key or either thumbprint", () => {
    const sas = registeredAuthentication({ symmetricKey: { primaryKey: KEY_A, secondaryKey: KEY_B } });
    expect(credentialsChanged(sas, { ...sas })).toBe(false);
    expect(
      credentialsChanged(sas, { ...sas, symmetricKey: { primaryKey: KEY_A, secondaryKey: KEY_A } }),
    ).toBe(true);
    expect(credentialsChanged(sas, { ...sas, type: "certificateAuthority" })).toBe(true);
  });
});
