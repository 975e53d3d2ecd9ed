import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureCertificateAuthority } from "../../local-hub/tls";
import { InputError } from "../../verify/inputError";
import { resolveTrust } from "../../verify/trust";

const directory = mkdtempSync(join(tmpdir(), "verify-trust-"));
/** A real CA certificate (the hub's own kind) in a state dir of its own; returns its ca.pem path and PEM. */
function makeCa(name: string): { file: string; pem: string } {
  const stateDir = join(directory, name);
  mkdirSync(stateDir);
  const ca = ensureCertificateAuthority(stateDir);
  return { file: ca.file, pem: ca.certificatePem };
}
const caA = makeCa("a");
const caB = makeCa("b");

describe("resolveTrust", () => {
  it("uses the system CAs plus NODE_EXTRA_CA_CERTS when no CA is given", () => {
    expect(resolveTrust(undefined, undefined, {})).toEqual({ description: "the system's CAs" });
    expect(resolveTrust(undefined, undefined, { NODE_EXTRA_CA_CERTS: caA.file })).toEqual({
      caPem: caA.pem,
      description: `NODE_EXTRA_CA_CERTS=${caA.file}`,
    });
  });

  it("trusts the CA from --ca, else from the outputs' caFile, without needing NODE_EXTRA_CA_CERTS", () => {
    expect(resolveTrust(caA.file, undefined, {})).toEqual({
      caPem: caA.pem,
      description: `--ca ${caA.file}`,
    });
    expect(resolveTrust(undefined, caB.file, {})).toEqual({
      caPem: caB.pem,
      description: `caFile ${caB.file}`,
    });
    // --ca wins over the outputs' caFile.
    expect(resolveTrust(caA.file, caB.file, {})).toEqual({ caPem: caA.pem, description: `--ca ${caA.file}` });
  });

  it("names only the CA when NODE_EXTRA_CA_CERTS names it or a copy of it", () => {
    expect(resolveTrust(caA.file, undefined, { NODE_EXTRA_CA_CERTS: caA.file })).toEqual({
      caPem: caA.pem,
      description: `--ca ${caA.file}`,
    });
    const copy = join(directory, "copy.pem");
    writeFileSync(copy, caA.pem);
    expect(resolveTrust(undefined, caA.file, { NODE_EXTRA_CA_CERTS: copy })).toEqual({
      caPem: caA.pem,
      description: `caFile ${caA.file}`,
    });
  });

  it("keeps an unrelated NODE_EXTRA_CA_CERTS by trusting both CAs", () => {
    const trust = resolveTrust(caA.file, undefined, { NODE_EXTRA_CA_CERTS: caB.file });
    expect(trust.caPem).toBe(`${caA.pem.trim()}\n${caB.pem.trim()}\n`);
    expect(trust.description).toBe(`--ca ${caA.file} and NODE_EXTRA_CA_CERTS=${caB.file}`);
  });

  it("rejects a CA file that is missing, not PEM, or holds an unreadable certificate, naming the flag", () => {
    const missing = join(directory, "none.pem");
    expect(() => resolveTrust(missing, undefined, {})).toThrow(InputError);
    expect(() => resolveTrust(missing, undefined, {})).toThrow(
      `--ca ${missing}: cannot read it (no such file)`,
    );
    const notPem = join(directory, "x.txt");
    writeFileSync(notPem, "hello");
    expect(() => resolveTrust(undefined, notPem, {})).toThrow(
      `caFile ${notPem}: must be a PEM certificate (-----BEGIN CERTIFICATE-----)`,
    );
    const garbled = join(directory, "garbled.pem");
    writeFileSync(garbled, `${caA.pem}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n`);
    expect(() => resolveTrust(garbled, undefined, {})).toThrow(
      new RegExp(`^--ca ${garbled}: certificate 2 of 2 is not a readable X.509 certificate \\(`),
    );
  });
});
