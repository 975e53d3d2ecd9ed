import { useSuiteHub } from "../support/suiteHub";
import { openDeviceClientWithCertificate, selfSignedCertificate } from "./mqttSupport";

/** IoT Hub refuses an X.509 client certificate outside its validity period, even when its thumbprint is registered. */

const suite = useSuiteHub();

const DAY_MS = 24 * 3600_000;

/** A self-signed certificate valid from `notBefore` to `notAfter`, with its SHA-1 thumbprint. */
const certificateValid = (notBefore: Date, notAfter: Date): { cert: string; key: string; sha1: string } =>
  selfSignedCertificate("validity-dev", { notBefore, notAfter });

async function registerDevice(deviceId: string, thumbprint: string): Promise<void> {
  await suite.registry.create({
    deviceId,
    authentication: { type: "selfSigned", x509Thumbprint: { primaryThumbprint: thumbprint } },
  });
}

describe("X.509 client certificate validity", () => {
  it("connects with a registered certificate inside its validity period", async () => {
    const current = certificateValid(new Date(Date.now() - DAY_MS), new Date(Date.now() + DAY_MS));
    await registerDevice("valid-cert", current.sha1);
    const client = await openDeviceClientWithCertificate(suite.hub.info, "valid-cert", current);
    await client.close();
  });

  it("refuses (not authorized) a registered certificate whose notAfter is past", async () => {
    const expired = certificateValid(new Date(Date.now() - 2 * DAY_MS), new Date(Date.now() - DAY_MS));
    const logged = suite.hub.waitForOutput(/mqtt: refused expired-cert: the client certificate has expired/);
    await registerDevice("expired-cert", expired.sha1);
    await expect(
      openDeviceClientWithCertificate(suite.hub.info, "expired-cert", expired),
    ).rejects.toMatchObject({
      name: "UnauthorizedError",
    });
    await logged; // the refusal is for this reason, not another
  });

  it("refuses (not authorized) a registered certificate whose notBefore is in the future", async () => {
    const early = certificateValid(new Date(Date.now() + DAY_MS), new Date(Date.now() + 2 * DAY_MS));
    const logged = suite.hub.waitForOutput(
      /mqtt: refused future-cert: the client certificate is not valid yet/,
    );
    await registerDevice("future-cert", early.sha1);
    await expect(openDeviceClientWithCertificate(suite.hub.info, "future-cert", early)).rejects.toMatchObject(
      {
        name: "UnauthorizedError",
      },
    );
    await logged; // the refusal is for this reason, not another
  });
});
