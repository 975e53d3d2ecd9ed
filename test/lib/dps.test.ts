import { createHash, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { attestationThumbprints, publicAttestation } from "../../lib/dps/attestation";
import { deriveDeviceKey } from "../../lib/dps/deviceKey";
import { parseEnrollmentGroupBody, parseIndividualEnrollmentBody } from "../../lib/dps/enrollment";
import { checkEnrollmentGroupId, checkIdScope, checkRegistrationId } from "../../lib/dps/rules";
import {
  issueCertificate,
  selfSignedCertificate,
  testCertificateAuthority,
} from "../support/testCertificates";

const HUBS = ["hub.example"];
const key = (bytes: number): string => Buffer.alloc(bytes, 9).toString("base64");
const symmetric = { type: "symmetricKey" };
/** A real certificate (the suite CA, made before jest starts). */
const certificatePem = readFileSync(join(__dirname, "../../.iothub-local-test/ca.pem"), "utf8");

function nested(levels: number): Record<string, unknown> {
  let value: unknown = "leaf";
  for (let level = levels; level >= 1; level--) value = { [`l${level}`]: value };
  return value as Record<string, unknown>;
}

describe("DPS ids", () => {
  it("takes lowercase letters, digits and - . _ : up to 128 characters, ending in a letter, digit or -", () => {
    expect(checkRegistrationId("dev-01.a_b:c")).toEqual([]);
    expect(checkRegistrationId("r".repeat(128))).toEqual([]);
    expect(checkEnrollmentGroupId("group-")).toEqual([]);
  });

  it("refuses uppercase, other punctuation, a bad last character, empty and long ids, naming the field", () => {
    expect(checkRegistrationId("Dev1")).toEqual([
      { field: "registrationId", rule: "may contain only lowercase letters, digits and - . _ :" },
    ]);
    expect(checkRegistrationId("dev/1")[0].rule).toMatch(/lowercase letters/);
    expect(checkRegistrationId("dev.")).toEqual([
      { field: "registrationId", rule: "must end with a lowercase letter, a digit or -" },
    ]);
    expect(checkEnrollmentGroupId("", "groups[0].id")).toEqual([
      { field: "groups[0].id", rule: "must not be empty" },
    ]);
    expect(checkEnrollmentGroupId("g".repeat(129))[0].rule).toBe("must be at most 128 characters");
    expect(checkRegistrationId(7)[0].rule).toBe("must be a string");
  });

  it("knows an id scope: 0ne and 8 uppercase hex digits", () => {
    expect(checkIdScope("0ne000A1B2C")).toEqual([]);
    expect(checkIdScope("0ne000a1b2c")).toHaveLength(1);
    expect(checkIdScope("0ne1234")).toHaveLength(1);
  });
});

describe("the symmetric-key derivation", () => {
  it("is base64(HMAC-SHA256(base64-decoded group key, registration id)), as openssl computes it", () => {
    // printf reg-001 | openssl dgst -sha256 -mac HMAC -macopt hexkey:<hex of the key> -binary | base64
    const groupKey = Buffer.from("0123456789abcdef0123456789abcdef").toString("base64");
    expect(deriveDeviceKey(groupKey, "reg-001")).toBe("3K7cYxrI++wQ6oy5ivTzBlpVTCKEOfLS5nQNAJCqmgg=");
  });

  it("gives each registration id its own key", () => {
    const groupKey = key(32);
    expect(deriveDeviceKey(groupKey, "a")).not.toBe(deriveDeviceKey(groupKey, "b"));
    expect(deriveDeviceKey(groupKey, "a")).not.toBe(deriveDeviceKey(key(48), "a"));
  });
});

describe("enrollment group bodies", () => {
  it("fills DPS's defaults and generates both keys when none are given", () => {
    const { input, violations } = parseEnrollmentGroupBody("g1", { attestation: symmetric }, HUBS);
    expect(violations).toEqual([]);
    expect(input).toMatchObject({
      enrollmentGroupId: "g1",
      provisioningStatus: "enabled",
      capabilities: { iotEdge: false },
      reprovisionPolicy: { updateHubAssignment: true, migrateDeviceData: true },
      allocationPolicy: null,
      iotHubs: [],
      initialTwin: null,
    });
    const keys = input!.attestation.symmetricKey!;
    expect(Buffer.from(keys.primaryKey, "base64")).toHaveLength(32);
    expect(keys.secondaryKey).not.toBe(keys.primaryKey);
  });

  it("keeps given keys, the initial twin, capabilities, status, reprovision policy and a linked hub", () => {
    const body = {
      enrollmentGroupId: "g1",
      attestation: { type: "symmetricKey", symmetricKey: { primaryKey: key(32), secondaryKey: key(64) } },
      initialTwin: { tags: { site: "a" }, properties: { desired: { rate: 5 } } },
      capabilities: { iotEdge: true },
      provisioningStatus: "disabled",
      reprovisionPolicy: { updateHubAssignment: false, migrateDeviceData: true },
      allocationPolicy: "static",
      iotHubs: ["HUB.example"],
      etag: "ignored-on-input",
      createdDateTimeUtc: "2020-01-01T00:00:00Z",
    };
    const { input, violations } = parseEnrollmentGroupBody("g1", body, HUBS);
    expect(violations).toEqual([]);
    expect(input).toMatchObject({
      attestation: { symmetricKey: { primaryKey: key(32), secondaryKey: key(64) } },
      initialTwin: { tags: { site: "a" }, properties: { desired: { rate: 5 } } },
      capabilities: { iotEdge: true },
      provisioningStatus: "disabled",
      reprovisionPolicy: { updateHubAssignment: false, migrateDeviceData: true },
      allocationPolicy: "static",
      iotHubs: ["hub.example"],
    });
  });

  it("names every field and rule it refuses", () => {
    const { input, violations } = parseEnrollmentGroupBody(
      "G1",
      {
        enrollmentGroupId: "other",
        attestation: { type: "symmetricKey", symmetricKey: { primaryKey: key(8) } },
        provisioningStatus: "on",
        capabilities: { iotEdge: "yes" },
        reprovisionPolicy: { updateHubAssignment: 1 },
        allocationPolicy: "random",
        iotHubs: ["elsewhere.example"],
        initialTwin: { tags: { "bad key": 1 }, properties: { reported: {} }, extra: 1 },
        surprise: true,
      },
      HUBS,
    );
    expect(input).toBeUndefined();
    expect(violations.map((violation) => violation.field)).toEqual(
      expect.arrayContaining([
        "enrollmentGroupId",
        "surprise",
        "attestation.symmetricKey.secondaryKey",
        "provisioningStatus",
        "capabilities",
        "reprovisionPolicy.updateHubAssignment",
        "allocationPolicy",
        "iotHubs[0]",
        "initialTwin.extra",
        "initialTwin.properties.reported",
        "initialTwin.tags.bad key",
      ]),
    );
    expect(violations.find((violation) => violation.field === "iotHubs[0]")?.rule).toBe(
      "must be the host name of a linked hub (hub.example)",
    );
  });

  it("refuses what the local DPS cannot do by name: TPM, CA references, custom allocation", () => {
    const refused = (body: Record<string, unknown>) => parseEnrollmentGroupBody("g1", body, HUBS).violations;
    expect(refused({ attestation: { type: "tpm" } })).toEqual([
      { field: "attestation.type", rule: "tpm is not supported by the local DPS (use symmetricKey or x509)" },
    ]);
    expect(
      refused({ attestation: { type: "x509", x509: { caReferences: { primary: "ca" } } } })[0].field,
    ).toBe("attestation.x509.caReferences");
    expect(refused({ attestation: symmetric, allocationPolicy: "custom" })[0].rule).toMatch(
      /custom allocation/,
    );
    expect(refused({})).toEqual([{ field: "attestation", rule: "is required: an object with a type" }]);
    expect(refused({ attestation: { type: "none" } })[0].rule).toBe("must be symmetricKey or x509");
  });

  it("refuses a static allocation without exactly one hub", () => {
    const { violations } = parseEnrollmentGroupBody(
      "g1",
      { attestation: symmetric, allocationPolicy: "static" },
      HUBS,
    );
    expect(violations).toEqual([
      { field: "iotHubs", rule: "must name exactly one linked hub with the static allocation policy" },
    ]);
  });

  it("holds the initial twin to IoT Hub's twin rules: depth and size, without overflowing on deep input", () => {
    const deep = parseEnrollmentGroupBody(
      "g1",
      { attestation: symmetric, initialTwin: { properties: { desired: nested(5000) } } },
      HUBS,
    ).violations;
    expect(deep[0].rule).toBe("must be nested at most 10 levels deep");
    const big = parseEnrollmentGroupBody(
      "g1",
      {
        attestation: symmetric,
        initialTwin: { tags: Object.fromEntries([...Array(3)].map((_, i) => [`t${i}`, "x".repeat(4000)])) },
      },
      HUBS,
    ).violations;
    expect(big[0]).toEqual({
      field: "initialTwin.tags",
      rule: expect.stringMatching(/^must be at most 8192 bytes/),
    });
  });

  it("takes a group's X.509 signing certificate and records DPS's info of it", () => {
    const { input, violations } = parseEnrollmentGroupBody(
      "g1",
      {
        attestation: {
          type: "x509",
          x509: { signingCertificates: { primary: { certificate: certificatePem } } },
        },
      },
      HUBS,
    );
    expect(violations).toEqual([]);
    const der = new X509Certificate(certificatePem).raw;
    const info = input!.attestation.x509!.signingCertificates!.primary.info;
    expect(info.sha1Thumbprint).toBe(createHash("sha1").update(der).digest("hex").toUpperCase());
    expect(info.sha256Thumbprint).toBe(createHash("sha256").update(der).digest("hex").toUpperCase());
    expect(info.subjectName).toMatch(/CN=/);
    expect(attestationThumbprints(input!.attestation)).toEqual([info.sha1Thumbprint, info.sha256Thumbprint]);
    // base64 DER is the other form DPS takes.
    const fromDer = parseEnrollmentGroupBody(
      "g1",
      {
        attestation: {
          type: "x509",
          x509: { signingCertificates: { primary: { certificate: der.toString("base64") } } },
        },
      },
      HUBS,
    );
    expect(fromDer.input!.attestation.x509!.signingCertificates!.primary.info.sha1Thumbprint).toBe(
      info.sha1Thumbprint,
    );
  });

  it("refuses a certificate that is none, or the kind of certificate the other enrollment takes", () => {
    const refused = (x509: unknown) =>
      parseEnrollmentGroupBody("g1", { attestation: { type: "x509", x509 } }, HUBS).violations;
    expect(refused({ signingCertificates: { primary: { certificate: "not a certificate" } } })).toEqual([
      {
        field: "attestation.x509.signingCertificates.primary.certificate",
        rule: "must be an X.509 certificate (PEM or base64 DER)",
      },
    ]);
    expect(refused({ signingCertificates: { primary: { certificate: "A".repeat(20000) } } })[0].rule).toBe(
      "must be at most 16384 characters",
    );
    expect(
      refused({ clientCertificates: { primary: { certificate: certificatePem } } }).map((v) => v.field),
    ).toEqual(["attestation.x509.clientCertificates", "attestation.x509.signingCertificates"]);
  });

  it("takes only a CA as a group's signing certificate, one certificate and nothing else per field", () => {
    const refused = (certificate: string, slot: "primary" | "secondary" = "primary") =>
      parseEnrollmentGroupBody(
        "g1",
        {
          attestation: {
            type: "x509",
            x509: {
              signingCertificates: {
                primary: { certificate: slot === "primary" ? certificate : certificatePem },
                secondary: slot === "secondary" ? { certificate } : null,
              },
            },
          },
        },
        HUBS,
      ).violations;
    const device = selfSignedCertificate("device-1");
    expect(refused(device.cert)).toEqual([
      {
        field: "attestation.x509.signingCertificates.primary.certificate",
        rule: expect.stringMatching(/^must be a CA certificate \(basicConstraints cA: true\)/),
      },
    ]);
    expect(refused(issueCertificate(testCertificateAuthority("ca"), "leaf").cert, "secondary")[0].field).toBe(
      "attestation.x509.signingCertificates.secondary.certificate",
    );
    expect(refused(certificatePem + certificatePem)[0].rule).toBe("must be one certificate, not a chain");
    expect(refused(certificatePem + device.key)[0].rule).toMatch(/never a private key/);
    expect(refused(device.key)[0].rule).toMatch(/never a private key/);
    // An individual enrollment's client certificate is the device's own: no CA needed.
    const individual = parseIndividualEnrollmentBody(
      "device-1",
      {
        attestation: {
          type: "x509",
          x509: { clientCertificates: { primary: { certificate: device.cert } } },
        },
      },
      HUBS,
    );
    expect(individual.violations).toEqual([]);
  });
});

describe("individual enrollment bodies", () => {
  it("takes a device id by IoT Hub's rules and an X.509 client certificate", () => {
    const { input, violations } = parseIndividualEnrollmentBody(
      "dev-1",
      {
        registrationId: "dev-1",
        deviceId: "Device-One",
        attestation: {
          type: "x509",
          x509: { clientCertificates: { primary: { certificate: certificatePem } } },
        },
      },
      HUBS,
    );
    expect(violations).toEqual([]);
    expect(input!.deviceId).toBe("Device-One");
    expect(input!.attestation.x509!.clientCertificates!.primary.info.sha1Thumbprint).toMatch(
      /^[0-9A-F]{40}$/,
    );
  });

  it("names the entry's fields when given a prefix (bulk), and refuses a bad device id", () => {
    const { violations } = parseIndividualEnrollmentBody(
      "Dev",
      { deviceId: "bad id", attestation: symmetric },
      HUBS,
      "enrollments[2]",
    );
    expect(violations.map((violation) => violation.field)).toEqual([
      "enrollments[2].registrationId",
      "enrollments[2].deviceId",
    ]);
  });
});

describe("the public attestation", () => {
  it("withholds keys and certificate texts, keeping certificate info", () => {
    const group = parseEnrollmentGroupBody("g1", { attestation: symmetric }, HUBS).input!;
    expect(publicAttestation(group.attestation).symmetricKey).toEqual({
      primaryKey: null,
      secondaryKey: null,
    });
    const x509 = parseEnrollmentGroupBody(
      "g1",
      {
        attestation: {
          type: "x509",
          x509: { signingCertificates: { primary: { certificate: certificatePem } } },
        },
      },
      HUBS,
    ).input!;
    const shown = publicAttestation(x509.attestation).x509!.signingCertificates!.primary;
    expect(shown.certificate).toBeUndefined();
    expect(shown.info.sha1Thumbprint).toMatch(/^[0-9A-F]{40}$/);
  });
});
