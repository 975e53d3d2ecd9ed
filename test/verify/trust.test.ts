import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InputError } from "../../verify/inputError";
import { REEXEC_MARKER, resolveTrust } from "../../verify/trust";

const directory = mkdtempSync(join(tmpdir(), "verify-trust-"));
const pem = (name: string) => `-----BEGIN CERTIFICATE-----\n${name}\n-----END CERTIFICATE-----\n`;
const caA = join(directory, "a.pem");
const caB = join(directory, "b.pem");
writeFileSync(caA, pem("A"));
writeFileSync(caB, pem("B"));

describe("resolveTrust", () => {
  it("uses the system CAs plus NODE_EXTRA_CA_CERTS when no CA is given, without re-running", () => {
    expect(resolveTrust(undefined, undefined, {})).toEqual({ description: "the system's CAs" });
    expect(resolveTrust(undefined, undefined, { NODE_EXTRA_CA_CERTS: caA })).toEqual({
      caPem: pem("A"),
      description: `NODE_EXTRA_CA_CERTS=${caA}`,
    });
  });

  it("re-runs with NODE_EXTRA_CA_CERTS when a CA from --ca or caFile is not in the environment", () => {
    expect(resolveTrust(caA, undefined, {})).toMatchObject({ caPem: pem("A"), reexecWith: caA });
    expect(resolveTrust(undefined, caB, {})).toMatchObject({ caPem: pem("B"), reexecWith: caB });
    // --ca wins over the outputs' caFile.
    expect(resolveTrust(caA, caB, {})).toMatchObject({ caPem: pem("A"), reexecWith: caA });
  });

  it("does not re-run when the environment already names the CA, nor a second time", () => {
    expect(resolveTrust(caA, undefined, { NODE_EXTRA_CA_CERTS: caA }).reexecWith).toBeUndefined();
    expect(resolveTrust(caA, undefined, { [REEXEC_MARKER]: "1" }).reexecWith).toBeUndefined();
  });

  it("does not re-run when NODE_EXTRA_CA_CERTS names a copy of the CA", () => {
    const copy = join(directory, "copy.pem");
    writeFileSync(copy, pem("A"));
    expect(resolveTrust(undefined, caA, { NODE_EXTRA_CA_CERTS: copy })).toEqual({
      caPem: pem("A"),
      description: `caFile ${caA}`,
    });
  });

  it("keeps an unrelated NODE_EXTRA_CA_CERTS by bundling both CAs", () => {
    const trust = resolveTrust(caA, undefined, { NODE_EXTRA_CA_CERTS: caB });
    expect(trust.caPem).toContain("A");
    expect(trust.caPem).toContain("B");
    expect(readFileSync(trust.reexecWith!, "utf8")).toBe(trust.caPem);
  });

  it("rejects a CA file that is missing or not PEM, naming the flag", () => {
    expect(() => resolveTrust(join(directory, "none.pem"), undefined, {})).toThrow(InputError);
    expect(() => resolveTrust(join(directory, "none.pem"), undefined, {})).toThrow(
      /--ca .*none.pem: cannot read it \(no such file\)/,
    );
    const notPem = join(directory, "x.txt");
    writeFileSync(notPem, "hello");
    expect(() => resolveTrust(undefined, notPem, {})).toThrow(/caFile .*x.txt: is not a PEM certificate/);
  });
});
