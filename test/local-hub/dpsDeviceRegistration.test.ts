import { readFileSync } from "node:fs";
import { Client as DeviceClient } from "azure-iot-device";
import { Mqtt as DeviceMqtt } from "azure-iot-device-mqtt";
import type { ProvisioningServiceClient } from "azure-iot-provisioning-service";
import type { EnrollmentGroup, IndividualEnrollment } from "azure-iot-provisioning-service/dist/interfaces";
import type { RegistrationResult } from "azure-iot-provisioning-device/dist/interfaces";
import { deriveDeviceKey } from "../../lib/dps/deviceKey";
import { registerDevice } from "../../lib/dps/deviceClient";
import { dpsTopics } from "../../lib/dps/registrationProtocol";
import { dpsServiceClient } from "../../lib/dps/serviceClient";
import { createSasToken, generateKey } from "../../lib/iothub/sas";
import { deviceExists, useSuiteHub } from "../support/suiteHub";
import { rejection } from "./dpsSupport";
import {
  closed,
  connected,
  end,
  nextMessage,
  openDeviceClientWithCertificate,
  selfSignedCertificate,
  subscribe,
  type RawMqttClient,
} from "./mqttSupport";

// The local DPS's device endpoint with DPS's real device SDK (azure-iot-provisioning-device +
// azure-iot-provisioning-device-mqtt + azure-iot-security-symmetric-key): a device registers, then connects to the
// hub it was assigned with azure-iot-device and finds its initial twin. Hostile input through a raw MQTT client.

const mqtt = require("mqtt") as { connect(url: string, options: Record<string, unknown>): RawMqttClient };

const suite = useSuiteHub({ dps: true });
const GROUP_KEY = generateKey();
const GROUP_SECONDARY = generateKey();
const INITIAL_TWIN = {
  tags: { site: "lab" },
  properties: { desired: { interval: 30, mode: { eco: true } } },
};

const dps = (): ProvisioningServiceClient =>
  dpsServiceClient(suite.hub.info.dps!.connectionString, readFileSync(suite.hub.info.caFile, "utf8"));
const provisioningHost = (): string => `${suite.hub.info.dps!.host}:${suite.hub.info.dps!.mqttPort}`;

const register = (registrationId: string, key: string): Promise<RegistrationResult> =>
  registerDevice({
    provisioningHost: provisioningHost(),
    idScope: suite.hub.info.dps!.idScope,
    registrationId,
    key,
    caCertificate: readFileSync(suite.hub.info.caFile, "utf8"),
  });

async function putGroup(id: string, extra: Record<string, unknown> = {}): Promise<void> {
  await dps().createOrUpdateEnrollmentGroup({
    enrollmentGroupId: id,
    attestation: {
      type: "symmetricKey",
      symmetricKey: { primaryKey: GROUP_KEY, secondaryKey: GROUP_SECONDARY },
    },
    provisioningStatus: "enabled",
    initialTwin: INITIAL_TWIN,
    ...extra,
  } as unknown as EnrollmentGroup);
}

/** A raw MQTT client on the DPS's device endpoint, as the SDK connects (clean session, the SDK's username). */
function rawClient(
  registrationId: string,
  options: { key?: string; password?: string; idScope?: string } = {},
): RawMqttClient {
  const info = suite.hub.info;
  const idScope = options.idScope ?? info.dps!.idScope;
  const resource = `${idScope}/registrations/${registrationId}`;
  return mqtt.connect(`mqtts://${provisioningHost()}`, {
    clientId: registrationId,
    username: `${idScope}/registrations/${registrationId}/api-version=2019-03-31`,
    password:
      options.password ??
      createSasToken(
        resource,
        options.key ?? deriveDeviceKey(GROUP_KEY, registrationId),
        Math.floor(Date.now() / 1000) + 600,
        "registration",
      ),
    ca: readFileSync(info.caFile),
    clean: true,
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
}

/** Publishes a register request and returns the answer's status and body. */
async function registerRaw(
  client: RawMqttClient,
  body: string,
  rid = "1",
): Promise<{ status: number; body: Record<string, unknown> }> {
  const answer = nextMessage(client);
  client.publish(dpsTopics.register(rid), body, { qos: 1 });
  const { topic, payload } = await answer;
  const status = Number(/^\$dps\/registrations\/res\/(\d+)\//.exec(topic)![1]);
  expect(topic).toContain(`$rid=${rid}`);
  return { status, body: JSON.parse(payload) as Record<string, unknown> };
}

beforeAll(() => putGroup("fleet"));

describe("DPS device registration with the device SDK", () => {
  it("registers a group device with its derived key; the device then connects to the hub and has the initial twin", async () => {
    const registrationId = "fleet-sim-0001";
    const key = deriveDeviceKey(GROUP_KEY, registrationId);
    const result = await register(registrationId, key);
    expect(result).toMatchObject({
      registrationId,
      assignedHub: suite.hub.info.hostName,
      deviceId: registrationId,
      status: "assigned",
      substatus: "initialAssignment",
    });

    const device = DeviceClient.fromConnectionString(
      `HostName=${result.assignedHub};DeviceId=${result.deviceId};SharedAccessKey=${key};` +
        `GatewayHostName=${suite.hub.info.host}:${suite.hub.info.mqttPort}`,
      DeviceMqtt,
    );
    await device.setOptions({ ca: readFileSync(suite.hub.info.caFile, "utf8") });
    await device.open();
    try {
      const twin = await device.getTwin();
      expect(twin.properties.desired).toMatchObject(INITIAL_TWIN.properties.desired);
    } finally {
      await device.close();
    }
    const serviceTwin = (await suite.registry.getTwin(registrationId)).responseBody;
    expect(serviceTwin.tags).toEqual(INITIAL_TWIN.tags);

    // The service API shows the registration as DPS recorded it.
    const state = (await dps().getDeviceRegistrationState(registrationId)).responseBody;
    expect(state).toMatchObject({ registrationId, status: "assigned", assignedHub: result.assignedHub });
  });

  it("registers with the key derived from the group's secondary key too", async () => {
    const result = await register("fleet-sim-0002", deriveDeviceKey(GROUP_SECONDARY, "fleet-sim-0002"));
    expect(result.status).toBe("assigned");
    const device = (await suite.registry.get("fleet-sim-0002")).responseBody;
    expect(device.authentication?.symmetricKey?.secondaryKey).toBe(
      deriveDeviceKey(GROUP_SECONDARY, "fleet-sim-0002"),
    );
  });

  it("registers an individual enrollment's device under its deviceId, with the enrollment's key", async () => {
    const created = (
      await dps().createOrUpdateIndividualEnrollment({
        registrationId: "solo-1",
        deviceId: "solo-device",
        attestation: { type: "symmetricKey" },
        provisioningStatus: "enabled",
      } as unknown as IndividualEnrollment)
    ).responseBody;
    const key = created.attestation.symmetricKey!.primaryKey;
    const result = await register("solo-1", key);
    expect(result).toMatchObject({ deviceId: "solo-device", status: "assigned" });
    const enrollment = (await dps().getIndividualEnrollment("solo-1")).responseBody;
    expect(enrollment.registrationState).toMatchObject({ status: "assigned", deviceId: "solo-device" });
  });

  it("registers an X.509 individual enrollment's device with its certificate, which then connects to the hub", async () => {
    const certificate = selfSignedCertificate("x509-device");
    await dps().createOrUpdateIndividualEnrollment({
      registrationId: "x509-device",
      attestation: {
        type: "x509",
        x509: { clientCertificates: { primary: { certificate: certificate.cert } } },
      },
      provisioningStatus: "enabled",
    } as unknown as IndividualEnrollment);
    const withCertificate = (cert: { cert: string; key: string }) =>
      registerDevice({
        provisioningHost: provisioningHost(),
        idScope: suite.hub.info.dps!.idScope,
        registrationId: "x509-device",
        certificate: cert,
        caCertificate: readFileSync(suite.hub.info.caFile, "utf8"),
      });
    // Another certificate with the same subject is not the registered one.
    await expect(withCertificate(selfSignedCertificate("x509-device"))).rejects.toThrow();
    expect(await deviceExists(suite.registry, "x509-device")).toBe(false);

    const result = await withCertificate(certificate);
    expect(result).toMatchObject({ deviceId: "x509-device", status: "assigned" });
    const device = (await suite.registry.get("x509-device")).responseBody;
    expect(device.authentication).toMatchObject({
      type: "selfSigned",
      x509Thumbprint: { primaryThumbprint: certificate.sha256 },
    });
    const client = await openDeviceClientWithCertificate(suite.hub.info, "x509-device", certificate);
    await client.close();
  });

  it("a registration over the dpsRegistration fault (503) is retried by the SDK after retry-after and succeeds", async () => {
    const armed = await suite.hub.cli(
      "fault",
      "add",
      "dpsRegistration",
      "--mode",
      "503",
      "--match",
      "fleet-sim-0009",
    );
    expect(armed.code).toBe(0);
    const result = await register("fleet-sim-0009", deriveDeviceKey(GROUP_KEY, "fleet-sim-0009"));
    expect(result.status).toBe("assigned");
    // The fault was consumed by the first attempt.
    expect((await suite.hub.cli("fault", "list")).stdout).not.toContain("dpsRegistration");
  });

  it("refuses a wrong key and an unknown registration, creating nothing", async () => {
    const logged = suite.hub.waitForOutput(
      /dps: refused fleet-sim-0100: the SAS token's signature does not match a key/,
    );
    const wrong = await rejection(register("fleet-sim-0100", generateKey()));
    expect(wrong.message).toMatch(/not authorized|unauthorized/i);
    expect(await deviceExists(suite.registry, "fleet-sim-0100")).toBe(false);
    // A key derived from another group's key is no key of this DPS.
    const unknown = await rejection(register("stranger", deriveDeviceKey(generateKey(), "stranger")));
    expect(unknown.message).toMatch(/not authorized|unauthorized/i);
    expect(await deviceExists(suite.registry, "stranger")).toBe(false);
    await expect(dps().getDeviceRegistrationState("stranger")).rejects.toThrow();
    await logged;
    // The SDK does not retry a refused CONNECT: one attempt, one refusal.
    expect(suite.hub.output().match(/dps: refused fleet-sim-0100:/g)).toHaveLength(1);
  });

  it("refuses the devices of a disabled group with DPS's disabled status, creating nothing", async () => {
    await putGroup("paused", {
      provisioningStatus: "disabled",
      attestation: {
        type: "symmetricKey",
        symmetricKey: { primaryKey: generateKey(), secondaryKey: generateKey() },
      },
    });
    const group = (await dps().getEnrollmentGroupAttestationMechanism("paused")).responseBody;
    const error = await rejection(
      register("paused-1", deriveDeviceKey(group.symmetricKey!.primaryKey, "paused-1")),
    );
    // azure-iot-provisioning-device 1.9 knows no `disabled` status: it fails with "status is disabled".
    expect(error.message).toBe("status is disabled");
    expect(error.result).toMatchObject({ status: "disabled" });
    expect(await deviceExists(suite.registry, "paused-1")).toBe(false);
  });

  it("re-registration keeps the device's data by DPS's default policy (migrateDeviceData)", async () => {
    const key = deriveDeviceKey(GROUP_KEY, "fleet-sim-0003");
    expect((await register("fleet-sim-0003", key)).substatus).toBe("initialAssignment");
    const twin = (await suite.registry.getTwin("fleet-sim-0003")).responseBody;
    await suite.registry.updateTwin("fleet-sim-0003", { tags: { site: "moved" } }, twin.etag);
    expect((await register("fleet-sim-0003", key)).substatus).toBe("deviceDataMigrated");
    expect((await suite.registry.getTwin("fleet-sim-0003")).responseBody.tags).toEqual({ site: "moved" });
  });

  it("re-registration with migrateDeviceData false resets the device's data to the initial twin", async () => {
    const key = generateKey();
    await putGroup("reset", {
      attestation: { type: "symmetricKey", symmetricKey: { primaryKey: key, secondaryKey: generateKey() } },
      reprovisionPolicy: { updateHubAssignment: true, migrateDeviceData: false },
    });
    const deviceKey = deriveDeviceKey(key, "reset-1");
    expect((await register("reset-1", deviceKey)).substatus).toBe("initialAssignment");
    const twin = (await suite.registry.getTwin("reset-1")).responseBody;
    await suite.registry.updateTwin("reset-1", { tags: { site: "moved" } }, twin.etag);
    const first = (await suite.registry.get("reset-1")).responseBody;
    expect((await register("reset-1", deviceKey)).substatus).toBe("deviceDataReset");
    expect((await suite.registry.getTwin("reset-1")).responseBody.tags).toEqual(INITIAL_TWIN.tags);
    expect((await suite.registry.get("reset-1")).responseBody.generationId).not.toBe(first.generationId);
  });
});

describe("the DPS device endpoint and hostile input", () => {
  it("answers a register request {operationId, assigning} and the operation status with the registration state", async () => {
    const client = rawClient("raw-1");
    await connected(client);
    expect(await subscribe(client, "$dps/registrations/res/#")).toBe(0);
    const accepted = await registerRaw(client, JSON.stringify({ registrationId: "raw-1" }));
    expect(accepted.status).toBe(202);
    expect(accepted.body).toEqual({ operationId: expect.any(String), status: "assigning" });
    const answer = nextMessage(client);
    client.publish(dpsTopics.operationStatus("2", accepted.body.operationId as string), " ", { qos: 1 });
    const { topic, payload } = await answer;
    expect(topic).toBe("$dps/registrations/res/200/?$rid=2");
    expect(JSON.parse(payload)).toMatchObject({
      operationId: accepted.body.operationId,
      status: "assigned",
      registrationState: { registrationId: "raw-1", deviceId: "raw-1", status: "assigned" },
    });
    // Another operation id is no operation of this device.
    const missing = nextMessage(client);
    client.publish(dpsTopics.operationStatus("3", "4.unknown"), " ", { qos: 1 });
    expect((await missing).topic).toBe("$dps/registrations/res/404/?$rid=3");
    await end(client);
  });

  it("answers a register request over the dpsRegistration quota with 429, DPS's code and retry-after", async () => {
    expect((await suite.hub.cli("quota", "set", "dpsRegistration=1/min")).code).toBe(0);
    try {
      const client = rawClient("raw-quota");
      await connected(client);
      await subscribe(client, "$dps/registrations/res/#");
      expect((await registerRaw(client, JSON.stringify({ registrationId: "raw-quota" }), "1")).status).toBe(
        202,
      );
      const answer = nextMessage(client);
      client.publish(dpsTopics.register("2"), JSON.stringify({ registrationId: "raw-quota" }), { qos: 1 });
      const { topic, payload } = await answer;
      expect(topic).toBe("$dps/registrations/res/429/?$rid=2&retry-after=1");
      expect(JSON.parse(payload)).toMatchObject({ errorCode: 429001 });
      await end(client);
    } finally {
      await suite.hub.cli("quota", "clear");
    }
  });

  it("answers malformed, deep or mismatched register bodies with 400 naming the field, creating nothing", async () => {
    const client = rawClient("raw-bad");
    await connected(client);
    await subscribe(client, "$dps/registrations/res/#");
    const deep = "[".repeat(5000) + "]".repeat(5000);
    const cases: Array<[string, RegExp]> = [
      ["{not json", /^body: must be JSON/],
      [deep, /^body: must be a JSON object/],
      [JSON.stringify({ registrationId: "raw-other" }), /^registrationId: must be the registration id/],
      [`{"registrationId":{"a":${deep}}}`, /^registrationId: must be the registration id/],
      [JSON.stringify({ registrationId: "raw-bad", extra: 1 }), /^extra: is not a field/],
    ];
    for (const [index, [body, message]] of cases.entries()) {
      const answer = await registerRaw(client, body, String(index));
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ errorCode: 400004, message: expect.stringMatching(message) });
    }
    await end(client);
    expect(await deviceExists(suite.registry, "raw-bad")).toBe(false);
    expect(await deviceExists(suite.registry, "raw-other")).toBe(false);
  });

  it("closes the connection of an oversized register request as soon as its header arrives", async () => {
    const client = rawClient("raw-big");
    await connected(client);
    await subscribe(client, "$dps/registrations/res/#");
    const gone = closed(client);
    const logged = suite.hub.waitForOutput(
      /dps: closed the connection of .*PUBLISH of \d+ bytes \(a message may be at most 16384 bytes\)/,
    );
    client.publish(
      dpsTopics.register("1"),
      JSON.stringify({ registrationId: "raw-big", payload: "x".repeat(17 * 1024) }),
      {
        qos: 1,
      },
    );
    await gone;
    await logged;
    expect(await deviceExists(suite.registry, "raw-big")).toBe(false);
  });

  it("closes the connection of a publish to another topic or with QoS 2; refuses other subscriptions", async () => {
    const client = rawClient("raw-topic");
    await connected(client);
    expect(await subscribe(client, "$iothub/twin/res/#")).toBe(128);
    expect(await subscribe(client, "$dps/registrations/#")).toBe(128);
    const gone = closed(client);
    client.publish("$dps/registrations/res/200/?$rid=1", "{}", { qos: 0 });
    await gone;

    const qos2 = rawClient("raw-qos2");
    await connected(qos2);
    await subscribe(qos2, "$dps/registrations/res/#");
    const qos2Gone = closed(qos2);
    const qos2Logged = suite.hub.waitForOutput(/dps: raw-qos2 published with QoS 2/);
    qos2.publish(dpsTopics.register("1"), JSON.stringify({ registrationId: "raw-qos2" }), { qos: 2 });
    await qos2Gone;
    expect(await deviceExists(suite.registry, "raw-qos2")).toBe(false);
    await qos2Logged;
  });

  it("closes a connection when its SAS token expires, as the hub does", async () => {
    const resource = `${suite.hub.info.dps!.idScope}/registrations/raw-expiring`;
    // A few seconds: the connect itself must happen before the token expires, also on a busy machine.
    const expiry = Math.floor(Date.now() / 1000) + 4;
    const logged = suite.hub.waitForOutput(/dps: closing raw-expiring: its SAS token has expired/);
    const client = rawClient("raw-expiring", {
      password: createSasToken(resource, deriveDeviceKey(GROUP_KEY, "raw-expiring"), expiry, "registration"),
    });
    await connected(client);
    const gone = closed(client);
    await gone;
    await logged;
    expect(Date.now()).toBeGreaterThanOrEqual(expiry * 1000);
    await end(client);
  });

  it("refuses at CONNECT a registration id with control characters, another id scope and a token for another id", async () => {
    // The log line is escaped: the id's newline cannot start a line of its own.
    const logged = suite.hub.waitForOutput(/dps: refused evil\\x0aid: clientId: may contain only/);
    const control = rawClient("evil\nid", { key: deriveDeviceKey(GROUP_KEY, "evil\nid") });
    await expect(connected(control)).rejects.toMatchObject({ code: 5 });
    await end(control);
    await logged;

    const otherScope = rawClient("raw-scope", { idScope: "0ne00000000" });
    await expect(connected(otherScope)).rejects.toMatchObject({ code: 5 });
    await end(otherScope);

    const borrowed = rawClient("raw-borrow", {
      password: createSasToken(
        `${suite.hub.info.dps!.idScope}/registrations/fleet-sim-0001`,
        deriveDeviceKey(GROUP_KEY, "fleet-sim-0001"),
        Math.floor(Date.now() / 1000) + 600,
        "registration",
      ),
    });
    await expect(connected(borrowed)).rejects.toMatchObject({ code: 5 });
    await end(borrowed);
    expect(await deviceExists(suite.registry, "raw-scope")).toBe(false);
    expect(await deviceExists(suite.registry, "raw-borrow")).toBe(false);
  });
});
