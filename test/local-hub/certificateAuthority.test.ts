import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer, connect, type TLSSocket } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import forge from "node-forge";
import { randomSerial } from "../../local-hub/tls/certificateAuthority";
import { HUB_CLI, hubStartArgs, PROJECT_ROOT, runCli } from "../support/hubProcess";

/**
 * The CA a user trusts may vouch for the local hub only: no intermediate CAs (pathLen 0), and names limited to
 * localhost, loopback addresses and the hub's own --host/--hostname.
 */

const loopback = (): string => `127.0.0.${2 + Math.floor(Math.random() * 252)}`;

/** A certificate for `dnsName` signed by the CA of `stateDir` (what someone holding ca-key.pem could make). */
function leafSignedBy(stateDir: string, dnsName: string, ip: string): { cert: string; key: string } {
  const caCert = forge.pki.certificateFromPem(readFileSync(join(stateDir, "ca.pem"), "utf8"));
  const caKey = forge.pki.privateKeyFromPem(readFileSync(join(stateDir, "ca-key.pem"), "utf8"));
  const keys = forge.pki.rsa.generateKeyPair(2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = "01";
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 3_600_000);
  cert.setSubject([{ name: "commonName", value: dnsName }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    {
      name: "subjectAltName",
      altNames: [
        { type: 2, value: dnsName },
        { type: 7, ip },
      ],
    },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: forge.pki.privateKeyToPem(keys.privateKey) };
}

/** Resolves with the error of a TLS handshake trusting only `ca`, or undefined when it succeeded. */
function handshake(host: string, port: number, servername: string, ca: string): Promise<Error | undefined> {
  return new Promise((resolve) => {
    const socket: TLSSocket = connect({ host, port, servername, ca }, () => {
      socket.end();
      resolve(undefined);
    });
    socket.once("error", resolve);
  });
}

describe("certificate serial numbers", () => {
  it("are positive DER integers in minimal form, 16 bytes, all different", () => {
    const serials = Array.from({ length: 10_000 }, randomSerial);
    for (const serial of serials) {
      expect(serial).toMatch(/^[0-9a-f]{32}$/);
      const first = parseInt(serial.slice(0, 2), 16);
      // Positive (top bit clear) and no leading 0x00 byte, which DER forbids before a byte below 0x80: OpenSSL
      // refused some CAs so made ("asn1 encoding routines::illegal padding", 5 in 3,000 when serials had one).
      expect(first & 0x80).toBe(0);
      expect(first).not.toBe(0);
    }
    expect(new Set(serials).size).toBe(serials.length);
  });
});

describe("the local hub's CA", () => {
  it("has pathLen 0 and nameConstraints: localhost, 127.0.0.0/8, ::1", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "iothub-local-ca-constraints-"));
    expect(await runCli(["ca", "--state", stateDir])).toMatchObject({ code: 0 });
    const ca = forge.pki.certificateFromPem(readFileSync(join(stateDir, "ca.pem"), "utf8"));
    expect(ca.getExtension("basicConstraints")).toMatchObject({
      cA: true,
      pathLenConstraint: 0,
      critical: true,
    });
    const constraints = ca.getExtension("nameConstraints") as {
      critical: boolean;
      permittedSubtrees: Array<{ type: number; value: string }>;
    };
    expect(constraints.critical).toBe(true);
    const hex = (bytes: string): string => forge.util.bytesToHex(bytes);
    expect(
      constraints.permittedSubtrees.map((tree) => [
        tree.type,
        tree.type === 7 ? hex(tree.value) : tree.value,
      ]),
    ).toEqual([
      [2, "localhost"],
      [7, "7f000000ff000000"],
      [7, "00000000000000000000000000000001ffffffffffffffffffffffffffffffff"],
    ]);
  });

  it("vouches for the hub's --hostname, refuses any other name, and start refuses a hostname outside it", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "iothub-local-ca-hostname-"));
    const host = loopback();
    const child = spawn(
      process.execPath,
      [HUB_CLI, ...hubStartArgs(stateDir, host), "--hostname", "hub.test", "--https-port", "0"],
      {
        cwd: PROJECT_ROOT,
        env: { ...process.env, IOTHUB_LOCAL_EXIT_WITH_STDIN: "1" },
        stdio: ["pipe", "pipe", "pipe"],
      },
    );
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    let output = "";
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    // The ready line names the HTTPS port (hub.json is written just after it).
    const httpsPort = await new Promise<number>((resolve, reject) => {
      createInterface({ input: child.stdout }).on("line", (line) => {
        output += `${line}\n`;
        const ready = /\bready: https:\/\/[^:]+:(\d+)/.exec(line);
        if (ready) resolve(Number(ready[1]));
      });
      void exited.then(() => reject(new Error(`the hub exited:\n${output}`)));
    });
    try {
      const ca = readFileSync(join(stateDir, "ca.pem"), "utf8");
      expect(await handshake(host, httpsPort, "hub.test", ca)).toBeUndefined();

      // A certificate for another name, signed with the same CA key, is refused by the client's own check.
      const evil = leafSignedBy(stateDir, "login.example.com", host);
      const server = createServer(evil, (socket) => socket.end());
      await new Promise<void>((resolve) => server.listen(0, host, resolve));
      try {
        const port = (server.address() as { port: number }).port;
        const error = await handshake(host, port, "login.example.com", ca);
        expect(error?.message).toMatch(/subtree violation/i);
      } finally {
        server.close();
      }
    } finally {
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    }

    const other = await runCli([
      ...hubStartArgs(stateDir, host),
      "--hostname",
      "other.test",
      "--https-port",
      "0",
    ]);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/may only vouch for the names it was made for, not other\.test/);
  });
});
