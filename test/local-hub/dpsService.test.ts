import { readFileSync } from "node:fs";
import BetterSqlite3 from "better-sqlite3";
import type { ProvisioningServiceClient } from "azure-iot-provisioning-service";
import type {
  BulkEnrollmentOperation,
  BulkEnrollmentOperationResult,
  EnrollmentGroup,
  IndividualEnrollment,
} from "azure-iot-provisioning-service/dist/interfaces";
import { deriveDeviceKey } from "../../lib/dps/deviceKey";
import { dpsServiceClient } from "../../lib/dps/serviceClient";
import { createSasToken, parseConnectionString } from "../../lib/iothub/sas";
import { DpsStore } from "../../local-hub/persistence/dpsStore";
import { hubDatabaseFile } from "../../local-hub/stateDir";
import { useSuiteHub, type HubAccess } from "../support/suiteHub";
import { serviceRequest } from "./serviceRequest";

// The local DPS's service API through DPS's own service SDK (azure-iot-provisioning-service), on a test hub
// started with --dps-host: what a platform engineer's scripts and the Pulumi providers rely on.

const suite = useSuiteHub({ dps: true });
const API = "api-version=2021-10-01";

const dpsAccess = (): HubAccess => ({
  connectionString: suite.hub.info.dps!.connectionString,
  caFile: suite.hub.info.caFile,
});
const client = (connectionString = suite.hub.info.dps!.connectionString): ProvisioningServiceClient =>
  dpsServiceClient(connectionString, readFileSync(suite.hub.info.caFile, "utf8"));
const raw = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  serviceRequest(dpsAccess(), method, `${path}${path.includes("?") ? "&" : "?"}${API}`, body, headers);

/** The error a call rejects with: the SDK's class, the status and DPS's body. */
async function failure(
  call: Promise<unknown>,
): Promise<{ name: string; status: number; errorCode: number; message: string }> {
  try {
    await call;
  } catch (error) {
    const failed = error as Error & { response?: { statusCode: number }; responseBody?: string };
    const body = JSON.parse(failed.responseBody ?? "{}") as { errorCode: number; message: string };
    return { name: failed.constructor.name, status: failed.response?.statusCode ?? 0, ...body };
  }
  throw new Error("expected the call to fail");
}

/**
 * runBulkEnrollmentOperation answers only through a callback: in its promise form the SDK (1.11.2) drops the
 * answer and the promise never settles (it calls back only `if (callback)`).
 */
function runBulk(
  dps: ProvisioningServiceClient,
  operation: BulkEnrollmentOperation,
): Promise<BulkEnrollmentOperationResult> {
  return new Promise((resolve, reject) => {
    dps.runBulkEnrollmentOperation(operation, (error, result) => (error ? reject(error) : resolve(result!)));
  });
}

/** Registrations as the registration flow records them, written where it writes (hub.db, which the DPS reads). */
function seedRegistrations(registrations: Array<[registrationId: string, group: string]>): void {
  const db = new BetterSqlite3(hubDatabaseFile(suite.hub.stateDir));
  const store = new DpsStore(db);
  for (const [registrationId, group] of registrations) {
    store.putRegistration({
      registrationId,
      enrollmentGroupId: group,
      assignedHub: suite.hub.info.hostName,
      deviceId: registrationId,
      status: "assigned",
      substatus: "initialAssignment",
      errorCode: null,
      errorMessage: null,
    });
  }
  db.close();
}

const symmetricGroup = (id: string, extra: Partial<EnrollmentGroup> = {}): EnrollmentGroup =>
  ({
    enrollmentGroupId: id,
    attestation: { type: "symmetricKey" },
    provisioningStatus: "enabled",
    ...extra,
  }) as EnrollmentGroup;
const symmetricEnrollment = (id: string, extra: Record<string, unknown> = {}): IndividualEnrollment =>
  ({
    registrationId: id,
    attestation: { type: "symmetricKey" },
    provisioningStatus: "enabled",
    ...extra,
  }) as unknown as IndividualEnrollment;

describe("the local DPS's service API", () => {
  it("is announced in hub.json: its host, address, id scope and owner connection string", () => {
    const dps = suite.hub.info.dps!;
    expect(dps.host).toBe(suite.hub.dpsHost);
    expect(dps.hostName).toBe(suite.hub.dpsHost);
    expect(dps.httpsPort).toBe(443);
    expect(dps.idScope).toMatch(/^0ne[0-9A-F]{8}$/);
    expect(parseConnectionString(dps.connectionString)).toMatchObject({
      HostName: dps.hostName,
      SharedAccessKeyName: "provisioningserviceowner",
    });
  });

  describe("enrollment groups", () => {
    it("creates one with generated keys, reads it back without them, and gives them through attestationmechanism", async () => {
      const dps = client();
      const created = (
        await dps.createOrUpdateEnrollmentGroup(
          symmetricGroup("fleet-a", {
            initialTwin: { tags: { site: "north" }, properties: { desired: { rate: 5 } } } as never,
            capabilities: { iotEdge: true },
          }),
        )
      ).responseBody;
      const keys = created.attestation.symmetricKey!;
      expect(Buffer.from(keys.primaryKey, "base64")).toHaveLength(32);
      const read = (await dps.getEnrollmentGroup("fleet-a")).responseBody;
      expect(read).toMatchObject({
        enrollmentGroupId: "fleet-a",
        etag: created.etag,
        provisioningStatus: "enabled",
        capabilities: { iotEdge: true },
        initialTwin: { tags: { site: "north" }, properties: { desired: { rate: 5 } } },
        reprovisionPolicy: { updateHubAssignment: true, migrateDeviceData: true },
      });
      expect(read.attestation.symmetricKey).toEqual({ primaryKey: null, secondaryKey: null });
      const mechanism = (await dps.getEnrollmentGroupAttestationMechanism("fleet-a")).responseBody;
      expect(mechanism.symmetricKey).toEqual(keys);
    });

    it("keeps a group's keys through the SDK's update (get, change, PUT): GET answers no keys", async () => {
      const dps = client();
      const created = (await dps.createOrUpdateEnrollmentGroup(symmetricGroup("fleet-keep"))).responseBody;
      const read = (await dps.getEnrollmentGroup("fleet-keep")).responseBody;
      expect(read.attestation.symmetricKey).toEqual({ primaryKey: null, secondaryKey: null });
      await dps.createOrUpdateEnrollmentGroup({ ...read, provisioningStatus: "disabled" });
      const mechanism = (await dps.getEnrollmentGroupAttestationMechanism("fleet-keep")).responseBody;
      expect(mechanism.symmetricKey).toEqual(created.attestation.symmetricKey);
      expect((await dps.getEnrollmentGroup("fleet-keep")).responseBody.provisioningStatus).toBe("disabled");
      // Keys given in the PUT still replace them.
      const rotated = {
        primaryKey: Buffer.alloc(32, 9).toString("base64"),
        secondaryKey: Buffer.alloc(32, 8).toString("base64"),
      };
      const current = (await dps.getEnrollmentGroup("fleet-keep")).responseBody;
      await dps.createOrUpdateEnrollmentGroup({
        ...current,
        attestation: { type: "symmetricKey", symmetricKey: rotated },
      } as never);
      expect(
        (await dps.getEnrollmentGroupAttestationMechanism("fleet-keep")).responseBody.symmetricKey,
      ).toEqual(rotated);
      await dps.deleteEnrollmentGroup("fleet-keep");
    });

    it("updates with the etag it read, refuses a stale one (412) and leaves the group as it was", async () => {
      const dps = client();
      const first = (await dps.createOrUpdateEnrollmentGroup(symmetricGroup("fleet-b"))).responseBody;
      const updated = (await dps.createOrUpdateEnrollmentGroup({ ...first, provisioningStatus: "disabled" }))
        .responseBody;
      expect(updated.etag).not.toBe(first.etag);
      expect(updated.createdDateTimeUtc).toBe(first.createdDateTimeUtc);
      // The update was sent with the keys the first PUT answered: they stay.
      expect(updated.attestation.symmetricKey).toEqual(first.attestation.symmetricKey);
      const stale = await failure(
        dps.createOrUpdateEnrollmentGroup({ ...first, provisioningStatus: "enabled" }),
      );
      expect(stale).toMatchObject({ name: "InvalidEtagError", status: 412, errorCode: 412002 });
      expect((await dps.getEnrollmentGroup("fleet-b")).responseBody.provisioningStatus).toBe("disabled");
      expect(await failure(dps.deleteEnrollmentGroup("fleet-b", first.etag!))).toMatchObject({ status: 412 });
      await dps.deleteEnrollmentGroup("fleet-b", updated.etag!);
      expect(await failure(dps.getEnrollmentGroup("fleet-b"))).toMatchObject({
        status: 404,
        errorCode: 404202,
      });
      expect(await failure(dps.deleteEnrollmentGroup("fleet-b"))).toMatchObject({ status: 404 });
    });

    it("takes an X.509 signing certificate and answers with its info only", async () => {
      const certificate = readFileSync(suite.hub.info.caFile, "utf8");
      const dps = client();
      await dps.createOrUpdateEnrollmentGroup({
        enrollmentGroupId: "x509-fleet",
        attestation: { type: "x509", x509: { signingCertificates: { primary: { certificate } } } },
        provisioningStatus: "enabled",
      } as EnrollmentGroup);
      const read = (await dps.getEnrollmentGroup("x509-fleet")).responseBody;
      const primary = read.attestation.x509!.signingCertificates!.primary;
      expect(primary.certificate).toBeUndefined();
      expect(primary.info!.sha1Thumbprint).toMatch(/^[0-9A-F]{40}$/);
      expect(primary.info!.sha256Thumbprint).toMatch(/^[0-9A-F]{64}$/);
    });

    it("refuses a body against DPS's rules with 400 naming each field, and stores nothing", async () => {
      const refused = await failure(
        client().createOrUpdateEnrollmentGroup(
          symmetricGroup("refused-group", {
            allocationPolicy: "static",
            iotHubs: ["elsewhere.example"],
            provisioningStatus: "sometimes" as never,
          }),
        ),
      );
      expect(refused).toMatchObject({ name: "ArgumentError", status: 400, errorCode: 400004 });
      expect(refused.message).toContain("provisioningStatus: must be enabled or disabled");
      expect(refused.message).toContain(
        `iotHubs[0]: must be the host name of a linked hub (${suite.hub.info.hostName})`,
      );
      expect(await failure(client().getEnrollmentGroup("refused-group"))).toMatchObject({ status: 404 });
    });

    it("links the hub it runs in: an allocation may name it", async () => {
      const group = (
        await client().createOrUpdateEnrollmentGroup(
          symmetricGroup("static-fleet", { allocationPolicy: "static", iotHubs: [suite.hub.info.hostName] }),
        )
      ).responseBody;
      expect(group.iotHubs).toEqual([suite.hub.info.hostName.toLowerCase()]);
      expect(group.iotHubHostName).toBe(suite.hub.info.hostName.toLowerCase());
    });
  });

  describe("individual enrollments", () => {
    it("creates, reads, updates and deletes one, with its device id and initial twin", async () => {
      const dps = client();
      const key = Buffer.alloc(32, 3).toString("base64");
      const created = (
        await dps.createOrUpdateIndividualEnrollment(
          symmetricEnrollment("sensor-1", {
            deviceId: "Sensor-One",
            attestation: { type: "symmetricKey", symmetricKey: { primaryKey: key, secondaryKey: key } },
            initialTwin: { tags: { floor: 2 }, properties: { desired: { interval: 10 } } },
          }),
        )
      ).responseBody;
      expect(created).toMatchObject({ registrationId: "sensor-1", deviceId: "Sensor-One" });
      const read = (await dps.getIndividualEnrollment("sensor-1")).responseBody;
      expect(read.initialTwin).toEqual({ tags: { floor: 2 }, properties: { desired: { interval: 10 } } });
      expect(read.attestation.symmetricKey).toEqual({ primaryKey: null, secondaryKey: null });
      expect(
        (await dps.getIndividualEnrollmentAttestationMechanism("sensor-1")).responseBody.symmetricKey,
      ).toEqual({
        primaryKey: key,
        secondaryKey: key,
      });
      const updated = (
        await dps.createOrUpdateIndividualEnrollment({
          ...read,
          provisioningStatus: "disabled",
          attestation: created.attestation,
        })
      ).responseBody;
      expect(updated.provisioningStatus).toBe("disabled");
      await dps.deleteIndividualEnrollment("sensor-1", updated.etag);
      expect(await failure(dps.getIndividualEnrollment("sensor-1"))).toMatchObject({
        status: 404,
        errorCode: 404201,
      });
    });

    it("runs bulk operations entry by entry: a failed entry is reported, the others applied", async () => {
      const dps = client();
      const created = await runBulk(dps, {
        mode: "create",
        enrollments: [symmetricEnrollment("bulk-1"), symmetricEnrollment("bulk-2")],
      });
      expect(created).toEqual({ isSuccessful: true, errors: [] });
      const again = await runBulk(dps, {
        mode: "create",
        enrollments: [
          symmetricEnrollment("bulk-2"),
          symmetricEnrollment("bulk-3"),
          symmetricEnrollment("Bulk-4"),
        ],
      });
      expect(again.isSuccessful).toBe(false);
      expect(again.errors).toEqual([
        {
          registrationId: "bulk-2",
          errorCode: 409201,
          errorStatus: expect.stringContaining("already exists"),
        },
        {
          registrationId: "Bulk-4",
          errorCode: 400004,
          errorStatus: expect.stringContaining("enrollments[2].registrationId"),
        },
      ]);
      expect((await dps.getIndividualEnrollment("bulk-3")).responseBody.registrationId).toBe("bulk-3");
      const deleted = await runBulk(dps, {
        mode: "delete",
        enrollments: [symmetricEnrollment("bulk-1"), symmetricEnrollment("bulk-9")],
      });
      expect(deleted.errors.map((error) => [error.registrationId, error.errorCode])).toEqual([
        ["bulk-9", 404201],
      ]);
      expect(await failure(dps.getIndividualEnrollment("bulk-1"))).toMatchObject({ status: 404 });
      const tooMany = await failure(
        runBulk(dps, {
          mode: "create",
          enrollments: [...Array(11).keys()].map((i) => symmetricEnrollment(`many-${i}`)),
        }),
      );
      expect(tooMany).toMatchObject({
        status: 400,
        message: "enrollments: must be a list of 1-10 individual enrollments",
      });
      expect(await failure(dps.getIndividualEnrollment("many-0"))).toMatchObject({ status: 404 });
    });
  });

  describe("queries", () => {
    it("pages enrollments by x-ms-max-item-count and the continuation token it hands out", async () => {
      const dps = client();
      for (const id of ["page-c", "page-a", "page-b"])
        await dps.createOrUpdateIndividualEnrollment(symmetricEnrollment(id));
      const query = dps.createIndividualEnrollmentQuery({ query: "SELECT * FROM enrollments" }, 2);
      const seen: string[] = [];
      let token: string | undefined;
      do {
        const page = await query.next(token as string);
        seen.push(
          ...(page.responseBody as unknown as IndividualEnrollment[]).map(
            (enrollment) => enrollment.registrationId,
          ),
        );
        token = query.hasMoreResults ? (query.continuationToken as string) : undefined;
      } while (token);
      expect(seen.filter((id) => id.startsWith("page-"))).toEqual(["page-a", "page-b", "page-c"]);
      expect(new Set(seen).size).toBe(seen.length);
    });

    it("lists enrollment groups without their keys", async () => {
      await client().createOrUpdateEnrollmentGroup(symmetricGroup("listed-group"));
      const page = await client().createEnrollmentGroupQuery({ query: "*" }).next();
      const groups = page.responseBody as unknown as EnrollmentGroup[];
      const listed = groups.find((group) => group.enrollmentGroupId === "listed-group")!;
      expect(listed.attestation.symmetricKey).toEqual({ primaryKey: null, secondaryKey: null });
    });

    it("refuses a filter it would not apply, a bad page size and a token it did not hand out", async () => {
      const filtered = await raw("POST", "/enrollments/query", {
        query: "SELECT * FROM enrollments WHERE x = 1",
      });
      expect(filtered.status).toBe(400);
      expect((filtered.body as { message: string }).message).toMatch(/^query: /);
      const size = await raw("POST", "/enrollments/query", { query: "*" }, { "x-ms-max-item-count": "0" });
      expect((size.body as { message: string }).message).toBe(
        "x-ms-max-item-count: must be a whole number from 1 to 1000",
      );
      const forged = Buffer.from("enrollmentGroups:x").toString("base64url");
      const token = await raw("POST", "/enrollments/query", { query: "*" }, { "x-ms-continuation": forged });
      expect([token.status, (token.body as { message: string }).message]).toEqual([
        400,
        "x-ms-continuation: must be a token this DPS returned for this query",
      ]);
    });
  });

  describe("registration states", () => {
    beforeAll(() =>
      seedRegistrations([
        ["reg-b", "fleet-r"],
        ["reg-a", "fleet-r"],
        ["reg-c", "other"],
      ]),
    );

    it("reads one, lists a group's, and deletes one with its etag", async () => {
      const dps = client();
      const state = (await dps.getDeviceRegistrationState("reg-a")).responseBody;
      expect(state).toMatchObject({
        registrationId: "reg-a",
        status: "assigned",
        assignedHub: suite.hub.info.hostName,
      });
      expect(state).not.toHaveProperty("enrollmentGroupId");
      const page = await dps
        .createEnrollmentGroupDeviceRegistrationStateQuery({ query: "*" }, "fleet-r")
        .next();
      expect(
        (page.responseBody as unknown as Array<{ registrationId: string }>).map((s) => s.registrationId),
      ).toEqual(["reg-a", "reg-b"]);
      expect(await failure(dps.deleteDeviceRegistrationState("reg-a", "stale"))).toMatchObject({
        status: 412,
      });
      await dps.deleteDeviceRegistrationState("reg-a", state.etag);
      expect(await failure(dps.getDeviceRegistrationState("reg-a"))).toMatchObject({
        status: 404,
        errorCode: 404203,
      });
    });
  });

  describe("rights and tokens", () => {
    beforeAll(async () => {
      await client().createOrUpdateEnrollmentGroup(symmetricGroup("rights-group"));
      seedRegistrations([["rights-reg", "rights-group"]]);
    });
    const policy = async (name: string, rights: string): Promise<string> => {
      const added = await suite.hub.cli("dps", "policy", "add", name, "--rights", rights);
      expect(added).toMatchObject({ code: 0, stderr: "" });
      return added.stdout.trim();
    };

    it("holds each policy to its rights (write includes read)", async () => {
      const reader = client(await policy("enrollment-reader", "EnrollmentRead"));
      expect((await reader.getEnrollmentGroup("rights-group")).responseBody.enrollmentGroupId).toBe(
        "rights-group",
      );
      expect(await failure(reader.createOrUpdateEnrollmentGroup(symmetricGroup("by-reader")))).toMatchObject({
        name: "UnauthorizedError",
        status: 401,
        errorCode: 401002,
      });
      expect(await failure(reader.getEnrollmentGroupAttestationMechanism("rights-group"))).toMatchObject({
        status: 401,
      });
      expect(await failure(reader.getDeviceRegistrationState("rights-reg"))).toMatchObject({ status: 401 });
      const writer = client(await policy("enrollment-writer", "EnrollmentWrite"));
      expect((await writer.getEnrollmentGroup("rights-group")).responseBody.enrollmentGroupId).toBe(
        "rights-group",
      );
      const status = client(await policy("status-reader", "RegistrationStatusRead"));
      expect((await status.getDeviceRegistrationState("rights-reg")).responseBody.registrationId).toBe(
        "rights-reg",
      );
      expect(await failure(status.deleteDeviceRegistrationState("rights-reg"))).toMatchObject({
        status: 401,
      });
      expect(await failure(status.getEnrollmentGroup("rights-group"))).toMatchObject({ status: 401 });
    });

    it("refuses the hub's own policies, a token for another host and a token below the DPS host", async () => {
      const hubOwner = parseConnectionString(suite.hub.info.connectionString);
      const dps = parseConnectionString(suite.hub.info.dps!.connectionString);
      const withToken = (token: string) =>
        raw("GET", "/enrollmentGroups/rights-group", undefined, { authorization: token });
      const expiry = Math.floor(Date.now() / 1000) + 600;
      const hubPolicyToken = createSasToken(
        dps.HostName,
        hubOwner.SharedAccessKey,
        expiry,
        hubOwner.SharedAccessKeyName,
      );
      const otherHost = createSasToken(
        suite.hub.info.hostName,
        dps.SharedAccessKey,
        expiry,
        dps.SharedAccessKeyName,
      );
      const belowHost = createSasToken(
        `${dps.HostName}/enrollmentGroups`,
        dps.SharedAccessKey,
        expiry,
        dps.SharedAccessKeyName,
      );
      const expired = createSasToken(
        dps.HostName,
        dps.SharedAccessKey,
        Math.floor(Date.now() / 1000) - 1,
        dps.SharedAccessKeyName,
      );
      for (const token of [hubPolicyToken, otherHost, belowHost, "SharedAccessSignature garbage"]) {
        expect(await withToken(token)).toMatchObject({
          status: 401,
          body: { errorCode: 401002, message: "Unauthorized: invalid SAS token." },
        });
      }
      expect((await withToken(expired)).body).toMatchObject({
        message: "Unauthorized: the SAS token has expired.",
      });
      // And the hub does not take the DPS's policy.
      const onHub = await serviceRequest(
        {
          connectionString: suite.hub.info.dps!.connectionString.replace(
            dps.HostName,
            suite.hub.info.hostName,
          ),
          caFile: suite.hub.info.caFile,
        },
        "GET",
        "/devices",
      );
      expect(onHub.status).toBe(401);
    });
  });

  describe("hostile input", () => {
    it("refuses an oversized body (413), malformed and deeply nested JSON (400), and changes nothing", async () => {
      const big = await raw("PUT", "/enrollmentGroups/big", {
        attestation: { type: "symmetricKey" },
        pad: "x".repeat(300 * 1024),
      });
      expect(big).toMatchObject({ status: 413, body: { errorCode: 413000 } });
      const malformed = await raw("PUT", "/enrollmentGroups/bad-json", Buffer.from('{"attestation":'));
      expect(malformed).toMatchObject({ status: 400, body: { errorCode: 400004 } });
      const deep = Buffer.from(
        `{"attestation":{"type":"symmetricKey"},"initialTwin":{"tags":${'{"a":'.repeat(20000)}1${"}".repeat(20000)}}}`,
      );
      const nested = await raw("PUT", "/enrollmentGroups/deep", deep);
      expect(nested.status).toBe(400);
      expect((nested.body as { message: string }).message).toContain("must be nested at most 10 levels deep");
      for (const id of ["big", "bad-json", "deep"]) {
        expect((await raw("GET", `/enrollmentGroups/${id}`)).status).toBe(404);
      }
    });

    it("refuses bad ids, unknown fields, an unknown api-version and unknown routes, naming what is wrong", async () => {
      const upper = await raw("PUT", "/enrollments/Sensor", { attestation: { type: "symmetricKey" } });
      expect((upper.body as { message: string }).message).toBe(
        "registrationId: may contain only lowercase letters, digits and - . _ :",
      );
      const long = await raw("GET", `/enrollments/${"r".repeat(129)}`);
      expect((long.body as { message: string }).message).toBe(
        "registrationId: must be at most 128 characters",
      );
      const unknown = await raw("PUT", "/enrollments/fine", {
        attestation: { type: "symmetricKey" },
        owner: "me",
      });
      expect((unknown.body as { message: string }).message).toBe("owner: is not a field of a DPS enrollment");
      const version = await serviceRequest(dpsAccess(), "GET", "/enrollments/fine?api-version=2021-04-12");
      expect(version).toMatchObject({ status: 400, body: { errorCode: 400001 } });
      expect((await raw("GET", "/devices/d1")).status).toBe(404);
      expect((await raw("PATCH", "/enrollments/fine", {})).status).toBe(405);
      expect((await raw("GET", "/enrollments/fine")).status).toBe(404);
    });

    it("refuses malformed queries and bulk bodies as a whole, naming the field", async () => {
      const message = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
        const answer = await raw("POST", path, body, headers);
        expect(answer.status).toBe(400);
        return (answer.body as { message: string }).message;
      };
      expect(await message("/registrations/Bad-Group/query", { query: "*" })).toBe(
        "enrollmentGroupId: may contain only lowercase letters, digits and - . _ :",
      );
      expect(await message("/enrollmentGroups/query", ["*"])).toBe(
        "query: the body must be a query specification {query: string}",
      );
      expect(await message("/enrollmentGroups/query", { query: "*".repeat(2000) })).toBe(
        "query: must be at most 1024 characters",
      );
      expect(await message("/enrollments/query", { query: "*" }, { "x-ms-max-item-count": "1e3" })).toMatch(
        /^x-ms-max-item-count: /,
      );
      expect(await message("/enrollments", { mode: "upsert", enrollments: [] })).toBe(
        "mode: must be one of create, update, updateIfMatchEtag, delete",
      );
      expect(await message("/enrollments", { mode: "create", enrollments: [] })).toBe(
        "enrollments: must be a list of 1-10 individual enrollments",
      );
    });
  });

  describe("quota", () => {
    beforeAll(async () => {
      await client().createOrUpdateEnrollmentGroup(symmetricGroup("quota-group"));
    });
    afterAll(async () => {
      await suite.hub.cli("quota", "clear");
    });

    it("throttles the service API by the dpsService class (429, DPS's code)", async () => {
      expect((await suite.hub.cli("quota", "set", "dpsService=1/min")).code).toBe(0);
      const dps = client();
      const outcomes = [];
      for (let i = 0; i < 3; i++) {
        outcomes.push(
          await dps.getEnrollmentGroup("quota-group").then(
            () => 200,
            (error: { response?: { statusCode: number } }) => error.response?.statusCode,
          ),
        );
      }
      expect(outcomes).toContain(429);
      const throttled = await failure(dps.getEnrollmentGroup("quota-group"));
      expect(throttled).toMatchObject({ name: "ThrottlingError", errorCode: 429001 });
    });
  });

  describe("the CLI", () => {
    beforeAll(async () => {
      await client().createOrUpdateEnrollmentGroup(symmetricGroup("cli-group"));
      await client().createOrUpdateEnrollmentGroup({
        enrollmentGroupId: "cli-x509",
        attestation: {
          type: "x509",
          x509: {
            signingCertificates: { primary: { certificate: readFileSync(suite.hub.info.caFile, "utf8") } },
          },
        },
        provisioningStatus: "enabled",
      } as EnrollmentGroup);
    });

    it("shows the id scope and endpoint, and derives a device key from a stored group", async () => {
      const shown = await suite.hub.cli("dps", "show", "-o", "json");
      expect(JSON.parse(shown.stdout)).toEqual({
        idScope: suite.hub.info.dps!.idScope,
        serviceHostName: suite.hub.dpsHost,
        serviceEndpoint: `https://${suite.hub.dpsHost}:443`,
        host: suite.hub.dpsHost,
        provisioningHost: `${suite.hub.dpsHost}:${suite.hub.info.dps!.mqttPort}`,
        running: true,
      });
      const db = new BetterSqlite3(hubDatabaseFile(suite.hub.stateDir), { readonly: true });
      const keys = new DpsStore(db).getEnrollmentGroup("cli-group")!.attestation.symmetricKey!;
      db.close();
      const derived = await suite.hub.cli("dps", "derive-key", "cli-group", "device-7");
      expect(derived).toMatchObject({ code: 0, stdout: `${deriveDeviceKey(keys.primaryKey, "device-7")}\n` });
      const secondary = await suite.hub.cli("dps", "derive-key", "cli-group", "device-7", "--secondary");
      expect(secondary.stdout).toBe(`${deriveDeviceKey(keys.secondaryKey, "device-7")}\n`);
      const given = Buffer.alloc(32, 1).toString("base64");
      expect((await suite.hub.cli("dps", "derive-key", "any-group", "device-7", "--key", given)).stdout).toBe(
        `${deriveDeviceKey(given, "device-7")}\n`,
      );
    });

    it("refuses bad ids and keys (exit 2) and a group it does not have or that has no key (exit 1)", async () => {
      const badId = await suite.hub.cli("dps", "derive-key", "cli-group", "Device-7");
      expect(badId).toMatchObject({ code: 2, stdout: "" });
      expect(badId.stderr).toContain("REGISTRATION_ID: may contain only lowercase letters");
      const badKey = await suite.hub.cli("dps", "derive-key", "g", "d", "--key", "short");
      expect(badKey.code).toBe(2);
      expect(badKey.stderr).toContain("--key: must be valid base64");
      const missing = await suite.hub.cli("dps", "derive-key", "no-such-group", "d");
      expect(missing).toMatchObject({ code: 1, stdout: "" });
      expect(missing.stderr).toContain("enrollment group 'no-such-group' does not exist");
      const x509 = await suite.hub.cli("dps", "derive-key", "cli-x509", "d");
      expect(x509.stderr).toContain("attests with X.509 certificates");
    });

    it("refuses DPS policies with IoT Hub's rights or none, and the removal of the owner (exit 2, nothing changed)", async () => {
      const hubRights = await suite.hub.cli("dps", "policy", "add", "wrong", "--rights", "RegistryRead");
      expect(hubRights.code).toBe(2);
      expect(hubRights.stderr).toContain(
        "rights: 'RegistryRead' is not a right; use ServiceConfig, EnrollmentRead",
      );
      const owner = await suite.hub.cli("dps", "policy", "remove", "provisioningserviceowner");
      expect(owner.code).toBe(2);
      const listed = await suite.hub.cli("dps", "policy", "list", "-o", "tsv");
      expect(listed.stdout).toContain(
        "provisioningserviceowner\tServiceConfig,EnrollmentRead,EnrollmentWrite,RegistrationStatusRead,RegistrationStatusWrite",
      );
      expect(listed.stdout).not.toMatch(/^wrong\t/m);
      // The hub's own policies are another list.
      expect((await suite.hub.cli("policy", "list", "-o", "tsv")).stdout).not.toContain(
        "provisioningserviceowner",
      );
    });
  });

  describe("faults and restarts", () => {
    beforeAll(async () => {
      await client().createOrUpdateEnrollmentGroup(symmetricGroup("fault-group"));
    });
    it("answers an injected dpsService fault with 503 and DPS's body, then serves again", async () => {
      expect((await suite.hub.cli("fault", "add", "dpsService", "--mode", "503", "--count", "1")).code).toBe(
        0,
      );
      expect(await failure(client().getEnrollmentGroup("fault-group"))).toMatchObject({
        name: "ServiceUnavailableError",
        status: 503,
        errorCode: 503000,
      });
      expect((await client().getEnrollmentGroup("fault-group")).responseBody.enrollmentGroupId).toBe(
        "fault-group",
      );
    });

    it("keeps its id scope, policies and enrollments across a restart", async () => {
      const before = suite.hub.info.dps!;
      await suite.hub.stop();
      const after = (await suite.hub.restart()).dps!;
      expect(after.idScope).toBe(before.idScope);
      expect(after.connectionString).toBe(before.connectionString);
      expect((await client().getEnrollmentGroup("fault-group")).responseBody.enrollmentGroupId).toBe(
        "fault-group",
      );
    });
  });
});
