import { parseStackConfig, StackConfigError } from "../../components/config";
import { issueCertificate, testCertificateAuthority } from "../support/testCertificates";
import { FAKE_POLICY_KEY, fakeCloud } from "./support/fakeCloud";
import {
  isSecretInput,
  plainInputs,
  runProgram,
  type Registration,
  appearsInClear,
} from "./support/runProgram";

/**
 * The stack config's `dps` and `enrollmentGroups`, under mocks: the local target's DPS and an EnrollmentGroup
 * per group, what is secret, and every refusal (named by its config path, nothing created).
 */

const GROUP_KEY = Buffer.alloc(32, 9).toString("base64");
const FLEET_CA = testCertificateAuthority("fleet-ca");

const fleetGroup = {
  enrollmentGroupId: "fleet-a",
  attestation: { type: "symmetricKey" },
  initialTwin: { tags: { site: "north" }, properties: { desired: { interval: 10 } } },
  capabilities: { iotEdge: false },
};

const byType = (registrations: Registration[], type: string): Registration[] =>
  registrations.filter((registration) => registration.type === `pulumi-nodejs:dynamic/iothub:${type}`);

describe("enrollment groups in the stack config", () => {
  it("become the local hub's DPS and an EnrollmentGroup per group, under one component", async () => {
    const cloud = fakeCloud();
    const run = await runProgram({
      stack: "local",
      config: { target: "local", dps: {}, enrollmentGroups: [fleetGroup] },
      engine: cloud,
    });
    expect(byType(run.registrations, "LocalDps").map((r) => r.name)).toEqual(["dps"]);
    expect(run.registrations.find((r) => r.type === "iothub-provisioner:dps:Enrollments")?.name).toBe(
      "enrollments",
    );
    const [group] = byType(run.registrations, "EnrollmentGroup");
    expect(group.name).toBe("enrollments-group-fleet-a");
    expect(plainInputs(group.inputs)).toMatchObject({
      ...fleetGroup,
      serviceConnectionString: expect.stringContaining("SharedAccessKeyName=provisioningserviceowner"),
    });
    expect(isSecretInput(group.inputs.serviceConnectionString)).toBe(true);
    expect(isSecretInput(group.inputs.attestation)).toBe(true);
    expect(group.additionalSecretOutputs).toEqual(expect.arrayContaining(["primaryKey", "secondaryKey"]));
  });

  it("take an X.509 group whose signing certificate is a CA, in plain config (a certificate is no secret)", async () => {
    const x509Group = {
      enrollmentGroupId: "x509-fleet",
      attestation: {
        type: "x509",
        x509: { signingCertificates: { primary: { certificate: FLEET_CA.cert } } },
      },
    };
    const run = await runProgram({
      stack: "local",
      config: { target: "local", dps: {}, enrollmentGroups: [x509Group] },
      engine: fakeCloud(),
    });
    const [group] = byType(run.registrations, "EnrollmentGroup");
    expect(plainInputs(group.inputs)).toMatchObject(x509Group);
  });

  it("make nothing of the DPS without `dps`", async () => {
    const cloud = fakeCloud();
    const run = await runProgram({ stack: "local", config: { target: "local" }, engine: cloud });
    expect(byType(run.registrations, "LocalDps")).toEqual([]);
    expect(byType(run.registrations, "EnrollmentGroup")).toEqual([]);
  });

  it("take declared keys from a config secret only, and keep them secret as inputs", async () => {
    const declared = {
      ...fleetGroup,
      attestation: { type: "symmetricKey", symmetricKey: { primaryKey: GROUP_KEY, secondaryKey: GROUP_KEY } },
    };
    const config = { target: "local", dps: {}, enrollmentGroups: [declared] };
    const plain = fakeCloud();
    await expect(runProgram({ stack: "local", config, engine: plain })).rejects.toThrow(
      "iothub-provisioner:enrollmentGroups: must be a config secret when a group declares symmetric keys",
    );
    expect(plain.resourceCount()).toBe(0);

    const run = await runProgram({
      stack: "local",
      config,
      secretKeys: ["enrollmentGroups"],
      engine: fakeCloud(),
    });
    const [group] = byType(run.registrations, "EnrollmentGroup");
    expect(isSecretInput(group.inputs.attestation)).toBe(true);
    expect(appearsInClear(group.inputs, GROUP_KEY)).toBe(false);
  });

  const refused: [string, Record<string, unknown>, string][] = [
    [
      "groups without a DPS",
      { enrollmentGroups: [fleetGroup] },
      "iothub-provisioner:dps: is required when enrollmentGroups are declared",
    ],
    [
      "a bad group id",
      { dps: {}, enrollmentGroups: [{ ...fleetGroup, enrollmentGroupId: "Fleet A" }] },
      "iothub-provisioner:enrollmentGroups[0].enrollmentGroupId: may contain only lowercase letters, digits and - . _ :",
    ],
    [
      "an oversized initial twin",
      {
        dps: {},
        enrollmentGroups: [{ ...fleetGroup, initialTwin: { tags: { blob: "x".repeat(9000) } } }],
      },
      "iothub-provisioner:enrollmentGroups[0].initialTwin.tags: must be at most",
    ],
    [
      "an unknown key in a group",
      { dps: {}, enrollmentGroups: [{ ...fleetGroup, intialTwin: {} }] },
      "iothub-provisioner:enrollmentGroups[0].intialTwin",
    ],
    [
      "a wrong attestation",
      { dps: {}, enrollmentGroups: [{ ...fleetGroup, attestation: { type: "tpm" } }] },
      "iothub-provisioner:enrollmentGroups[0].attestation.type: tpm is not supported by the local DPS",
    ],
    [
      "a device's certificate as an X.509 group's signing certificate",
      {
        dps: {},
        enrollmentGroups: [
          {
            ...fleetGroup,
            attestation: {
              type: "x509",
              x509: {
                signingCertificates: { primary: { certificate: issueCertificate(FLEET_CA, "dev").cert } },
              },
            },
          },
        ],
      },
      "iothub-provisioner:enrollmentGroups[0].attestation.x509.signingCertificates.primary.certificate: must be a CA certificate",
    ],
    [
      "a group id twice",
      { dps: {}, enrollmentGroups: [fleetGroup, fleetGroup] },
      "iothub-provisioner:enrollmentGroups[1].enrollmentGroupId: must be unique (enrollmentGroups[0] has it too)",
    ],
    ["an unknown dps key", { dps: { sku: "S1", tier: "x" } }, "iothub-provisioner:dps.tier"],
  ];

  it.each(refused)("refuse %s, creating nothing", async (_case, overrides, expected) => {
    const cloud = fakeCloud();
    await expect(
      runProgram({ stack: "local", config: { target: "local", ...overrides }, engine: cloud }),
    ).rejects.toThrow(expected);
    expect(cloud.resourceCount()).toBe(0);
  });

  it("refuse `dps` on the azure target without its name, naming the field and the rule", () => {
    expect(() =>
      parseStackConfig({
        target: "azure",
        hub: { name: "hub-1", resourceGroupName: "rg", location: "westeurope" },
        dps: {},
      }),
    ).toThrow(
      new StackConfigError([
        {
          field: "iothub-provisioner:dps.name",
          rule: "is required on the azure target (the DPS's name: 3-64 letters, digits or hyphens, unique in Azure)",
        },
      ]).message,
    );
  });

  it("never quote a declared key in a refusal", () => {
    let message = "";
    try {
      parseStackConfig({
        target: "local",
        dps: {},
        enrollmentGroups: [
          {
            ...fleetGroup,
            attestation: {
              type: "symmetricKey",
              symmetricKey: { primaryKey: FAKE_POLICY_KEY, secondaryKey: "short" },
            },
          },
        ],
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain("iothub-provisioner:enrollmentGroups[0].attestation.symmetricKey");
    expect(message).not.toContain(FAKE_POLICY_KEY);
  });
});
