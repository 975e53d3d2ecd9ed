import { createHash, generateKeyPairSync } from "node:crypto";
import { Registry } from "azure-iothub";
import forge from "node-forge";
import { startHub, type TestHub } from "../support/hubProcess";
import { openDeviceClientWithCertificate } from "./mqttSupport";

/** IoT Hub refuses an X.509 client certificate outside its validity period, even when its thumbprint is registered. */

let hub: TestHub;
let registry: Registry;

beforeAll(async () => {
  hub = await startHub();
  registry = Registry.fromConnectionString(hub.info.connectionString);
});

afterAll(async () => {
  await hub?.stop();
});

const DAY_MS = 24 * 3600_000;

/** A self-signed certificate (node-forge) valid from `notBefore` to `notAfter`, with its SHA-1 thumbprint. */
function certificateValid(notBefore: Date, notAfter: Date): { cert: string; key: string; sha1: string } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const certificate = forge.pki.createCertificate();
  certificate.publicKey = forge.pki.publicKeyFromPem(
    publicKey.export({ type: "spki", format: "pem" }).toString(),
  );
  certificate.serialNumber = "01";
  certificate.validity.notBefore = notBefore;
  certificate.validity.notAfter = notAfter;
  const attributes = [{ name: "commonName", value: "validity-dev" }];
  certificate.setSubject(attributes);
  certificate.setIssuer(attributes);
  const keyPem = privateKey.export({ type: "pkcs1", format: "pem" }).toString();
  certificate.sign(forge.pki.privateKeyFromPem(keyPem), forge.md.sha256.create());
  const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(certificate)).getBytes(), "binary");
  return {
    cert: forge.pki.certificateToPem(certificate),
    key: keyPem,
    sha1: createHash("sha1").update(der).digest("hex").toUpperCase(),
  };
}

async function registerDevice(deviceId: string, thumbprint: string): Promise<void> {
  await registry.create({
    deviceId,
    authentication: { type: "selfSigned", x509Thumbprint: { primaryThumbprint: thumbprint } },
  });
}

describe("X.509 client certificate validity", () => {
  it("connects with a registered certificate inside its validity period", async () => {
    const current = certificateValid(new Date(Date.now() - DAY_MS), new Date(Date.now() + DAY_MS));
    await registerDevice("valid-cert", current.sha1);
    const client = await openDeviceClientWithCertificate(hub.info, "valid-cert", current);
    await client.close();
  });

  it("refuses (not authorized) a registered certificate whose notAfter is past", async () => {
    const expired = certificateValid(new Date(Date.now() - 2 * DAY_MS), new Date(Date.now() - DAY_MS));
    const logged = hub.waitForOutput(/mqtt: refused expired-cert: the client certificate has expired/);
    await registerDevice("expired-cert", expired.sha1);
    await expect(openDeviceClientWithCertificate(hub.info, "expired-cert", expired)).rejects.toMatchObject({
      name: "UnauthorizedError",
    });
    await logged; // the refusal is for this reason, not another
  });

  it("refuses (not authorized) a registered certificate whose notBefore is in the future", async () => {
    const early = certificateValid(new Date(Date.now() + DAY_MS), new Date(Date.now() + 2 * DAY_MS));
    const logged = hub.waitForOutput(/mqtt: refused future-cert: the client certificate is not valid yet/);
    await registerDevice("future-cert", early.sha1);
    await expect(openDeviceClientWithCertificate(hub.info, "future-cert", early)).rejects.toMatchObject({
      name: "UnauthorizedError",
    });
    await logged; // the refusal is for this reason, not another
  });
});
