import { selfSignedCertificate, testCertificateAuthority } from "../support/testCertificates";
import {
  serializedProviders,
  startProviderServer,
  type Props,
  type ProviderServer,
} from "../support/providerServer";

/**
 * check() and diff() of the DPS enrollment providers through the real dynamic-provider server; neither calls the
 * DPS (the connection string names one that does not exist). Every refusal names the resource, the field and the
 * rule, and never quotes a key.
 */
const KEY = "A".repeat(43) + "=";
const dpsConnection = {
  serviceConnectionString: `HostName=dps.example;SharedAccessKeyName=provisioningserviceowner;SharedAccessKey=${KEY}`,
};

let server: ProviderServer;
let providers: Record<string, string>;

beforeAll(async () => {
  [server, providers] = await Promise.all([startProviderServer(), serializedProviders()]);
});
afterAll(() => server?.stop());

const group = (overrides: Props = {}): Props => ({
  ...dpsConnection,
  enrollmentGroupId: "fleet",
  attestation: { type: "symmetricKey" },
  ...overrides,
});

const enrollment = (overrides: Props = {}): Props => ({
  ...dpsConnection,
  registrationId: "solo-1",
  attestation: { type: "symmetricKey" },
  ...overrides,
});

/** An object nested `depth` levels deep. */
function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

const reasons = async (kind: string, inputs: Props): Promise<string[]> =>
  (await server.check(providers[kind], {}, inputs)).failures.map((failure) => failure.reason);

describe("check()", () => {
  it("takes a valid group and a valid individual enrollment, unchanged", async () => {
    const ca = testCertificateAuthority("fleet-ca");
    const inputs = group({
      attestation: { type: "x509", x509: { signingCertificates: { primary: { certificate: ca.cert } } } },
      allocationPolicy: "static",
      iotHubs: ["hub.example"],
      initialTwin: { tags: { site: "lab" }, properties: { desired: { interval: 30 } } },
      capabilities: { iotEdge: true },
      provisioningStatus: "disabled",
      reprovisionPolicy: { updateHubAssignment: false, migrateDeviceData: true },
      adopt: true,
    });
    const checked = await server.check(providers.EnrollmentGroup, {}, inputs);
    expect(checked.failures).toEqual([]);
    expect(checked.inputs).toMatchObject(inputs);
    expect(await reasons("IndividualEnrollment", enrollment({ deviceId: "device-1" }))).toEqual([]);
  });

  it.each([
    ["uppercase", "Fleet", "may contain only lowercase letters, digits and - . _ :"],
    ["too long", "a".repeat(129), "must be at most 128 characters"],
    ["a bad last character", "fleet.", "must end with a lowercase letter, a digit or -"],
    ["empty", "", "must not be empty"],
  ])("refuses a group id that is %s, naming the field and the rule", async (_what, id, rule) => {
    expect(await reasons("EnrollmentGroup", group({ enrollmentGroupId: id }))).toContain(
      `enrollment group "${id}": enrollmentGroupId: ${rule}`,
    );
  });

  it("refuses a bad registration id and a bad device id", async () => {
    expect(await reasons("IndividualEnrollment", enrollment({ registrationId: "Solo/1" }))).toEqual([
      'individual enrollment "Solo/1": registrationId: may contain only lowercase letters, digits and - . _ :',
    ]);
    const bad = await reasons("IndividualEnrollment", enrollment({ deviceId: "a/b" }));
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatch(/^individual enrollment "solo-1": deviceId: /);
  });

  it("refuses an oversized initial twin (IoT Hub's 32 KB desired limit)", async () => {
    const bad = await reasons(
      "EnrollmentGroup",
      group({
        initialTwin: {
          properties: {
            desired: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, "x".repeat(2000)])),
          },
        },
      }),
    );
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatch(/^enrollment group "fleet": initialTwin\.properties\.desired: .*32/);
  });

  it("refuses an initial twin nested deeper than a twin may be", async () => {
    const bad = await reasons("EnrollmentGroup", group({ initialTwin: { tags: nested(20) } }));
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatch(/^enrollment group "fleet": initialTwin\.tags.*: .*(deep|depth|levels)/);
  });

  it("refuses initial twin sections other than tags and desired", async () => {
    expect(
      await reasons(
        "EnrollmentGroup",
        group({ initialTwin: { properties: { reported: { a: 1 } }, version: 2 } }),
      ),
    ).toEqual([
      'enrollment group "fleet": initialTwin.version: is not a section of an initial twin (tags, properties.desired)',
      'enrollment group "fleet": initialTwin.properties.reported: is not settable in an initial twin (only desired)',
    ]);
  });

  it("refuses unknown arguments, naming each", async () => {
    expect(await reasons("EnrollmentGroup", group({ etag: "x", registrationId: "r" }))).toEqual([
      'enrollment group "fleet": etag: is not an argument of an enrollment group',
      'enrollment group "fleet": registrationId: is not an argument of an enrollment group',
    ]);
  });

  it.each([
    ["a missing attestation", undefined, "attestation: is required: an object with a type"],
    ["tpm", { type: "tpm" }, "attestation.type: tpm is not supported by the local DPS"],
    ["an unknown type", { type: "password" }, "attestation.type: must be symmetricKey or x509"],
    [
      "an individual enrollment's certificates",
      { type: "x509", x509: { clientCertificates: { primary: { certificate: "x" } } } },
      "attestation.x509.clientCertificates: is not taken by an enrollment group: give signingCertificates",
    ],
    [
      "a certificate that is none",
      { type: "x509", x509: { signingCertificates: { primary: { certificate: "not a certificate" } } } },
      "attestation.x509.signingCertificates.primary.certificate: must be an X.509 certificate",
    ],
    [
      "a device's own certificate (no CA) as the signing certificate",
      {
        type: "x509",
        x509: { signingCertificates: { primary: { certificate: selfSignedCertificate("device-1").cert } } },
      },
      "attestation.x509.signingCertificates.primary.certificate: must be a CA certificate (basicConstraints cA: true)",
    ],
    [
      "an oversized certificate",
      { type: "x509", x509: { signingCertificates: { primary: { certificate: "A".repeat(17 * 1024) } } } },
      "attestation.x509.signingCertificates.primary.certificate: must be at most 16384 characters",
    ],
  ])("refuses %s as a group's attestation", async (_what, attestation, rule) => {
    const bad = await reasons("EnrollmentGroup", group({ attestation }));
    expect(bad[0]).toContain(`enrollment group "fleet": ${rule}`);
  });

  it("refuses malformed symmetric keys without quoting them", async () => {
    const secret = "not-base64-secret!";
    const bad = await reasons(
      "EnrollmentGroup",
      group({
        attestation: { type: "symmetricKey", symmetricKey: { primaryKey: secret, secondaryKey: KEY } },
      }),
    );
    expect(bad.length).toBeGreaterThan(0);
    expect(bad[0]).toMatch(/^enrollment group "fleet": attestation\.symmetricKey\.primaryKey: /);
    expect(bad.join("\n")).not.toContain(secret);
  });

  it("refuses custom allocation, static allocation without exactly one hub, and a bad status", async () => {
    expect(await reasons("EnrollmentGroup", group({ allocationPolicy: "custom" }))).toEqual([
      'enrollment group "fleet": allocationPolicy: custom allocation (an Azure Function webhook) is not supported by the local DPS',
    ]);
    expect(
      await reasons(
        "EnrollmentGroup",
        group({ allocationPolicy: "static", iotHubs: ["a.example", "b.example"] }),
      ),
    ).toEqual([
      'enrollment group "fleet": iotHubs: must name exactly one linked hub with the static allocation policy',
    ]);
    expect(await reasons("EnrollmentGroup", group({ iotHubs: Array(51).fill("h.example") }))).toEqual([
      'enrollment group "fleet": iotHubs: may name at most 50 hubs',
    ]);
    expect(await reasons("EnrollmentGroup", group({ provisioningStatus: "paused" }))).toEqual([
      'enrollment group "fleet": provisioningStatus: must be enabled or disabled',
    ]);
  });

  it("refuses a malformed connection, adopt and serviceCalls, never quoting the connection string", async () => {
    const bad = await reasons(
      "EnrollmentGroup",
      group({
        serviceConnectionString: `HostName=dps.example;SharedAccessKey=${KEY}`,
        adopt: "yes",
        serviceCalls: { opsPerSecond: { registry: 5 } },
      }),
    );
    expect(bad.some((reason) => reason.includes("serviceConnectionString: "))).toBe(true);
    expect(bad).toContain('enrollment group "fleet": adopt: must be a boolean');
    expect(bad).toContain(
      'enrollment group "fleet": serviceCalls.opsPerSecond: must be a number (DPS\'s service calls are one operation class)',
    );
    expect(bad.join("\n")).not.toContain(KEY);
  });

  it("leaves values unknown in preview to be checked when known", async () => {
    const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    expect(
      await reasons("EnrollmentGroup", group({ serviceConnectionString: unknown, attestation: unknown })),
    ).toEqual([]);
  });

  it("create refuses what check refuses, before calling the DPS", async () => {
    await expect(
      server.create(providers.EnrollmentGroup, group({ enrollmentGroupId: "Bad" })),
    ).rejects.toMatchObject({
      details: expect.stringContaining("enrollmentGroupId: may contain only lowercase letters"),
    });
  });
});

describe("diff()", () => {
  const outs = (inputs: Props): Props => ({ ...inputs, etag: "1", primaryKey: KEY, secondaryKey: KEY });

  it("is no change for the same inputs, and for DPS's defaults spelled out", async () => {
    const spelled = group({
      provisioningStatus: "enabled",
      capabilities: { iotEdge: false },
      reprovisionPolicy: { updateHubAssignment: true, migrateDeviceData: true },
      initialTwin: { tags: {}, properties: { desired: {} } },
      iotHubs: [],
    });
    expect((await server.diff(providers.EnrollmentGroup, "fleet", outs(group()), group())).changes).toBe(
      "none",
    );
    expect((await server.diff(providers.EnrollmentGroup, "fleet", outs(group()), spelled)).changes).toBe(
      "none",
    );
  });

  it("replaces on another DPS, updates in place for another CA or setting", async () => {
    const elsewhere = group({
      serviceConnectionString: dpsConnection.serviceConnectionString.replace("dps.example", "dps2.example"),
    });
    expect(await server.diff(providers.EnrollmentGroup, "fleet", outs(group()), elsewhere)).toEqual({
      changes: "some",
      replaces: ["serviceConnectionString"],
      deleteBeforeReplace: false,
    });
    for (const change of [
      { caCertificate: testCertificateAuthority("ca").cert },
      { capabilities: { iotEdge: true } },
    ]) {
      expect(await server.diff(providers.EnrollmentGroup, "fleet", outs(group()), group(change))).toEqual({
        changes: "some",
        replaces: [],
        deleteBeforeReplace: false,
      });
    }
  });

  it("compares X.509 certificates by thumbprint: another certificate is an update, the same one no change", async () => {
    const x509 = (pem: string): Props =>
      group({
        attestation: { type: "x509", x509: { signingCertificates: { primary: { certificate: pem } } } },
      });
    const first = testCertificateAuthority("ca-1").cert;
    const second = testCertificateAuthority("ca-2").cert;
    expect(
      (await server.diff(providers.EnrollmentGroup, "fleet", outs(x509(first)), x509(first))).changes,
    ).toBe("none");
    expect(await server.diff(providers.EnrollmentGroup, "fleet", outs(x509(first)), x509(second))).toEqual({
      changes: "some",
      replaces: [],
      deleteBeforeReplace: false,
    });
  });

  it("replaces an individual enrollment on another registrationId, updates it for another deviceId", async () => {
    expect(
      (
        await server.diff(
          providers.IndividualEnrollment,
          "solo-1",
          outs(enrollment()),
          enrollment({ registrationId: "solo-2" }),
        )
      ).replaces,
    ).toEqual(["registrationId"]);
    expect(
      await server.diff(
        providers.IndividualEnrollment,
        "solo-1",
        outs(enrollment()),
        enrollment({ deviceId: "d" }),
      ),
    ).toEqual({
      changes: "some",
      replaces: [],
      deleteBeforeReplace: false,
    });
  });
});
