import type { Configuration } from "azure-iothub";
import {
  ArgumentError,
  DeviceAlreadyExistsError,
  InvalidEtagError,
} from "azure-iothub/dist/common-core/errors";
import { useSuiteHub } from "../support/suiteHub";
import { serviceRequest, type RawResponse } from "./serviceRequest";

// ADM configurations and edge deployments through the real service SDK's Registry against a real local hub: the
// API, IoT Hub's rules and limits, and IoT Edge devices' system modules. What the engine does with them: adm.test.ts.

const suite = useSuiteHub();

const errorCode = (response: RawResponse): string =>
  /^ErrorCode:([^;]+);/.exec((response.body as { Message: string }).Message)?.[1] ?? "";

/** The SDK's error keeps IoT Hub's body: the error code is there (its message is the text after the code). */
const withCode = (code: string): Record<string, unknown> => ({
  responseBody: expect.stringContaining(`ErrorCode:${code};`),
});

const deviceConfiguration = (id: string, extra: Partial<Configuration> = {}): Configuration => ({
  id,
  schemaVersion: "1.0",
  content: { deviceContent: { "properties.desired.firmware": { version: "1.0.0" } } },
  targetCondition: "tags.kind='sensor'",
  priority: 10,
  labels: { owner: "platform" },
  ...extra,
});

const getConfiguration = async (id: string): Promise<Configuration> =>
  (await suite.registry.getConfiguration(id)).responseBody;

describe("configurations", () => {
  it("creates, gets and lists a configuration with its etag, times and metrics", async () => {
    const created = (await suite.registry.addConfiguration(deviceConfiguration("fw-stable"))).responseBody;
    expect(created).toMatchObject({
      id: "fw-stable",
      schemaVersion: "1.0",
      targetCondition: "tags.kind='sensor'",
      priority: 10,
      labels: { owner: "platform" },
      content: { deviceContent: { "properties.desired.firmware": { version: "1.0.0" } } },
      etag: Buffer.from("1").toString("base64"),
    });
    expect(Date.parse(created.createdTimeUtc!)).not.toBeNaN();
    expect(created.metrics).toEqual({ results: {}, queries: {} });
    const read = await getConfiguration("fw-stable");
    expect(read.etag).toBe(created.etag);
    const listed = (await suite.registry.getConfigurations()).responseBody.map((c) => c.id);
    expect(listed).toContain("fw-stable");
  });

  it("refuses to create an id that exists (409 DeviceAlreadyExistsError, code ConfigurationAlreadyExists)", async () => {
    await suite.registry.addConfiguration(deviceConfiguration("dup"));
    const again = suite.registry.addConfiguration(deviceConfiguration("dup", { priority: 99 }));
    await expect(again).rejects.toBeInstanceOf(DeviceAlreadyExistsError);
    await expect(again).rejects.toMatchObject(withCode("ConfigurationAlreadyExists"));
    expect((await getConfiguration("dup")).priority).toBe(10);
  });

  it("updates priority, target condition, labels and metrics with the etag; content and id stay as created", async () => {
    const created = (await suite.registry.addConfiguration(deviceConfiguration("upd"))).responseBody;
    const updated = (
      await suite.registry.updateConfiguration({
        ...created,
        priority: 20,
        targetCondition: "tags.kind='gateway'",
        labels: { owner: "ops" },
        metrics: { queries: { stable: "SELECT deviceId FROM devices WHERE tags.ring='stable'" } },
        content: { deviceContent: { "properties.desired.firmware": { version: "2.0.0" } } },
      })
    ).responseBody;
    expect(updated).toMatchObject({
      priority: 20,
      targetCondition: "tags.kind='gateway'",
      labels: { owner: "ops" },
      metrics: { queries: { stable: "SELECT deviceId FROM devices WHERE tags.ring='stable'" } },
      // IoT Hub answers 200 and keeps the content it was created with.
      content: { deviceContent: { "properties.desired.firmware": { version: "1.0.0" } } },
      createdTimeUtc: created.createdTimeUtc,
    });
    expect(updated.etag).not.toBe(created.etag);
    expect(await getConfiguration("upd")).toMatchObject({ priority: 20, etag: updated.etag });
  });

  it("refuses an update with a stale etag (InvalidEtagError) and forces one with *", async () => {
    const created = (await suite.registry.addConfiguration(deviceConfiguration("etag"))).responseBody;
    await suite.registry.updateConfiguration({ ...created, priority: 11 });
    const stale = suite.registry.updateConfiguration({ ...created, priority: 12 });
    await expect(stale).rejects.toBeInstanceOf(InvalidEtagError);
    expect((await getConfiguration("etag")).priority).toBe(11);
    await suite.registry.updateConfiguration({ ...created, priority: 13 }, true);
    expect((await getConfiguration("etag")).priority).toBe(13);
  });

  it("updating a configuration that does not exist is 404 ConfigurationNotFound, nothing is created", async () => {
    const missing = suite.registry.updateConfiguration(deviceConfiguration("never-made"), true);
    await expect(missing).rejects.toMatchObject(withCode("ConfigurationNotFound"));
    await expect(suite.registry.getConfiguration("never-made")).rejects.toMatchObject(
      withCode("ConfigurationNotFound"),
    );
  });

  it("removes a configuration (the SDK sends no If-Match); a stale If-Match is 412", async () => {
    const created = (await suite.registry.addConfiguration(deviceConfiguration("gone"))).responseBody;
    const stale = await serviceRequest(suite.hub.info, "DELETE", "/configurations/gone", undefined, {
      "if-match": '"c3RhbGU="',
    });
    expect(stale.status).toBe(412);
    expect((await getConfiguration("gone")).etag).toBe(created.etag);
    await suite.registry.removeConfiguration("gone");
    await expect(suite.registry.getConfiguration("gone")).rejects.toMatchObject(
      withCode("ConfigurationNotFound"),
    );
    await expect(suite.registry.removeConfiguration("gone")).rejects.toMatchObject(
      withCode("ConfigurationNotFound"),
    );
  });

  it("lists at most `top` configurations, in the order of creation", async () => {
    const all = (await suite.registry.getConfigurations()).responseBody.map((c) => c.id);
    const two = await serviceRequest(suite.hub.info, "GET", "/configurations?top=2");
    expect((two.body as Configuration[]).map((c) => c.id)).toEqual(all.slice(0, 2));
    const bad = await serviceRequest(suite.hub.info, "GET", "/configurations?top=zero");
    expect(bad.status).toBe(400);
  });

  it("needs RegistryWrite to write and RegistryRead to read", async () => {
    const added = await suite.hub.cli("policy", "add", "reader", "--rights", "RegistryRead");
    expect(added.code).toBe(0);
    const reader = { connectionString: added.stdout.trim(), caFile: suite.hub.info.caFile };
    const read = await serviceRequest(reader, "GET", "/configurations");
    expect(read.status).toBe(200);
    const write = await serviceRequest(
      reader,
      "PUT",
      "/configurations/by-reader",
      deviceConfiguration("by-reader"),
    );
    expect(write.status).toBe(401);
    const onlyTwins = await suite.hub.cli("policy", "add", "twins", "--rights", "ServiceConnect");
    const twins = { connectionString: onlyTwins.stdout.trim(), caFile: suite.hub.info.caFile };
    expect((await serviceRequest(twins, "GET", "/configurations")).status).toBe(401);
    await expect(suite.registry.getConfiguration("by-reader")).rejects.toMatchObject(
      withCode("ConfigurationNotFound"),
    );
  });

  describe("IoT Hub's rules: 400 naming the field and the rule, nothing stored", () => {
    const refused = async (
      id: string,
      body: unknown,
      code: string,
      message: RegExp,
      path = `/configurations/${encodeURIComponent(id)}`,
    ): Promise<void> => {
      const response = await serviceRequest(suite.hub.info, "PUT", path, body);
      expect(response.status).toBe(400);
      expect(errorCode(response)).toBe(code);
      expect((response.body as { Message: string }).Message).toMatch(message);
      expect((await serviceRequest(suite.hub.info, "GET", path)).status).toBe(404);
    };

    it("ids: lowercase letters, digits and - + % _ * ! ', at most 128", async () => {
      await expect(suite.registry.addConfiguration(deviceConfiguration("Upper"))).rejects.toBeInstanceOf(
        ArgumentError,
      );
      await refused(
        "Upper",
        deviceConfiguration("Upper"),
        "ArgumentInvalid",
        /id: may contain only lowercase/,
      );
      await refused(
        "a".repeat(129),
        deviceConfiguration("a".repeat(129)),
        "ArgumentInvalid",
        /id: must be at most 128/,
      );
      await refused("a.b", deviceConfiguration("a.b"), "ArgumentInvalid", /id: may contain only/);
      await refused(
        "other",
        deviceConfiguration("not-other"),
        "ArgumentInvalid",
        /id: must match the id in the path/,
      );
    });

    it("labels and priority", async () => {
      await refused(
        "labels",
        deviceConfiguration("labels", { labels: { $owner: "x" } }),
        "ArgumentInvalid",
        /labels key '\$owner'/,
      );
      await refused(
        "labels2",
        { ...deviceConfiguration("labels2"), labels: { owner: 5 } },
        "ArgumentInvalid",
        /labels\.owner: must be a non-empty string/,
      );
      await refused(
        "prio",
        { ...deviceConfiguration("prio"), priority: -1 },
        "ArgumentInvalid",
        /priority: must be a non-negative integer/,
      );
      await refused(
        "prio2",
        { ...deviceConfiguration("prio2"), priority: 1.5 },
        "ArgumentInvalid",
        /priority: must be a non-negative integer/,
      );
    });

    it("content: exactly one kind, properties.desired paths, twin rules, $edgeAgent and 50 modules per deployment", async () => {
      await refused(
        "none",
        { ...deviceConfiguration("none"), content: {} },
        "InvalidConfigurationContent",
        /content: must hold exactly one of/,
      );
      await refused(
        "missing",
        { id: "missing", targetCondition: "*", priority: 1 },
        "InvalidConfigurationContent",
        /content: must be an object/,
      );
      await refused(
        "mixed",
        {
          ...deviceConfiguration("mixed"),
          content: { deviceContent: {}, modulesContent: { $edgeAgent: {} } },
        },
        "InvalidConfigurationContent",
        /content: must hold exactly one of/,
      );
      await refused(
        "tags",
        { ...deviceConfiguration("tags"), content: { deviceContent: { "tags.x": 1 } } },
        "InvalidConfigurationContent",
        /content\.deviceContent\.tags\.x: keys must be 'properties\.desired'/,
      );
      await refused(
        "big",
        {
          ...deviceConfiguration("big"),
          content: {
            deviceContent: {
              "properties.desired.blob": {
                a: "x".repeat(4000),
                b: "x".repeat(4000),
                c: "x".repeat(4000),
                d: "x".repeat(4000),
                e: "x".repeat(4000),
                f: "x".repeat(4000),
                g: "x".repeat(4000),
                h: "x".repeat(4000),
                i: "x".repeat(4000),
              },
            },
          },
        },
        "InvalidConfigurationContent",
        /must be at most 32768 bytes/,
      );
      let deep: Record<string, unknown> = { leaf: 1 };
      for (let i = 0; i < 12; i++) deep = { nested: deep };
      await refused(
        "deep",
        { ...deviceConfiguration("deep"), content: { deviceContent: { "properties.desired": deep } } },
        "InvalidConfigurationContent",
        /must be nested at most 10 levels deep/,
      );
      await refused(
        "hub-only",
        {
          ...deviceConfiguration("hub-only"),
          content: { modulesContent: { $edgeHub: { "properties.desired": {} } } },
        },
        "InvalidConfigurationContent",
        /content\.modulesContent: must set \$edgeAgent/,
      );
      const modules = Object.fromEntries(
        Array.from({ length: 51 }, (_, i) => [`m${i}`, { type: "docker", settings: { image: "i" } }]),
      );
      await refused(
        "too-many",
        {
          ...deviceConfiguration("too-many"),
          content: { modulesContent: { $edgeAgent: { "properties.desired": { modules } } } },
        },
        "InvalidConfigurationContent",
        /may set at most 50 modules \(it sets 51\)/,
      );
    });

    it("target conditions: query syntax, and only deviceId, tags and properties.reported", async () => {
      await refused(
        "syntax",
        deviceConfiguration("syntax", { targetCondition: "tags.kind = = 'x'" }),
        "InvalidConfigurationTargetCondition",
        /targetCondition: expected a property or a value/,
      );
      await refused(
        "desired",
        deviceConfiguration("desired", { targetCondition: "properties.desired.x = 1" }),
        "InvalidConfigurationTargetCondition",
        /'properties\.desired\.x' cannot be targeted/,
      );
      await refused(
        "module-from",
        { ...deviceConfiguration("module-from"), content: { moduleContent: { "properties.desired.x": 1 } } },
        "InvalidConfigurationTargetCondition",
        /must start with FROM devices\.modules WHERE/,
      );
      await refused(
        "metric",
        deviceConfiguration("metric", { metrics: { queries: { broken: "SELECT deviceId FROM nowhere" } } }),
        "ArgumentInvalid",
        /metrics\.queries\.broken: FROM nowhere/,
      );
    });

    it("empty, non-object and oversized bodies: 400 / 413, nothing stored", async () => {
      const empty = await serviceRequest(suite.hub.info, "PUT", "/configurations/empty");
      expect(empty.status).toBe(400);
      expect((empty.body as { Message: string }).Message).toMatch(/body: must be a configuration object/);
      const big = await serviceRequest(suite.hub.info, "PUT", "/configurations/huge", {
        ...deviceConfiguration("huge"),
        labels: Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`l${i}`, "x".repeat(100)])),
      });
      expect(big.status).toBe(413);
      await refused(
        "array",
        [deviceConfiguration("array")],
        "InvalidConfigurationContent",
        /body: must be a configuration object/,
      );
      expect((await serviceRequest(suite.hub.info, "GET", "/configurations/huge")).status).toBe(404);
      expect((await serviceRequest(suite.hub.info, "GET", "/configurations/empty")).status).toBe(404);
    });

    it("content nested 40,000 levels deep: 400 naming the first property too deep, not a server error", async () => {
      const depth = 40_000;
      const desired = `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
      const body = Buffer.from(
        `{"id":"deep","targetCondition":"*","content":{"deviceContent":{"properties.desired":${desired}}}}`,
      );
      const deep = await serviceRequest(suite.hub.info, "PUT", "/configurations/deep", body);
      expect(deep.status).toBe(400);
      expect((deep.body as { Message: string }).Message).toContain(
        `content.deviceContent${".a".repeat(11)}: must be nested at most 10 levels deep`,
      );
      expect((await serviceRequest(suite.hub.info, "GET", "/configurations/deep")).status).toBe(404);
    });
  });

  it("takes at most 100 configurations (403, the SDK's TooManyDevicesError); the 101st is not stored", async () => {
    const existing = (await suite.registry.getConfigurations()).responseBody.length;
    for (let i = existing; i < 100; i++) {
      const response = await serviceRequest(
        suite.hub.info,
        "PUT",
        `/configurations/fill-${i}`,
        deviceConfiguration(`fill-${i}`),
      );
      expect(response.status).toBe(200);
    }
    const over = await serviceRequest(
      suite.hub.info,
      "PUT",
      "/configurations/one-too-many",
      deviceConfiguration("one-too-many"),
    );
    expect(over.status).toBe(403);
    expect(errorCode(over)).toBe("IotHubQuotaExceeded");
    expect((await suite.registry.getConfigurations()).responseBody).toHaveLength(100);
    for (let i = existing; i < 100; i++) await suite.registry.removeConfiguration(`fill-${i}`);
  });

  describe("testQueries", () => {
    const test = async (body: unknown): Promise<RawResponse> =>
      serviceRequest(suite.hub.info, "POST", "/configurations/testQueries", body);

    it("answers 200 with the errors of the target condition and each metric query (empty when they parse)", async () => {
      const fine = await test({
        targetCondition: "tags.kind='sensor' AND properties.reported.fw = '1.0'",
        customMetricQueries: {
          applied: "SELECT deviceId FROM devices WHERE configurations.[[fw-stable]].status='Applied'",
        },
      });
      expect(fine.status).toBe(200);
      expect(fine.body).toEqual({ targetConditionError: "", customMetricQueryErrors: {} });
      const broken = await test({
        targetCondition: "tags.kind = ",
        customMetricQueries: { ok: "SELECT * FROM devices", bad: "SELECT deviceId FROM devices WHERE (" },
      });
      expect(broken.status).toBe(200);
      const answer = broken.body as {
        targetConditionError: string;
        customMetricQueryErrors: Record<string, string>;
      };
      expect(answer.targetConditionError).not.toBe("");
      expect(Object.keys(answer.customMetricQueryErrors)).toEqual(["bad"]);
    });

    it("refuses '*' (a configuration may target it, testQueries takes conditions only) and malformed bodies", async () => {
      const star = await test({ targetCondition: "*" });
      expect((star.body as { targetConditionError: string }).targetConditionError).not.toBe("");
      expect((await test([1])).status).toBe(400);
      expect((await test({ targetCondition: 5 })).status).toBe(400);
      expect((await test({ customMetricQueries: { a: 1 } })).status).toBe(400);
    });
  });

  describe("IoT Edge devices", () => {
    it("a device created with capabilities.iotEdge gets $edgeAgent and $edgeHub (managed by iotEdge), with twins", async () => {
      await suite.registry.create({ deviceId: "edge-1", capabilities: { iotEdge: true } });
      const modules = (await suite.registry.getModulesOnDevice("edge-1")).responseBody;
      expect(modules.map((m) => m.moduleId).sort()).toEqual(["$edgeAgent", "$edgeHub"]);
      for (const module of modules) {
        expect(module).toMatchObject({ managedBy: "iotEdge", authentication: { type: "none" } });
      }
      const agentTwin = (await suite.registry.getModuleTwin("edge-1", "$edgeAgent")).responseBody;
      expect(agentTwin).toMatchObject({ deviceId: "edge-1", moduleId: "$edgeAgent" });
      await suite.registry.create({ deviceId: "leaf-1" });
      expect((await suite.registry.getModulesOnDevice("leaf-1")).responseBody).toEqual([]);
    });

    it("a device that becomes an IoT Edge device gets them too", async () => {
      const leaf = (await suite.registry.create({ deviceId: "becomes-edge" })).responseBody;
      await suite.registry.update({ ...leaf, capabilities: { iotEdge: true } });
      const ids = (await suite.registry.getModulesOnDevice("becomes-edge")).responseBody.map(
        (m) => m.moduleId,
      );
      expect(ids.sort()).toEqual(["$edgeAgent", "$edgeHub"]);
    });

    it("applyConfigurationContentOnDevice writes a manifest into the module twins (204); refused for a leaf device", async () => {
      await suite.registry.create({ deviceId: "edge-apply", capabilities: { iotEdge: true } });
      const manifest = {
        modulesContent: {
          $edgeAgent: {
            "properties.desired": { schemaVersion: "1.1", runtime: { type: "docker" }, modules: {} },
          },
          $edgeHub: { "properties.desired": { schemaVersion: "1.1", routes: {} } },
        },
      };
      await suite.registry.applyConfigurationContentOnDevice("edge-apply", manifest);
      const agent = (await suite.registry.getModuleTwin("edge-apply", "$edgeAgent")).responseBody;
      expect(agent.properties.desired).toMatchObject({ schemaVersion: "1.1", runtime: { type: "docker" } });
      const hubTwin = (await suite.registry.getModuleTwin("edge-apply", "$edgeHub")).responseBody;
      expect(hubTwin.properties.desired).toMatchObject({ routes: {} });

      await suite.registry.create({ deviceId: "leaf-apply" });
      await expect(suite.registry.applyConfigurationContentOnDevice("leaf-apply", manifest)).rejects.toThrow(
        /not an Azure IoT Edge device/,
      );
      const noAgent = await serviceRequest(
        suite.hub.info,
        "POST",
        "/devices/edge-apply/applyConfigurationContent",
        {
          modulesContent: { $edgeHub: { "properties.desired": { routes: { evil: "x" } } } },
        },
      );
      expect(noAgent.status).toBe(400);
      expect(errorCode(noAgent)).toBe("InvalidConfigurationContent");
      const unchanged = (await suite.registry.getModuleTwin("edge-apply", "$edgeHub")).responseBody;
      expect(unchanged.properties.desired).not.toHaveProperty("routes.evil");
      await expect(suite.registry.applyConfigurationContentOnDevice("ghost", manifest)).rejects.toThrow(
        /DeviceNotFound|not found/i,
      );
    });
  });
});
