import type { Registry } from "azure-iothub";
import { createSasToken, parseConnectionString, signature } from "../../lib/iothub/sas";
import { startHub, type TestHub } from "../support/hubProcess";
import { hubRegistry } from "../support/suiteHub";
import {
  closed,
  connected,
  createModule,
  end,
  nextMessage,
  rawMqttClient,
  subscribe,
  type ModuleIdentity,
  type RawMqttClient,
} from "./mqttSupport";
import { serviceRequest, type RawResponse } from "./serviceRequest";

// Input the hub cannot trust, answered as IoT Hub answers it: nothing a client sends writes lines into the hub's
// log, QoS 2 publishes close the connection and QoS 2 subscriptions are granted QoS 1, `se` is a plain decimal
// integer, unknown api-versions are refused, '.' / '..' are no device or module ids anywhere, and JSON nested far
// too deep is a 400, never a 500.

describe("untrusted input", () => {
  let hub: TestHub;
  let registry: Registry;
  let ownerKey: string;
  let module: ModuleIdentity;
  const inAnHour = (): number => Math.floor(Date.now() / 1000) + 3600;
  const errorCode = (response: RawResponse): string =>
    /^ErrorCode:([^;]+);/.exec((response.body as { Message: string }).Message)?.[1] ?? "";

  beforeAll(async () => {
    hub = await startHub();
    registry = hubRegistry(hub.info);
    ownerKey = parseConnectionString(hub.info.connectionString).SharedAccessKey;
    module = await createModule(registry, "input-d1", "m1");
  });
  afterAll(async () => {
    await hub?.stop();
  });

  /** The hub's output lines (stdout and stderr) so far. */
  const outputLines = (): string[] => hub.output().split(/\r?\n/);

  describe("the hub's log", () => {
    it("escapes a clientId with a newline and a terminal escape: one refused line, no line of the client's", async () => {
      const logged = hub.waitForOutput(/mqtt: refused ghost/);
      const client = rawMqttClient(hub.info, module, {
        clientId: "ghost\nmqtt: forged line\u001b[2J",
      });
      await expect(connected(client)).rejects.toMatchObject({ code: 5 });
      await end(client);
      const line = await logged;
      expect(line).toContain("ghost\\x0amqtt: forged line\\x1b[2J");
      expect(outputLines().some((output) => output.startsWith("mqtt: forged line"))).toBe(false);
      expect(hub.output()).not.toContain("\u001b");
    });

    it("escapes a policy name (skn) with a newline in a refused service request", async () => {
      const logged = hub.waitForOutput(/no policy named 'nosuch/);
      const token = createSasToken(
        hub.info.hostName,
        ownerKey,
        inAnHour(),
        "nosuch\n[forged] 200 GET /devices",
      );
      const response = await serviceRequest(hub.info, "GET", "/devices", undefined, { authorization: token });
      expect(response.status).toBe(401);
      expect(await logged).toContain("nosuch\\x0a[forged] 200 GET /devices");
      expect(outputLines().some((output) => output.startsWith("[forged]"))).toBe(false);
    });
  });

  describe("MQTT QoS 2", () => {
    const reportedTopic = (rid: number): string => `$iothub/twin/PATCH/properties/reported/?$rid=${rid}`;
    const reported = async (): Promise<Record<string, unknown>> =>
      (await registry.getModuleTwin(module.deviceId, module.moduleId!)).responseBody.properties.reported;

    it("applies a QoS 1 reported patch (the control)", async () => {
      const client = rawMqttClient(hub.info, module);
      await connected(client);
      await subscribe(client, "$iothub/twin/res/#");
      const answer = nextMessage(client);
      client.publish(reportedTopic(1), JSON.stringify({ atLeastOnce: 1 }), { qos: 1 });
      expect((await answer).topic).toMatch(/^\$iothub\/twin\/res\/204\//);
      await end(client);
      expect(await reported()).toMatchObject({ atLeastOnce: 1 });
    });

    /** SUBSCRIBE with QoS 2; resolves with the QoS the SUBACK granted. */
    const subscribeQos2 = (client: RawMqttClient, topic: string): Promise<number> =>
      new Promise((resolve, reject) =>
        client.subscribe(topic, { qos: 2 }, (error, granted) =>
          error ? reject(error) : resolve(granted[0].qos),
        ),
      );

    it("grants a QoS 2 subscription QoS 1 in its SUBACK and pushes desired patches at QoS 1", async () => {
      const client = rawMqttClient(hub.info, module);
      await connected(client);
      expect(await subscribeQos2(client, "$iothub/twin/PATCH/properties/desired/#")).toBe(1);
      const push = new Promise<{ topic: string; qos: number; body: unknown }>((resolve) =>
        client.on("message", (topic, payload, packet) =>
          resolve({ topic, qos: packet.qos, body: JSON.parse(payload.toString()) }),
        ),
      );
      await registry.updateModuleTwin(
        module.deviceId,
        module.moduleId!,
        { properties: { desired: { qos: "two" } } },
        "*",
      );
      expect(await push).toMatchObject({
        topic: expect.stringMatching(/^\$iothub\/twin\/PATCH\/properties\/desired\//),
        qos: 1,
        body: { qos: "two" },
      });
      await end(client);
    });

    it("answers twin requests at QoS 1 on a QoS 2 subscription", async () => {
      const client = rawMqttClient(hub.info, module);
      await connected(client);
      expect(await subscribeQos2(client, "$iothub/twin/res/#")).toBe(1);
      const delivery = new Promise<number>((resolve) =>
        client.on("message", (_topic, _payload, packet) => resolve(packet.qos)),
      );
      client.publish("$iothub/twin/GET/?$rid=3", "", { qos: 1 });
      expect(await delivery).toBe(1);
      await end(client);
    });

    it("closes the connection of a QoS 2 PUBLISH and delivers nothing of it", async () => {
      const client = rawMqttClient(hub.info, module);
      await connected(client);
      await subscribe(client, "$iothub/twin/res/#");
      const answers: string[] = [];
      client.on("message", (topic: string) => answers.push(topic));
      const wasClosed = closed(client);
      client.publish(reportedTopic(2), JSON.stringify({ exactlyOnce: 2 }), { qos: 2 });
      await wasClosed;
      await end(client);
      expect(answers).toEqual([]);
      expect(await reported()).not.toHaveProperty("exactlyOnce");
    });
  });

  describe("se", () => {
    /** An owner token over the hub whose signature covers `signedSe` while `sentSe` is what the header says. */
    const tokenWith = (signedSe: string, sentSe: string): string => {
      const sr = encodeURIComponent(hub.info.hostName);
      const sig = signature(ownerKey, sr, signedSe);
      return `SharedAccessSignature sr=${sr}&sig=${encodeURIComponent(sig)}&se=${sentSe}&skn=iothubowner`;
    };
    const get = (token: string): Promise<RawResponse> =>
      serviceRequest(hub.info, "GET", "/devices", undefined, { authorization: token });

    it("accepts se as the decimal integer the signature covers (the control)", async () => {
      const se = String(inAnHour());
      expect((await get(tokenWith(se, se))).status).toBe(200);
    });

    it.each([
      ["with a leading zero", (se: string) => `0${se}`],
      ["in hexadecimal", (se: string) => `0x${Number(se).toString(16)}`],
      ["in exponent form", (se: string) => `${Number(se) / 1e9}e9`],
      ["with a fraction", (se: string) => `${se}.0`],
    ])("refuses se %s, though it is the same number, with 401", async (_case, rewrite) => {
      const se = String(inAnHour());
      const response = await get(tokenWith(se, rewrite(se)));
      expect(response.status).toBe(401);
      expect(errorCode(response)).toBe("IotHubUnauthorizedAccess");
    });

    it("refuses a signature made over the rewritten se too", async () => {
      const sent = `0${inAnHour()}`;
      expect((await get(tokenWith(sent, sent))).status).toBe(401);
    });
  });

  describe("api-version", () => {
    const devicesWith = (query: string): Promise<RawResponse> =>
      serviceRequest(hub.info, "GET", `/devices?${query}`);

    it.each([
      "2021-04-12",
      "2020-09-30",
      "2020-05-31-preview",
      "2019-10-01",
      "2019-06-30",
      "2019-03-30",
      "2018-06-30",
    ])("serves api-version %s, which Microsoft's SDKs send", async (version) => {
      expect((await devicesWith(`api-version=${version}`)).status).toBe(200);
    });

    it.each(["2099-01-01", "2021-04-13", "2021-04-12-preview", "latest", "2021-4-12"])(
      "refuses api-version %s with 400 InvalidProtocolVersion",
      async (version) => {
        const response = await devicesWith(`api-version=${encodeURIComponent(version)}`);
        expect(response.status).toBe(400);
        expect(errorCode(response)).toBe("InvalidProtocolVersion");
      },
    );

    it("refuses api-version given twice", async () => {
      const response = await devicesWith("api-version=2021-04-12&api-version=2099-01-01");
      expect(response.status).toBe(400);
      expect(errorCode(response)).toBe("InvalidProtocolVersion");
    });
  });

  describe("deep JSON", () => {
    /** `{"a":{"a":...1...}}` nested `levels` deep, as text (JSON.stringify cannot build it). */
    const nestedText = (levels: number): string => '{"a":'.repeat(levels) + "1" + "}".repeat(levels);
    const tooDeep = /: must be nested at most 10 levels deep/;

    it("answers a desired patch nested 40,000 levels over HTTPS with IoT Hub's 400 and leaves the twin as it was", async () => {
      const before = (await registry.getModuleTwin(module.deviceId, module.moduleId!)).responseBody;
      const response = await serviceRequest(
        hub.info,
        "PATCH",
        `/twins/${module.deviceId}/modules/${module.moduleId}`,
        Buffer.from(`{"properties":{"desired":${nestedText(40_000)}}}`),
        { "if-match": '"*"' },
      );
      expect(response.status).toBe(400);
      expect(errorCode(response)).toBe("ArgumentInvalid");
      expect((response.body as { Message: string }).Message).toMatch(
        /;properties\.desired(\.a){11}: must be nested at most 10 levels deep/,
      );
      const after = (await registry.getModuleTwin(module.deviceId, module.moduleId!)).responseBody;
      expect(after.etag).toBe(before.etag);
      expect(after.properties.desired).toEqual(before.properties.desired);
    });

    it("answers a reported patch nested 40,000 levels over MQTT with 400 on the response topic and keeps the connection", async () => {
      const before = (await registry.getModuleTwin(module.deviceId, module.moduleId!)).responseBody;
      const client = rawMqttClient(hub.info, module);
      await connected(client);
      await subscribe(client, "$iothub/twin/res/#");
      const refused = nextMessage(client);
      client.publish("$iothub/twin/PATCH/properties/reported/?$rid=40", nestedText(40_000), { qos: 1 });
      const answer = await refused;
      expect(answer.topic).toBe("$iothub/twin/res/400/?$rid=40");
      expect(JSON.parse(answer.payload)).toMatchObject({
        errorCode: 400004,
        message: expect.stringMatching(tooDeep),
      });
      // The same connection still gets answers.
      const got = nextMessage(client);
      client.publish("$iothub/twin/GET/?$rid=41", "", { qos: 1 });
      expect((await got).topic).toBe("$iothub/twin/res/200/?$rid=41");
      await end(client);
      const after = (await registry.getModuleTwin(module.deviceId, module.moduleId!)).responseBody;
      expect(after.etag).toBe(before.etag);
      expect(after.properties.reported).toEqual(before.properties.reported);
    });

    it.each([
      [
        "a device id in the body",
        "/devices/deep-id",
        '{"deviceId":LIST}',
        /deviceId: must be a string, the device id in the path 'deep-id'/,
      ],
      [
        "parentScopes",
        "/devices/deep-scopes",
        '{"parentScopes":[LIST]}',
        /parentScopes: must be a list of strings/,
      ],
      [
        "a module id in the body",
        "/devices/input-d1/modules/deep-m",
        '{"moduleId":LIST}',
        /moduleId: must be a string, the module id in the path 'deep-m'/,
      ],
    ])(
      "answers a registry PUT with %s nested 40,000 deep with 400 and creates nothing",
      async (_case, path, body, message) => {
        const deepList = "[".repeat(40_000) + "]".repeat(40_000);
        const response = await serviceRequest(
          hub.info,
          "PUT",
          path,
          Buffer.from(body.replace("LIST", deepList)),
        );
        expect(response.status).toBe(400);
        expect(errorCode(response)).toBe("ArgumentInvalid");
        expect((response.body as { Message: string }).Message).toMatch(message);
        expect((await serviceRequest(hub.info, "GET", path)).status).toBe(404);
      },
    );

    it("fails a bulk entry whose id is a list nested 40,000 deep on its own, with ArgumentInvalid", async () => {
      const deepList = "[".repeat(40_000) + "]".repeat(40_000);
      const response = await serviceRequest(
        hub.info,
        "POST",
        "/devices",
        Buffer.from(
          `[{"id":${deepList},"importMode":"create"},{"id":"bulk-after-deep-id","importMode":"create"}]`,
        ),
      );
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({
        isSuccessful: false,
        errors: [{ errorCode: "ArgumentInvalid" }],
      });
      await expect(registry.get("bulk-after-deep-id")).resolves.toBeDefined();
    });

    it("fails a bulk entry that is a list nested 40,000 deep on its own, with ArgumentInvalid", async () => {
      const response = await serviceRequest(
        hub.info,
        "POST",
        "/devices",
        Buffer.from(
          `[${"[".repeat(40_000)}${"]".repeat(40_000)},{"id":"bulk-after-deep","importMode":"create"}]`,
        ),
      );
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({
        isSuccessful: false,
        errors: [{ deviceId: "", errorCode: "ArgumentInvalid" }],
      });
      await expect(registry.get("bulk-after-deep")).resolves.toBeDefined();
    });
  });

  describe("'.' and '..' as ids", () => {
    it.each([".", ".."])(
      "refuses device id %s through the SDK, naming the field and the rule",
      async (id) => {
        await expect(registry.create({ deviceId: id })).rejects.toMatchObject({
          message: expect.stringContaining("deviceId: must not be '.' or '..'"),
        });
      },
    );

    it.each([".", ".."])(
      "refuses module id %s through the SDK, naming the field and the rule",
      async (id) => {
        await expect(registry.addModule({ deviceId: module.deviceId, moduleId: id })).rejects.toMatchObject({
          message: expect.stringContaining("moduleId: must not be '.' or '..'"),
        });
      },
    );

    it("refuses them in bulk, for create and delete alike, and goes on with the other entries", async () => {
      const created = (
        await registry.addDevices([{ deviceId: "." }, { deviceId: "bulk-ok" }, { deviceId: ".." }])
      ).responseBody;
      expect(created.errors.map((error) => [error.deviceId, error.errorCode])).toEqual([
        [".", "ArgumentInvalid"],
        ["..", "ArgumentInvalid"],
      ]);
      expect(created.errors[0].errorStatus).toContain("deviceId: must not be '.' or '..'");
      const removed = (await registry.removeDevices([{ deviceId: ".." }], true)).responseBody;
      expect(removed.errors.map((error) => [error.deviceId, error.errorCode])).toEqual([
        ["..", "ArgumentInvalid"],
      ]);
      const ids = (await registry.list()).responseBody.map((device) => device.deviceId);
      expect(ids).toContain("bulk-ok");
      expect(ids).not.toContain(".");
      expect(ids).not.toContain("..");
    });
  });
});
