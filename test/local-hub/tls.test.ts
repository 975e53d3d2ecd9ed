import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { ensureCertificateAuthority, ensureServerCertificate, serverNames } from "../../local-hub/tls";
import { runCli, SUITE_CA_DIR } from "../support/hubProcess";
import { useSuiteHub } from "../support/suiteHub";

const fileMode = (file: string): number => statSync(file).mode & 0o777;

/** The subject alternative names of a PEM certificate, as `DNS:x` / `IP Address:y`. */
const altNames = (pem: string): string[] =>
  (new X509Certificate(pem).subjectAltName ?? "").split(", ").sort();

describe("the hub's TLS material", () => {
  const suite = useSuiteHub();

  it("serves a certificate signed by the state dir's CA, valid for localhost, 127.0.0.1, ::1 and its address", async () => {
    const ca = readFileSync(suite.hub.info.caFile, "utf8");
    const peer = await new Promise<string>((resolve, reject) => {
      // Trust only this hub's CA (not the system's): the handshake itself proves the chain.
      const socket = connect({ host: suite.hub.host, port: 443, servername: "localhost", ca }, () => {
        const der = socket.getPeerCertificate().raw;
        socket.end();
        resolve(new X509Certificate(der).toString());
      });
      socket.once("error", reject);
    });
    expect(altNames(peer)).toEqual(
      [
        "DNS:localhost",
        "IP Address:127.0.0.1",
        "IP Address:0:0:0:0:0:0:0:1",
        `IP Address:${suite.hub.host}`,
      ].sort(),
    );
    expect(new X509Certificate(peer).checkIssued(new X509Certificate(ca))).toBe(true);
  });

  it("uses the CA it was seeded with, and keeps key files readable by their owner only", () => {
    expect(readFileSync(suite.hub.info.caFile, "utf8")).toBe(
      readFileSync(join(SUITE_CA_DIR, "ca.pem"), "utf8"),
    );
    expect(suite.hub.info.caFile).toBe(join(suite.hub.stateDir, "ca.pem"));
    expect(fileMode(join(suite.hub.stateDir, "server-key.pem"))).toBe(0o600);
    expect(fileMode(join(suite.hub.stateDir, "hub.json"))).toBe(0o600);
  });

  it("`iothub-local ca` makes a CA once (key 0600) and prints the same path on every later run", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "iothub-local-ca-"));
    const first = await runCli(["ca", "--state", stateDir]);
    expect(first).toMatchObject({ code: 0, stdout: `${join(stateDir, "ca.pem")}\n` });
    const pem = readFileSync(join(stateDir, "ca.pem"), "utf8");
    expect(new X509Certificate(pem).ca).toBe(true);
    expect(fileMode(join(stateDir, "ca-key.pem"))).toBe(0o600);
    expect(await runCli(["ca", "--state", stateDir])).toMatchObject({ code: 0, stdout: first.stdout });
    expect(readFileSync(join(stateDir, "ca.pem"), "utf8")).toBe(pem);
  });
});

describe("server certificate renewal", () => {
  const stateDir = mkdtempSync(join(tmpdir(), "iothub-local-cert-"));

  it("is reused while the names stay the same, and remade (same CA) when they change", () => {
    const ca = ensureCertificateAuthority(stateDir);
    const first = ensureServerCertificate(stateDir, ca, serverNames(["127.0.0.7"]));
    expect(ensureServerCertificate(stateDir, ca, serverNames(["127.0.0.7"]))).toEqual(first);

    const renamed = ensureServerCertificate(stateDir, ca, serverNames(["127.0.0.7", "hub.example"]));
    expect(renamed.certificatePem).not.toBe(first.certificatePem);
    expect(altNames(renamed.certificatePem)).toContain("DNS:hub.example");
    expect(ensureCertificateAuthority(stateDir)).toEqual(ca);
  });

  it("is remade when the state dir's CA is not the one that signed it", () => {
    const ca = ensureCertificateAuthority(stateDir);
    const current = ensureServerCertificate(stateDir, ca, serverNames([]));
    const otherCa = ensureCertificateAuthority(mkdtempSync(join(tmpdir(), "iothub-local-other-ca-")));
    const remade = ensureServerCertificate(stateDir, otherCa, serverNames([]));
    expect(remade.certificatePem).not.toBe(current.certificatePem);
    expect(
      new X509Certificate(remade.certificatePem).checkIssued(new X509Certificate(otherCa.certificatePem)),
    ).toBe(true);
  });
});
