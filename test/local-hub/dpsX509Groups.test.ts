import { readFileSync } from "node:fs";
import type { ProvisioningServiceClient } from "azure-iot-provisioning-service";
import type { EnrollmentGroup } from "azure-iot-provisioning-service/dist/interfaces";
import type { RegistrationResult } from "azure-iot-provisioning-device/dist/interfaces";
import { registerDevice } from "../../lib/dps/deviceClient";
import { dpsServiceClient } from "../../lib/dps/serviceClient";
import { deviceExists, useSuiteHub } from "../support/suiteHub";
import { rejection } from "./dpsSupport";
import {
  issueCertificate,
  selfSignedCertificate,
  testCertificateAuthority,
  withChain,
  type TestCertificate,
} from "../support/testCertificates";
import { openDeviceClientWithCertificate } from "./mqttSupport";

// X.509 CA attestation of DPS enrollment groups, end to end in the local DPS: the group holds a CA (root or
// intermediate) as its signing certificate; a device whose certificate that CA signed (directly, or through the
// intermediates it presents) registers with DPS's real device SDK (azure-iot-provisioning-device-mqtt, an
// X509SecurityClient handing over its certificate), under its certificate's CN, then connects to the hub with the
// same certificate (azure-iot-device) and reads its initial twin. Everything else is refused before anything is
// written.

const suite = useSuiteHub({ dps: true });

const DAY_MS = 24 * 3600_000;
const root = testCertificateAuthority("fleet-root");
const intermediate = issueCertificate(root, "fleet-intermediate", { ca: true });
const otherRoot = testCertificateAuthority("other-root");

const dps = (): ProvisioningServiceClient =>
  dpsServiceClient(suite.hub.info.dps!.connectionString, readFileSync(suite.hub.info.caFile, "utf8"));

const register = (
  registrationId: string,
  device: { cert: string; key: string },
): Promise<RegistrationResult> =>
  registerDevice({
    provisioningHost: `${suite.hub.info.dps!.host}:${suite.hub.info.dps!.mqttPort}`,
    idScope: suite.hub.info.dps!.idScope,
    registrationId,
    certificate: device,
    caCertificate: readFileSync(suite.hub.info.caFile, "utf8"),
  });

const twinOf = (site: string) => ({ tags: { site }, properties: { desired: { site, interval: 5 } } });

async function putGroup(
  id: string,
  signing: TestCertificate,
  extra: Record<string, unknown> = {},
): Promise<EnrollmentGroup> {
  return (
    await dps().createOrUpdateEnrollmentGroup({
      enrollmentGroupId: id,
      attestation: {
        type: "x509",
        x509: { signingCertificates: { primary: { certificate: signing.cert } } },
      },
      provisioningStatus: "enabled",
      initialTwin: twinOf(id),
      ...extra,
    } as unknown as EnrollmentGroup)
  ).responseBody;
}

/** A refused service call's status and DPS error body. */
async function serviceFailure(call: Promise<unknown>): Promise<{ status: number; message: string }> {
  const failed = (await rejection(call)) as Error & {
    response?: { statusCode: number };
    responseBody?: string;
  };
  const body = JSON.parse(failed.responseBody ?? "{}") as { message: string };
  return { status: failed.response?.statusCode ?? 0, message: body.message };
}

/** The registration ids DPS lists under a group. */
async function registrationsOf(groupId: string): Promise<string[]> {
  const query = dps().createEnrollmentGroupDeviceRegistrationStateQuery({ query: "*" }, groupId);
  // The SDK's answer is the page as DPS sends it: a JSON array (docs/field-notes.md, DPS's service SDK).
  const page = (await query.next()).responseBody as unknown as Array<{ registrationId: string }>;
  return page.map((state) => state.registrationId).sort();
}

describe("X.509 enrollment groups: the service API", () => {
  it("takes a CA as signing certificate and answers with DPS's certificate info, never the certificate", async () => {
    const created = await putGroup("info-group", root);
    const info = created.attestation.x509!.signingCertificates!.primary.info!;
    expect(info).toEqual({
      subjectName: "CN=fleet-root",
      sha1Thumbprint: root.sha1,
      sha256Thumbprint: root.sha256,
      issuerName: "CN=fleet-root",
      notBeforeUtc: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      notAfterUtc: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      serialNumber: expect.stringMatching(/^[0-9A-F]+$/),
      version: 3,
    });
    const read = (await dps().getEnrollmentGroup("info-group")).responseBody;
    expect(read.attestation.x509!.signingCertificates!.primary).toEqual({ info });
    await dps().deleteEnrollmentGroup("info-group");
  });

  it("refuses with 400 naming the field: garbage, a device's leaf as CA, a chain, a private key, oversized", async () => {
    const field = "attestation.x509.signingCertificates.primary.certificate";
    const leaf = issueCertificate(root, "not-a-ca");
    const cases: Array<[string, RegExp]> = [
      ["garbage", /must be an X.509 certificate/],
      [Buffer.from("no DER at all").toString("base64"), /must be an X.509 certificate/],
      [leaf.cert, /must be a CA certificate \(basicConstraints cA: true\)/],
      [selfSignedCertificate("self-signed-device").cert, /must be a CA certificate/],
      [intermediate.cert + root.cert, /must be one certificate, not a chain/],
      [root.cert + root.key, /never a private key/],
      ["A".repeat(17 * 1024), /must be at most 16384 characters/],
    ];
    for (const [certificate, rule] of cases) {
      const refused = await serviceFailure(
        dps().createOrUpdateEnrollmentGroup({
          enrollmentGroupId: "refused-x509",
          attestation: { type: "x509", x509: { signingCertificates: { primary: { certificate } } } },
        } as unknown as EnrollmentGroup),
      );
      expect(refused.status).toBe(400);
      expect(refused.message).toContain(field);
      expect(refused.message).toMatch(rule);
    }
    await expect(dps().getEnrollmentGroup("refused-x509")).rejects.toThrow();
  });
});

describe("X.509 enrollment groups: device registration with the device SDK", () => {
  beforeAll(async () => {
    await putGroup("fleet-intermediate", intermediate);
    await putGroup("other-fleet", otherRoot);
  });

  it("registers a device whose leaf the group's CA signed, under its CN; it connects with it and reads its initial twin", async () => {
    const leaf = issueCertificate(intermediate, "sensor-0001");
    const result = await register("sensor-0001", withChain(leaf));
    expect(result).toMatchObject({
      registrationId: "sensor-0001",
      deviceId: "sensor-0001",
      assignedHub: suite.hub.info.hostName,
      status: "assigned",
      substatus: "initialAssignment",
    });
    // The local hub has no CA registry: the identity registers the leaf's thumbprint (DPS itself makes it
    // certificateAuthority; docs/architecture.md says what differs).
    const identity = (await suite.registry.get("sensor-0001")).responseBody;
    expect(identity.authentication).toMatchObject({
      type: "selfSigned",
      x509Thumbprint: { primaryThumbprint: leaf.sha256 },
    });
    const client = await openDeviceClientWithCertificate(suite.hub.info, "sensor-0001", withChain(leaf));
    try {
      const twin = await client.getTwin();
      expect(twin.properties.desired).toMatchObject(twinOf("fleet-intermediate").properties.desired);
    } finally {
      await client.close();
    }
    expect((await suite.registry.getTwin("sensor-0001")).responseBody.tags).toEqual({
      site: "fleet-intermediate",
    });
    expect(await registrationsOf("fleet-intermediate")).toEqual(["sensor-0001"]);
  });

  it("follows the intermediates a device presents up to a group holding the root", async () => {
    await putGroup("fleet-root", root);
    const deeper = issueCertificate(intermediate, "line-b", { ca: true });
    const leaf = issueCertificate(deeper, "sensor-0002");
    const result = await register("sensor-0002", withChain(leaf, deeper, intermediate));
    expect(result).toMatchObject({ deviceId: "sensor-0002", status: "assigned" });
    // The hub takes the device presenting the same chain (it goes by the leaf's thumbprint).
    const client = await openDeviceClientWithCertificate(
      suite.hub.info,
      "sensor-0002",
      withChain(leaf, deeper, intermediate),
    );
    await client.close();
    // Of the two groups on its chain, the one whose CA is closest to the leaf (the intermediate) takes it.
    expect((await suite.registry.getTwin("sensor-0002")).responseBody.tags).toEqual({
      site: "fleet-intermediate",
    });
    // An intermediate no group holds, presented by the device, leads to the root's group.
    const lineC = issueCertificate(root, "line-c", { ca: true });
    const viaRoot = issueCertificate(lineC, "sensor-0004");
    expect(await register("sensor-0004", withChain(viaRoot, lineC))).toMatchObject({ status: "assigned" });
    expect((await suite.registry.getTwin("sensor-0004")).responseBody.tags).toEqual({ site: "fleet-root" });
    // Without the intermediate the leaf leads nowhere: DPS has only the root.
    await rejection(register("sensor-0005", withChain(issueCertificate(lineC, "sensor-0005"))));
    expect(await deviceExists(suite.registry, "sensor-0005")).toBe(false);
    await dps().deleteEnrollmentGroup("fleet-root");
  });

  it("matches a certificate of another group's CA to that group only", async () => {
    const leaf = issueCertificate(otherRoot, "other-0001");
    expect(await register("other-0001", withChain(leaf))).toMatchObject({ status: "assigned" });
    expect((await suite.registry.getTwin("other-0001")).responseBody.tags).toEqual({ site: "other-fleet" });
    expect(await registrationsOf("other-fleet")).toEqual(["other-0001"]);
    expect(await registrationsOf("fleet-intermediate")).not.toContain("other-0001");
  });

  it("refuses a certificate of a CA no group holds, and writes nothing", async () => {
    const stranger = testCertificateAuthority("fleet-intermediate"); // the same name, another key
    const logged = suite.hub.waitForOutput(
      /dps: refused stranger-0001: the client certificate chains to no X\.509 enrollment group's signing certificate/,
    );
    const refused = await rejection(
      register("stranger-0001", withChain(issueCertificate(stranger, "stranger-0001"))),
    );
    expect(refused.message).toMatch(/not authorized|unauthorized/i);
    await logged;
    expect(await deviceExists(suite.registry, "stranger-0001")).toBe(false);
    await expect(dps().getDeviceRegistrationState("stranger-0001")).rejects.toThrow();
  });

  it("refuses a forged chain: an intermediate that names the group's CA as issuer but is not signed by it", async () => {
    const forger = testCertificateAuthority("fleet-root");
    const forged = issueCertificate(forger, "fleet-intermediate", { ca: true });
    const leaf = issueCertificate(forged, "forged-0001");
    await rejection(register("forged-0001", withChain(leaf, forged)));
    expect(await deviceExists(suite.registry, "forged-0001")).toBe(false);
    // Nor does a device's own leaf, used as a CA to sign another, carry the chain on.
    const notCa = issueCertificate(intermediate, "not-a-ca");
    const below = issueCertificate(notCa, "below-0001");
    await rejection(register("below-0001", withChain(below, notCa)));
    expect(await deviceExists(suite.registry, "below-0001")).toBe(false);
  });

  it("refuses an expired leaf of the group's CA, saying why", async () => {
    const expired = issueCertificate(intermediate, "expired-0001", {
      validity: { notBefore: new Date(Date.now() - 2 * DAY_MS), notAfter: new Date(Date.now() - DAY_MS) },
    });
    const logged = suite.hub.waitForOutput(
      /dps: refused expired-0001: .*group 'fleet-intermediate': the device certificate is outside its validity period/,
    );
    await rejection(register("expired-0001", withChain(expired)));
    await logged;
    expect(await deviceExists(suite.registry, "expired-0001")).toBe(false);
  });

  it("refuses a registration id that is not the certificate's CN", async () => {
    const leaf = issueCertificate(intermediate, "sensor-0003");
    const logged = suite.hub.waitForOutput(
      /dps: refused sensor-9999: the registration id must be the client certificate's subject common name/,
    );
    await rejection(register("sensor-9999", withChain(leaf)));
    await logged;
    expect(await deviceExists(suite.registry, "sensor-9999")).toBe(false);
    expect(await deviceExists(suite.registry, "sensor-0003")).toBe(false);
  });

  it("answers a disabled group's device `disabled` and creates nothing", async () => {
    const ca = testCertificateAuthority("paused-ca");
    await putGroup("paused-fleet", ca, { provisioningStatus: "disabled" });
    const refused = await rejection(register("paused-0001", withChain(issueCertificate(ca, "paused-0001"))));
    expect(refused.result?.status).toBe("disabled");
    expect(await deviceExists(suite.registry, "paused-0001")).toBe(false);
  });

  it("a re-registration with a renewed leaf of the same CA moves the identity to the new certificate", async () => {
    const renewed = issueCertificate(intermediate, "sensor-0001");
    expect(await register("sensor-0001", withChain(renewed))).toMatchObject({
      status: "assigned",
      substatus: "deviceDataMigrated",
    });
    const identity = (await suite.registry.get("sensor-0001")).responseBody;
    expect(identity.authentication?.x509Thumbprint?.primaryThumbprint).toBe(renewed.sha256);
    const client = await openDeviceClientWithCertificate(suite.hub.info, "sensor-0001", withChain(renewed));
    await client.close();
  });
});
