import type { ProvisioningServiceClient } from "azure-iot-provisioning-service";
import type { EnrollmentGroup as SdkEnrollmentGroup } from "azure-iot-provisioning-service/dist/interfaces";
import { registerDevice } from "../../lib/dps/deviceClient";
import { deriveDeviceKey } from "../../lib/dps/deviceKey";
import { dpsServiceClient } from "../../lib/dps/serviceClient";
import { generateKey } from "../../lib/iothub/sas";
import {
  issueCertificate,
  selfSignedCertificate,
  testCertificateAuthority,
} from "../support/testCertificates";
import { useProvidersOnHub } from "../registry/providersOnHub";
import type { Props } from "../support/providerServer";

/**
 * The EnrollmentGroup and IndividualEnrollment providers driven the way the engine drives them (the real
 * dynamic-provider server, the serialized stubs) against a test hub's local DPS, checked with the real DPS service
 * SDK and a device registering with the real DPS device SDK.
 */
const suite = useProvidersOnHub({ dps: true });

let dpsArgs: Props;
const dps = (): ProvisioningServiceClient =>
  dpsServiceClient(suite.hub.info.dps!.connectionString, suite.caPem);

beforeAll(() => {
  dpsArgs = { serviceConnectionString: suite.hub.info.dps!.connectionString, caCertificate: suite.caPem };
});

const INITIAL_TWIN = { tags: { site: "lab" }, properties: { desired: { interval: 30 } } };

async function createResource(kind: string, inputs: Props): Promise<{ id: string; outs: Props }> {
  const checked = await suite.server.check(suite.texts[kind], {}, inputs);
  expect(checked.failures).toEqual([]);
  return suite.server.create(suite.texts[kind], checked.inputs);
}

const heldGroup = async (id: string): Promise<SdkEnrollmentGroup> =>
  (await dps().getEnrollmentGroup(id)).responseBody;

const groupKeys = async (id: string): Promise<{ primaryKey: string; secondaryKey: string }> =>
  (await dps().getEnrollmentGroupAttestationMechanism(id)).responseBody.symmetricKey as never;

describe("EnrollmentGroup", () => {
  const group = (id: string, extra: Props = {}): Props => ({
    ...dpsArgs,
    enrollmentGroupId: id,
    attestation: { type: "symmetricKey" },
    initialTwin: INITIAL_TWIN,
    ...extra,
  });

  it("creates a group with keys DPS generates; they are the outputs, and a device registering with a derived key gets the initial twin", async () => {
    const { id, outs } = await createResource("EnrollmentGroup", group("fleet"));
    expect(id).toBe("fleet");
    const keys = await groupKeys("fleet");
    expect(outs).toMatchObject({
      enrollmentGroupId: "fleet",
      ...keys,
      etag: (await heldGroup("fleet")).etag,
    });
    expect(keys.primaryKey).toMatch(/^[A-Za-z0-9+/]{43}=$/);

    const result = await registerDevice({
      provisioningHost: `${suite.hub.info.dps!.host}:${suite.hub.info.dps!.mqttPort}`,
      idScope: suite.hub.info.dps!.idScope,
      registrationId: "fleet-dev-1",
      key: deriveDeviceKey(outs.primaryKey as string, "fleet-dev-1"),
      caCertificate: suite.caPem,
    });
    expect(result).toMatchObject({
      status: "assigned",
      deviceId: "fleet-dev-1",
      assignedHub: suite.hub.info.hostName,
    });
    const twin = (await suite.registry.getTwin("fleet-dev-1")).responseBody;
    expect(twin.tags).toEqual({ site: "lab" });
    expect(twin.properties.desired).toMatchObject({ interval: 30 });
  });

  it("creates a group with declared keys, which DPS then holds", async () => {
    const primaryKey = generateKey();
    const secondaryKey = generateKey();
    const { outs } = await createResource(
      "EnrollmentGroup",
      group("declared", {
        attestation: { type: "symmetricKey", symmetricKey: { primaryKey, secondaryKey } },
      }),
    );
    expect(await groupKeys("declared")).toEqual({ primaryKey, secondaryKey });
    expect(outs).toMatchObject({ primaryKey, secondaryKey });
  });

  it("is a no-op on a second up; read sees no drift", async () => {
    const inputs = group("steady", { capabilities: { iotEdge: true } });
    const { id, outs } = await createResource("EnrollmentGroup", inputs);
    expect((await suite.server.diff(suite.texts.EnrollmentGroup, id, outs, inputs)).changes).toBe("none");
    const read = await suite.server.read(suite.texts.EnrollmentGroup, id, outs);
    expect(read.id).toBe(id);
    expect((await suite.server.diff(suite.texts.EnrollmentGroup, id, read.props, inputs)).changes).toBe(
      "none",
    );
  });

  it("updates provisioningStatus and initialTwin in place with If-Match the stored etag, keeping generated keys", async () => {
    const { id, outs } = await createResource("EnrollmentGroup", group("in-place"));
    const news = group("in-place", {
      provisioningStatus: "disabled",
      initialTwin: { tags: { site: "munich" }, properties: { desired: { interval: 60 } } },
    });
    expect(await suite.server.diff(suite.texts.EnrollmentGroup, id, outs, news)).toEqual({
      changes: "some",
      replaces: [],
      deleteBeforeReplace: false,
    });
    const updated = await suite.server.update(suite.texts.EnrollmentGroup, id, outs, news);
    const held = await heldGroup("in-place");
    expect(held).toMatchObject({
      provisioningStatus: "disabled",
      initialTwin: { tags: { site: "munich" }, properties: { desired: { interval: 60 } } },
    });
    expect(updated.etag).toBe(held.etag);
    expect(updated.etag).not.toBe(outs.etag);
    expect(await groupKeys("in-place")).toEqual({
      primaryKey: outs.primaryKey,
      secondaryKey: outs.secondaryKey,
    });

    // Changed in the DPS since: the stored etag no longer matches, and nothing is overwritten.
    await dps().createOrUpdateEnrollmentGroup({
      ...held,
      provisioningStatus: "enabled",
    } as SdkEnrollmentGroup);
    await expect(
      suite.server.update(suite.texts.EnrollmentGroup, id, updated, { ...news, initialTwin: INITIAL_TWIN }),
    ).rejects.toMatchObject({
      details: expect.stringContaining("changed in the DPS since the state was written"),
    });
    expect((await heldGroup("in-place")).initialTwin).toMatchObject({ tags: { site: "munich" } });
  });

  it("replaces on another enrollmentGroupId", async () => {
    const { id, outs } = await createResource("EnrollmentGroup", group("renamed-a"));
    expect(await suite.server.diff(suite.texts.EnrollmentGroup, id, outs, group("renamed-b"))).toEqual({
      changes: "some",
      replaces: ["enrollmentGroupId"],
      deleteBeforeReplace: false,
    });
  });

  it("sees drift on read: a status and twin changed out of band show in the state, and diff updates them back", async () => {
    const inputs = group("drifting");
    const { id, outs } = await createResource("EnrollmentGroup", inputs);
    const held = await heldGroup("drifting");
    await dps().createOrUpdateEnrollmentGroup({
      ...held,
      provisioningStatus: "disabled",
      initialTwin: { tags: { site: "elsewhere" }, properties: { desired: {} } },
    } as unknown as SdkEnrollmentGroup);
    const read = await suite.server.read(suite.texts.EnrollmentGroup, id, outs);
    expect(read.props).toMatchObject({
      provisioningStatus: "disabled",
      initialTwin: { tags: { site: "elsewhere" } },
    });
    expect(read.props.etag).not.toBe(outs.etag);
    expect((await suite.server.diff(suite.texts.EnrollmentGroup, id, read.props, inputs)).changes).toBe(
      "some",
    );
    await suite.server.update(suite.texts.EnrollmentGroup, id, read.props, inputs);
    expect(await heldGroup("drifting")).toMatchObject({
      provisioningStatus: "enabled",
      initialTwin: INITIAL_TWIN,
    });
  });

  it("deletes the group; read then reports it gone, and a second delete is fine", async () => {
    const { id, outs } = await createResource("EnrollmentGroup", group("doomed"));
    await suite.server.delete(suite.texts.EnrollmentGroup, id, outs);
    await expect(dps().getEnrollmentGroup("doomed")).rejects.toMatchObject({ response: { statusCode: 404 } });
    expect((await suite.server.read(suite.texts.EnrollmentGroup, id, outs)).id).toBe("");
    await suite.server.delete(suite.texts.EnrollmentGroup, id, outs);
  });

  it("refuses to create over an existing group unless adopt; adopting keeps its keys and applies the declared settings", async () => {
    const primaryKey = generateKey();
    const secondaryKey = generateKey();
    await dps().createOrUpdateEnrollmentGroup({
      enrollmentGroupId: "by-hand",
      attestation: { type: "symmetricKey", symmetricKey: { primaryKey, secondaryKey } },
      provisioningStatus: "disabled",
    } as unknown as SdkEnrollmentGroup);
    const checked = await suite.server.check(suite.texts.EnrollmentGroup, {}, group("by-hand"));
    await expect(suite.server.create(suite.texts.EnrollmentGroup, checked.inputs)).rejects.toMatchObject({
      details: expect.stringContaining("already has an enrollment group with this id"),
    });
    expect((await heldGroup("by-hand")).provisioningStatus).toBe("disabled");

    const { outs } = await createResource("EnrollmentGroup", group("by-hand", { adopt: true }));
    expect(outs).toMatchObject({ primaryKey, secondaryKey });
    expect(await heldGroup("by-hand")).toMatchObject({
      provisioningStatus: "enabled",
      initialTwin: INITIAL_TWIN,
    });
  });

  it("creates an X.509 group from a signing certificate, a device of that CA registers through it; read keeps the declared certificate while DPS holds it", async () => {
    const ca = testCertificateAuthority("fleet-ca");
    const inputs = group("x509-group", {
      attestation: { type: "x509", x509: { signingCertificates: { primary: { certificate: ca.cert } } } },
    });
    const { id, outs } = await createResource("EnrollmentGroup", inputs);
    expect(outs.primaryKey).toBeUndefined();
    expect((await heldGroup("x509-group")).attestation).toMatchObject({ type: "x509" });
    const leaf = issueCertificate(ca, "x509-dev-1");
    const result = await registerDevice({
      provisioningHost: `${suite.hub.info.dps!.host}:${suite.hub.info.dps!.mqttPort}`,
      idScope: suite.hub.info.dps!.idScope,
      registrationId: "x509-dev-1",
      certificate: { cert: leaf.cert, key: leaf.key },
      caCertificate: suite.caPem,
    });
    expect(result).toMatchObject({ status: "assigned", deviceId: "x509-dev-1" });
    expect((await suite.registry.getTwin("x509-dev-1")).responseBody.tags).toEqual(INITIAL_TWIN.tags);
    const read = await suite.server.read(suite.texts.EnrollmentGroup, id, outs);
    expect((await suite.server.diff(suite.texts.EnrollmentGroup, id, read.props, inputs)).changes).toBe(
      "none",
    );
  });
});

describe("IndividualEnrollment", () => {
  const enrollment = (registrationId: string, extra: Props = {}): Props => ({
    ...dpsArgs,
    registrationId,
    attestation: { type: "symmetricKey" },
    ...extra,
  });

  it("creates an enrollment under a deviceId; the device registers with the output key and gets its twin", async () => {
    const { id, outs } = await createResource(
      "IndividualEnrollment",
      enrollment("solo-1", { deviceId: "solo-device", initialTwin: INITIAL_TWIN }),
    );
    expect(id).toBe("solo-1");
    const result = await registerDevice({
      provisioningHost: `${suite.hub.info.dps!.host}:${suite.hub.info.dps!.mqttPort}`,
      idScope: suite.hub.info.dps!.idScope,
      registrationId: "solo-1",
      key: outs.primaryKey as string,
      caCertificate: suite.caPem,
    });
    expect(result).toMatchObject({ status: "assigned", deviceId: "solo-device" });
    expect((await suite.registry.getTwin("solo-device")).responseBody.tags).toEqual({ site: "lab" });
  });

  it("updates in place, replaces on another registrationId, and deletes", async () => {
    const inputs = enrollment("solo-2");
    const { id, outs } = await createResource("IndividualEnrollment", inputs);
    expect((await suite.server.diff(suite.texts.IndividualEnrollment, id, outs, inputs)).changes).toBe(
      "none",
    );
    const news = enrollment("solo-2", { provisioningStatus: "disabled" });
    expect((await suite.server.diff(suite.texts.IndividualEnrollment, id, outs, news)).replaces).toEqual([]);
    const updated = await suite.server.update(suite.texts.IndividualEnrollment, id, outs, news);
    expect((await dps().getIndividualEnrollment("solo-2")).responseBody.provisioningStatus).toBe("disabled");
    expect(
      (await suite.server.diff(suite.texts.IndividualEnrollment, id, updated, enrollment("solo-3"))).replaces,
    ).toEqual(["registrationId"]);
    await suite.server.delete(suite.texts.IndividualEnrollment, id, updated);
    expect((await suite.server.read(suite.texts.IndividualEnrollment, id, updated)).id).toBe("");
  });

  it("sees a deviceId cleared out of band as drift", async () => {
    const inputs = enrollment("solo-4", { deviceId: "solo-device-4" });
    const { id, outs } = await createResource("IndividualEnrollment", inputs);
    const held = (await dps().getIndividualEnrollment("solo-4")).responseBody;
    await dps().createOrUpdateIndividualEnrollment({ ...held, deviceId: undefined } as never);
    const read = await suite.server.read(suite.texts.IndividualEnrollment, id, outs);
    expect(read.props.deviceId).toBeUndefined();
    expect(await suite.server.diff(suite.texts.IndividualEnrollment, id, read.props, inputs)).toEqual({
      changes: "some",
      replaces: [],
      deleteBeforeReplace: false,
    });
  });

  it("creates an X.509 enrollment from the device's client certificate", async () => {
    const device = selfSignedCertificate("solo-x509");
    const { outs } = await createResource(
      "IndividualEnrollment",
      enrollment("solo-x509", {
        attestation: {
          type: "x509",
          x509: { clientCertificates: { primary: { certificate: device.cert } } },
        },
      }),
    );
    expect(outs.primaryKey).toBeUndefined();
    expect((await dps().getIndividualEnrollment("solo-x509")).responseBody.attestation.type).toBe("x509");
  });
});
