import { X509Certificate } from "node:crypto";
import BetterSqlite3 from "better-sqlite3";
import { SymmetricKeySecurityClient } from "azure-iot-security-symmetric-key";
import { deriveDeviceKey } from "../../lib/dps/deviceKey";
import { parseEnrollmentGroupBody, parseIndividualEnrollmentBody } from "../../lib/dps/enrollment";
import { createSasToken, generateKey } from "../../lib/iothub/sas";
import { attestConnect, type AttestationResult } from "../../local-hub/dpsDevice/attestation";
import { RegistrationOperations } from "../../local-hub/dpsDevice/operations";
import { DeviceRegistrations } from "../../local-hub/dpsDevice/registrations";
import { DpsError } from "../../local-hub/errors/dpsError";
import { DpsStore } from "../../local-hub/persistence/dpsStore";
import { IdentityStore } from "../../local-hub/persistence/identityStore";
import {
  issueCertificate,
  testCertificateAuthority,
  type TestCertificate,
} from "../support/testCertificates";

// The registration flow on its own, in memory: attestation of a CONNECT (the SAS token the real
// azure-iot-security-symmetric-key client makes) and what registering does to the hub's registry and the DPS's
// registration states. The MQTT endpoint with the real device SDK is dpsDeviceRegistration.test.ts.

const HUB = "hub.example";
const GROUP_KEY = generateKey();
const GROUP_SECONDARY = generateKey();

function setup() {
  const db = new BetterSqlite3(":memory:");
  const dps = new DpsStore(db);
  const identities = new IdentityStore(db);
  const registrations = new DeviceRegistrations({ dps, identities, hubHostName: HUB });
  const idScope = dps.idScope();
  const putGroup = (id: string, body: Record<string, unknown> = {}) =>
    dps.putEnrollmentGroup(
      parseEnrollmentGroupBody(
        id,
        {
          attestation: {
            type: "symmetricKey",
            symmetricKey: { primaryKey: GROUP_KEY, secondaryKey: GROUP_SECONDARY },
          },
          ...body,
        },
        [HUB],
      ).input!,
      "absent",
    );
  const putEnrollment = (id: string, body: Record<string, unknown> = {}) =>
    dps.putEnrollment(
      parseIndividualEnrollmentBody(id, { attestation: { type: "symmetricKey" }, ...body }, [HUB]).input!,
      "absent",
    );
  return { db, dps, identities, registrations, idScope, putGroup, putEnrollment };
}

/** The password the real SDK sends: its security client's token. */
async function sdkToken(idScope: string, registrationId: string, key: string): Promise<string> {
  const client = new SymmetricKeySecurityClient(registrationId, key);
  const token = await client.createSharedAccessSignature(idScope);
  return String(token);
}

const username = (idScope: string, registrationId: string) =>
  `${idScope}/registrations/${registrationId}/api-version=2019-03-31&ClientVersion=azure-iot-provisioning-device%2F1.9.1`;

async function attest(
  context: ReturnType<typeof setup>,
  registrationId: string,
  key: string,
  overrides: { username?: string; password?: string } = {},
): Promise<AttestationResult> {
  return attestConnect(
    context.registrations.attestationBackend,
    context.idScope,
    {
      clientId: registrationId,
      username: overrides.username ?? username(context.idScope, registrationId),
      password: Buffer.from(overrides.password ?? (await sdkToken(context.idScope, registrationId, key))),
    },
    new Date(),
  );
}

async function register(context: ReturnType<typeof setup>, registrationId: string, key: string) {
  const attested = await attest(context, registrationId, key);
  if (!attested.ok) throw new Error(attested.reason);
  return context.registrations.register(registrationId, attested.attestation);
}

describe("DPS device attestation", () => {
  it("accepts a group device's token signed with its derived key (primary or secondary)", async () => {
    const context = setup();
    context.putGroup("fleet");
    for (const key of [GROUP_KEY, GROUP_SECONDARY]) {
      const result = await attest(context, "fleet-sim-0001", deriveDeviceKey(key, "fleet-sim-0001"));
      expect(result.ok).toBe(true);
      if (result.ok) expect(result.attestation.source).toBe("enrollmentGroup");
    }
  });

  it("refuses the group key itself, another device's key, an unknown id and a token of another scope", async () => {
    const context = setup();
    context.putGroup("fleet");
    const refusal = async (...args: Parameters<typeof attest>) => {
      const result = await attest(...args);
      return result.ok ? "accepted" : result.reason;
    };
    expect(await refusal(context, "d1", GROUP_KEY)).toMatch(/signature/);
    expect(await refusal(context, "d1", deriveDeviceKey(GROUP_KEY, "d2"))).toMatch(/signature/);
    // A token for d2, sent by d1.
    expect(
      await refusal(context, "d1", "", {
        password: await sdkToken(context.idScope, "d2", deriveDeviceKey(GROUP_KEY, "d2")),
      }),
    ).toMatch(/scoped to '.*\/registrations\/d2', not to this registration/);
    expect(
      await refusal(context, "d1", "", {
        password: await sdkToken("0ne00000000", "d1", deriveDeviceKey(GROUP_KEY, "d1")),
      }),
    ).toMatch(/not for/);
    expect(
      await refusal(context, "d1", deriveDeviceKey(GROUP_KEY, "d1"), {
        username: username("0ne00000000", "d1"),
      }),
    ).toMatch(/this DPS's id scope/);
    expect(
      await refusal(context, "d1", deriveDeviceKey(GROUP_KEY, "d1"), {
        username: username(context.idScope, "d2"),
      }),
    ).toMatch(/must start with/);
    // skn must be `registration`.
    const resource = `${context.idScope}/registrations/d1`;
    const policyToken = createSasToken(
      resource,
      deriveDeviceKey(GROUP_KEY, "d1"),
      Math.floor(Date.now() / 1000) + 60,
      "owner",
    );
    expect(await refusal(context, "d1", "", { password: policyToken })).toMatch(/skn must be 'registration'/);
    const noGroups = setup();
    expect(await refusal(noGroups, "d1", GROUP_KEY)).toMatch(
      /no enrollment and no symmetric-key enrollment group/,
    );
  });

  it("refuses registration ids DPS refuses (control characters, upper case, too long) before any key is tried", async () => {
    const context = setup();
    context.putGroup("fleet");
    for (const id of ["d\n1", "D1", "x".repeat(129), "d1/../d2"]) {
      const result = attestConnect(
        context.registrations.attestationBackend,
        context.idScope,
        {
          clientId: id,
          username: username(context.idScope, id),
          password: Buffer.from("SharedAccessSignature sr=x&sig=y&se=1"),
        },
        new Date(),
      );
      expect(result).toEqual({ ok: false, reason: expect.stringMatching(/^clientId: /) });
    }
  });

  it("takes the individual enrollment's keys before any group's", async () => {
    const context = setup();
    context.putGroup("fleet");
    const enrollment = context.putEnrollment("solo");
    const own = enrollment.attestation.symmetricKey!.primaryKey;
    expect((await attest(context, "solo", own)).ok).toBe(true);
    expect((await attest(context, "solo", deriveDeviceKey(GROUP_KEY, "solo"))).ok).toBe(false);
  });
});

describe("DPS device attestation with X.509 enrollment groups", () => {
  const ca = testCertificateAuthority("fleet-ca");
  /** A CONNECT with no password and `device`'s chain as the TLS client certificate. */
  const attestCertificate = (
    context: ReturnType<typeof setup>,
    registrationId: string,
    chain: TestCertificate[],
  ) => {
    const certificates = chain.map((certificate) => new X509Certificate(certificate.cert));
    return attestConnect(
      context.registrations.attestationBackend,
      context.idScope,
      {
        clientId: registrationId,
        username: username(context.idScope, registrationId),
        password: undefined,
        certificateThumbprints: { sha1: chain[0].sha1, sha256: chain[0].sha256 },
        certificateChain: certificates,
      },
      new Date(),
    );
  };
  const putX509Group = (context: ReturnType<typeof setup>, id: string) =>
    context.dps.putEnrollmentGroup(
      parseEnrollmentGroupBody(
        id,
        {
          attestation: { type: "x509", x509: { signingCertificates: { primary: { certificate: ca.cert } } } },
        },
        [HUB],
      ).input!,
      "absent",
    );

  it("says so when there is no X.509 group at all (symmetric-key groups do not take certificates)", () => {
    const context = setup();
    context.putGroup("fleet");
    expect(attestCertificate(context, "dev-1", [issueCertificate(ca, "dev-1")])).toEqual({
      ok: false,
      reason: "no X.509 individual enrollment for 'dev-1' and no X.509 enrollment group",
    });
  });

  it("attests a device of the group's CA as the group's, its identity credential the leaf's thumbprint", () => {
    const context = setup();
    putX509Group(context, "x509-fleet");
    const leaf = issueCertificate(ca, "dev-2");
    const result = attestCertificate(context, "dev-2", [leaf]);
    expect(result.ok && result.attestation).toMatchObject({
      source: "enrollmentGroup",
      group: { enrollmentGroupId: "x509-fleet" },
      credentials: { type: "selfSigned", primaryThumbprint: leaf.sha256, secondaryThumbprint: null },
    });
  });

  it("goes by the individual enrollment of the registration id before any group", () => {
    const context = setup();
    putX509Group(context, "x509-fleet");
    context.putEnrollment("dev-3"); // a symmetric-key one: the group, which would take the device, is not asked
    expect(attestCertificate(context, "dev-3", [issueCertificate(ca, "dev-3")])).toEqual({
      ok: false,
      reason: "no X.509 individual enrollment for 'dev-3'",
    });
  });
});

describe("DPS device registration", () => {
  it("creates the device with the derived keys and the group's initial twin, and records the state", async () => {
    const context = setup();
    context.putGroup("fleet", {
      initialTwin: { tags: { site: "lab" }, properties: { desired: { interval: 30, mode: { a: 1 } } } },
      capabilities: { iotEdge: true },
    });
    const outcome = await register(context, "fleet-sim-0001", deriveDeviceKey(GROUP_KEY, "fleet-sim-0001"));
    expect(outcome).toEqual({
      status: "assigned",
      registrationState: {
        registrationId: "fleet-sim-0001",
        assignedHub: HUB,
        deviceId: "fleet-sim-0001",
        status: "assigned",
        substatus: "initialAssignment",
        createdDateTimeUtc: expect.any(String),
        lastUpdatedDateTimeUtc: expect.any(String),
        etag: expect.any(String),
      },
    });
    const device = context.identities.getDevice("fleet-sim-0001")!;
    expect(device.authentication.symmetricKey).toEqual({
      primaryKey: deriveDeviceKey(GROUP_KEY, "fleet-sim-0001"),
      secondaryKey: deriveDeviceKey(GROUP_SECONDARY, "fleet-sim-0001"),
    });
    expect(device.capabilities.iotEdge).toBe(true);
    const twin = context.identities.getTwin({ deviceId: "fleet-sim-0001" }) as unknown as {
      tags: unknown;
      properties: { desired: Record<string, unknown> };
    };
    expect(twin.tags).toEqual({ site: "lab" });
    expect(twin.properties.desired).toMatchObject({ interval: 30, mode: { a: 1 } });
    expect(context.dps.getRegistration("fleet-sim-0001")).toMatchObject({
      enrollmentGroupId: "fleet",
      status: "assigned",
      deviceId: "fleet-sim-0001",
    });
  });

  it("gives an individual enrollment's device its deviceId and the enrollment's keys", async () => {
    const context = setup();
    const enrollment = context.putEnrollment("solo", { deviceId: "Solo-Device" });
    const keys = enrollment.attestation.symmetricKey!;
    const outcome = await register(context, "solo", keys.secondaryKey);
    expect(outcome.registrationState?.deviceId).toBe("Solo-Device");
    expect(context.identities.getDevice("Solo-Device")?.authentication.symmetricKey).toEqual(keys);
    expect(context.dps.getEnrollment("solo")?.registrationState).toMatchObject({ status: "assigned" });
  });

  it("answers disabled for a disabled group or enrollment, and changes nothing", async () => {
    const context = setup();
    context.putGroup("fleet", { provisioningStatus: "disabled" });
    const solo = context.putEnrollment("solo", { provisioningStatus: "disabled" });
    const group = await register(context, "d1", deriveDeviceKey(GROUP_KEY, "d1"));
    expect(group).toMatchObject({
      status: "disabled",
      registrationState: {
        registrationId: "d1",
        status: "disabled",
        errorMessage: "The enrollment group fleet is disabled.",
      },
    });
    const own = await register(context, "solo", solo.attestation.symmetricKey!.primaryKey);
    expect(own.status).toBe("disabled");
    expect(context.identities.getDevice("d1")).toBeUndefined();
    expect(context.identities.getDevice("solo")).toBeUndefined();
    expect(context.dps.getRegistration("d1")).toBeUndefined();
  });

  it("refuses with 401 when the enrollment was deleted after the device connected", async () => {
    const context = setup();
    context.putGroup("fleet");
    const attested = await attest(context, "d1", deriveDeviceKey(GROUP_KEY, "d1"));
    if (!attested.ok) throw new Error(attested.reason);
    context.dps.deleteEnrollmentGroup("fleet", "absent");
    expect(() => context.registrations.register("d1", attested.attestation)).toThrow(DpsError);
    expect(context.identities.getDevice("d1")).toBeUndefined();
  });

  it("re-registration follows the reprovision policy", async () => {
    const cases = [
      {
        policy: { updateHubAssignment: true, migrateDeviceData: true },
        substatus: "deviceDataMigrated",
        kept: true,
      },
      {
        policy: { updateHubAssignment: true, migrateDeviceData: false },
        substatus: "deviceDataReset",
        kept: false,
      },
      {
        policy: { updateHubAssignment: false, migrateDeviceData: false },
        substatus: "initialAssignment",
        kept: true,
      },
    ];
    for (const { policy, substatus, kept } of cases) {
      const context = setup();
      context.putGroup("fleet", {
        reprovisionPolicy: policy,
        initialTwin: { properties: { desired: { interval: 30 } } },
      });
      const key = deriveDeviceKey(GROUP_KEY, "d1");
      await register(context, "d1", key);
      const first = context.identities.getDevice("d1")!;
      context.identities.patchReported({ deviceId: "d1" }, { firmware: "1.0" });
      context.identities.patchTwin({ deviceId: "d1" }, { desired: { interval: 60 } }, "any");
      const again = await register(context, "d1", key);
      expect(again.registrationState?.substatus).toBe(substatus);
      const device = context.identities.getDevice("d1")!;
      const twin = context.identities.getDeviceSideTwin({ deviceId: "d1" })!;
      if (kept) {
        expect(device.generationId).toBe(first.generationId);
        expect(twin.reported).toMatchObject({ firmware: "1.0" });
        expect(twin.desired).toMatchObject({ interval: 60 });
      } else {
        expect(device.generationId).not.toBe(first.generationId);
        expect(twin.reported).not.toHaveProperty("firmware");
        expect(twin.desired).toMatchObject({ interval: 30 });
      }
      const state = context.dps.getRegistration("d1")!;
      expect(state.createdDateTimeUtc <= state.lastUpdatedDateTimeUtc).toBe(true);
    }
  });

  it("a device identity made before registering gets the attested keys and the initial twin", async () => {
    const context = setup();
    context.putGroup("fleet", { initialTwin: { tags: { a: 1 } } });
    context.identities.putDevice(
      {
        deviceId: "d1",
        status: "enabled",
        authentication: {
          type: "sas",
          symmetricKey: { primaryKey: generateKey(), secondaryKey: generateKey() },
          x509Thumbprint: { primaryThumbprint: null, secondaryThumbprint: null },
        },
        capabilities: { iotEdge: false },
      },
      "absent",
    );
    await register(context, "d1", deriveDeviceKey(GROUP_KEY, "d1"));
    expect(context.identities.getDevice("d1")?.authentication.symmetricKey.primaryKey).toBe(
      deriveDeviceKey(GROUP_KEY, "d1"),
    );
    expect((context.identities.getTwin({ deviceId: "d1" }) as unknown as { tags: unknown }).tags).toEqual({
      a: 1,
    });
  });
});

describe("registration operations", () => {
  const outcome = { status: "assigned" as const };
  it("answer only the registration that started them, until they expire", () => {
    const operations = new RegistrationOperations(10, 1000);
    const id = operations.add("d1", outcome, 0);
    expect(operations.get(id, "d1", 10)).toBe(outcome);
    expect(operations.get(id, "d2", 10)).toBeUndefined();
    expect(operations.get("4.unknown", "d1", 10)).toBeUndefined();
    expect(operations.get(id, "d1", 1000)).toBeUndefined();
    expect(operations.size).toBe(0);
  });

  it("hold at most their capacity, dropping the oldest", () => {
    const operations = new RegistrationOperations(3, 60_000);
    const ids = ["a", "b", "c", "d"].map((registrationId) => operations.add(registrationId, outcome, 0));
    expect(operations.size).toBe(3);
    expect(operations.get(ids[0], "a", 1)).toBeUndefined();
    expect(operations.get(ids[3], "d", 1)).toBe(outcome);
  });
});
