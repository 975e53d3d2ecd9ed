import { X509Certificate } from "node:crypto";
import {
  chainLeadsTo,
  commonNameOf,
  MAX_CHAIN_CERTIFICATES,
} from "../../local-hub/dpsDevice/certificateChain";
import {
  issueCertificate,
  selfSignedCertificate,
  testCertificateAuthority,
  type TestCertificate,
} from "../support/testCertificates";

// Whether a device's chain leads to an enrollment group's signing certificate: signatures, CA flags, validity.

const DAY_MS = 24 * 3600_000;
const x509 = (certificate: TestCertificate): X509Certificate => new X509Certificate(certificate.cert);
const now = new Date();
const root = testCertificateAuthority("root");
const intermediate = issueCertificate(root, "intermediate", { ca: true });
const leaf = issueCertificate(intermediate, "device-1");

describe("chainLeadsTo", () => {
  it("counts the links from the leaf to the signing certificate", () => {
    expect(chainLeadsTo([x509(leaf)], x509(intermediate), now)).toEqual({ ok: true, links: 1 });
    expect(chainLeadsTo([x509(leaf), x509(intermediate)], x509(root), now)).toEqual({ ok: true, links: 2 });
    // A chain that also carries the signing certificate itself ends where that one signed.
    expect(chainLeadsTo([x509(leaf), x509(intermediate), x509(root)], x509(root), now)).toEqual({
      ok: true,
      links: 2,
    });
  });

  it("leads nowhere without the intermediate, from another CA with the same name, or past a certificate that is no CA", () => {
    const nowhere = { ok: false, reason: "the certificate chain does not lead to the signing certificate" };
    expect(chainLeadsTo([x509(leaf)], x509(root), now)).toEqual(nowhere);
    expect(chainLeadsTo([x509(leaf)], x509(testCertificateAuthority("intermediate")), now)).toEqual(nowhere);
    const notCa = issueCertificate(intermediate, "device-2");
    const below = issueCertificate(notCa, "device-3");
    expect(chainLeadsTo([x509(below), x509(notCa)], x509(intermediate), now)).toEqual(nowhere);
    expect(chainLeadsTo([], x509(root), now)).toEqual(nowhere);
  });

  it("refuses a signing certificate that is no CA even when it signed the leaf", () => {
    const device = selfSignedCertificate("device-4");
    expect(chainLeadsTo([x509(device)], x509(device), now)).toEqual({
      ok: false,
      reason: "the signing certificate is not a CA certificate",
    });
  });

  it("refuses expired or not yet valid certificates on the path, naming which", () => {
    const past = { notBefore: new Date(Date.now() - 2 * DAY_MS), notAfter: new Date(Date.now() - DAY_MS) };
    const expired = issueCertificate(intermediate, "device-5", { validity: past });
    expect(chainLeadsTo([x509(expired)], x509(intermediate), now)).toEqual({
      ok: false,
      reason: "the device certificate is outside its validity period",
    });
    const oldIntermediate = issueCertificate(root, "old", { ca: true, validity: past });
    const under = issueCertificate(oldIntermediate, "device-6");
    expect(chainLeadsTo([x509(under), x509(oldIntermediate)], x509(root), now)).toEqual({
      ok: false,
      reason: "certificate 1 of the chain is outside its validity period",
    });
    const future = { notBefore: new Date(Date.now() + DAY_MS), notAfter: new Date(Date.now() + 2 * DAY_MS) };
    const notYet = testCertificateAuthority("future", future);
    expect(chainLeadsTo([x509(issueCertificate(notYet, "device-7"))], x509(notYet), now)).toEqual({
      ok: false,
      reason: "the signing certificate is outside its validity period",
    });
  });

  it(`follows at most ${MAX_CHAIN_CERTIFICATES} certificates of a presented chain`, () => {
    const cas = [root];
    for (let level = 1; level <= MAX_CHAIN_CERTIFICATES; level++) {
      cas.push(issueCertificate(cas[cas.length - 1], `level-${level}`, { ca: true }));
    }
    const deep = issueCertificate(cas[cas.length - 1], "deep-device");
    const chain = [deep, ...cas.slice(1).reverse()].map(x509);
    expect(chainLeadsTo(chain, x509(cas[cas.length - 2]), now)).toEqual({ ok: true, links: 2 });
    expect(chainLeadsTo(chain, x509(root), now).ok).toBe(false);
  });
});

describe("commonNameOf", () => {
  it("reads the subject's one CN", () => {
    expect(commonNameOf(x509(leaf))).toBe("device-1");
  });

  it("does not let a CN that holds a line break fake another CN", () => {
    const tricky = selfSignedCertificate("a\nCN=device-1");
    expect(commonNameOf(x509(tricky))).not.toBe("device-1");
  });
});
