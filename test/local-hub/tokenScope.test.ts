import type { Registry } from "azure-iothub";
import { connected, end, rawMqttClient, type ModuleIdentity } from "./mqttSupport";
import { createSasToken, parseConnectionString, signature } from "../../lib/iothub/sas";
import { startHub, type TestHub } from "../support/hubProcess";
import { hubRegistry } from "../support/suiteHub";
import { serviceRequest, type RawResponse } from "./serviceRequest";

// A SAS token's sr limits what it may reach, as on IoT Hub: the hub's host name (any case), then a path whose
// segments every request of the token must start with. Tokens are signed with the owner policy's key, so only the
// scope can be the reason for a refusal.

describe("SAS token scope on the service API", () => {
  let hub: TestHub;
  let registry: Registry;
  let ownerKey: string;
  const inAnHour = (): number => Math.floor(Date.now() / 1000) + 3600;

  beforeAll(async () => {
    hub = await startHub();
    registry = hubRegistry(hub.info);
    ownerKey = parseConnectionString(hub.info.connectionString).SharedAccessKey;
    for (const deviceId of ["d1", "d2", "d10"]) await registry.create({ deviceId });
    await registry.addModule({ deviceId: "d1", moduleId: "m1" });
  });
  afterAll(async () => {
    await hub?.stop();
  });

  /** An owner-signed token for `resource` (URL-encoded by createSasToken, as the SDKs do). */
  const scopedTo = (resource: string): string =>
    createSasToken(resource, ownerKey, inAnHour(), "iothubowner");
  /** An owner-signed token whose sr is sent exactly as given (for encodings createSasToken would not produce). */
  const withSrAsSent = (sr: string): string => {
    const se = inAnHour();
    return `SharedAccessSignature sr=${sr}&sig=${encodeURIComponent(signature(ownerKey, sr, se))}&se=${se}&skn=iothubowner`;
  };
  const call = (
    token: string,
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<RawResponse> =>
    serviceRequest(hub.info, method, path, body, { authorization: token, ...headers });
  const expectUnauthorized = (response: RawResponse): void => {
    expect(response.status).toBe(401);
    expect((response.body as { Message: string }).Message).toMatch(/^ErrorCode:IotHubUnauthorizedAccess;/);
  };

  it("lets a token for <host>/devices/d1 reach d1 and what is below it", async () => {
    const token = scopedTo(`${hub.info.hostName}/devices/d1`);
    expect((await call(token, "GET", "/devices/d1")).status).toBe(200);
    expect((await call(token, "GET", "/devices/d1/modules/m1")).status).toBe(200);
    expect((await call(token, "GET", "/devices/d1/modules")).status).toBe(200);
  });

  it.each([
    ["another device", "GET", "/devices/d2"],
    ["a device whose id only starts with d1", "GET", "/devices/d10"],
    ["the device list", "GET", "/devices/"],
    ["the twin of d1 (another path)", "GET", "/twins/d1"],
    ["a query", "POST", "/devices/query"],
  ])("refuses a token for <host>/devices/d1 on %s with 401", async (_case, method, path) => {
    const token = scopedTo(`${hub.info.hostName}/devices/d1`);
    const body = method === "POST" ? { query: "SELECT * FROM devices" } : undefined;
    expectUnauthorized(await call(token, method, path, body));
  });

  it("does not let a token for <host>/devices/d1 create another device, alone or in bulk", async () => {
    const token = scopedTo(`${hub.info.hostName}/devices/d1`);
    expectUnauthorized(
      await call(token, "PUT", "/devices/created-out-of-scope", { deviceId: "created-out-of-scope" }),
    );
    expectUnauthorized(
      await call(token, "POST", "/devices", [{ id: "bulk-out-of-scope", importMode: "create" }]),
    );
    for (const deviceId of ["created-out-of-scope", "bulk-out-of-scope"]) {
      await expect(registry.get(deviceId)).rejects.toMatchObject({ name: "DeviceNotFoundError" });
    }
  });

  it("lets a token for <host>/twins/d1 PATCH that twin only; d2's twin stays as it was", async () => {
    const token = scopedTo(`${hub.info.hostName}/twins/d1`);
    const patched = await call(
      token,
      "PATCH",
      "/twins/d1",
      { tags: { scoped: "yes" } },
      { "if-match": '"*"' },
    );
    expect(patched.status).toBe(200);
    const before = (await registry.getTwin("d2")).responseBody;
    expectUnauthorized(
      await call(token, "PATCH", "/twins/d2", { tags: { scoped: "no" } }, { "if-match": '"*"' }),
    );
    const after = (await registry.getTwin("d2")).responseBody;
    expect(after.etag).toBe(before.etag);
    expect(after.tags).toEqual(before.tags);
  });

  it("keeps a verified token's scope: the same header reaches d1, then is refused for d2", async () => {
    const token = scopedTo(`${hub.info.hostName}/devices/d1`);
    expect((await call(token, "GET", "/devices/d1")).status).toBe(200);
    expectUnauthorized(await call(token, "GET", "/devices/d2"));
  });

  it("compares the host name case-insensitively and the path exactly", async () => {
    expect((await call(scopedTo(hub.info.hostName.toUpperCase()), "GET", "/devices/d2")).status).toBe(200);
    expect(
      (await call(scopedTo(`${hub.info.hostName.toUpperCase()}/devices/d1`), "GET", "/devices/d1")).status,
    ).toBe(200);
    expectUnauthorized(await call(scopedTo(`${hub.info.hostName}/devices/D1`), "GET", "/devices/d1"));
    expectUnauthorized(await call(scopedTo(`${hub.info.hostName}/DEVICES/d1`), "GET", "/devices/d1"));
  });

  it.each([
    ["a '..' segment", (host: string) => scopedTo(`${host}/devices/d1/..`)],
    ["a '.' segment", (host: string) => scopedTo(`${host}/devices/./d1`)],
    ["an encoded '..' segment", (host: string) => withSrAsSent(`${host}%2Fdevices%2Fd1%2F%2e%2e`)],
    ["an empty segment", (host: string) => scopedTo(`${host}//devices/d1`)],
    ["another hub", () => scopedTo("otherhub.azure-devices.net/devices/d1")],
    [
      "a host that only starts with this hub's",
      (host: string) => scopedTo(`${host}.evil.example/devices/d1`),
    ],
    ["a host that only ends with this hub's", (host: string) => scopedTo(`evil${host}/devices/d1`)],
  ])("refuses a token whose sr has %s with 401", async (_case, token) => {
    expectUnauthorized(await call(token(hub.info.hostName), "GET", "/devices/d1"));
  });

  it("decodes sr once: a double-encoded slash is part of a segment, not a separator", async () => {
    // sr decodes to <host>/devices%2Fd1: one segment `devices%2Fd1`, which no request path starts with.
    expectUnauthorized(
      await call(withSrAsSent(`${hub.info.hostName}%2Fdevices%252Fd1`), "GET", "/devices/d1"),
    );
  });

  it("does not resolve '..' in a request path: a token for d1 cannot climb to d2", async () => {
    const token = scopedTo(`${hub.info.hostName}/devices/d1`);
    for (const path of [
      "/devices/d1/../d2",
      "/devices/d1/%2e%2e/d2",
      "/devices/d1/%2E%2E/%2E%2E/devices/d2",
    ]) {
      const response = await call(token, "GET", path);
      expect(response.status).toBe(404);
      expect((response.body as { Message: string }).Message).toMatch(/^ErrorCode:NotFound;/);
    }
  });

  it("refuses a device-scoped token signed with the device's key (no policy) on the service API", async () => {
    const device = (await registry.get("d1")).responseBody;
    const token = createSasToken(
      `${hub.info.hostName}/devices/d1`,
      device.authentication!.symmetricKey!.primaryKey!,
      inAnHour(),
    );
    expectUnauthorized(await call(token, "GET", "/devices/d1"));
  });
});

describe("SAS token scope on the device API (MQTT CONNECT)", () => {
  let hub: TestHub;
  let module: ModuleIdentity;
  const inAnHour = (): number => Math.floor(Date.now() / 1000) + 3600;

  beforeAll(async () => {
    hub = await startHub();
    const registry = hubRegistry(hub.info);
    await registry.create({ deviceId: "d1" });
    await registry.addModule({ deviceId: "d1", moduleId: "m1" });
    const key = (await registry.getModule("d1", "m1")).responseBody.authentication!.symmetricKey!.primaryKey!;
    module = { deviceId: "d1", moduleId: "m1", key };
  });
  afterAll(async () => {
    await hub?.stop();
  });

  /** CONNECT as d1/m1 with a token over `resource`, signed with the module's own key. */
  const connectWith = async (resource: string): Promise<"connected" | number> => {
    const client = rawMqttClient(hub.info, module, {
      password: createSasToken(resource, module.key, inAnHour()),
    });
    try {
      await connected(client);
      return "connected";
    } catch (error) {
      return (error as { code: number }).code;
    } finally {
      await end(client);
    }
  };

  it("accepts the module's own resource, with the host in any case", async () => {
    expect(await connectWith(`${hub.info.hostName}/devices/d1/modules/m1`)).toBe("connected");
    expect(await connectWith(`${hub.info.hostName.toUpperCase()}/devices/d1/modules/m1`)).toBe("connected");
  });

  it.each([
    ["the device's resource", (host: string) => `${host}/devices/d1`],
    ["a '..' segment", (host: string) => `${host}/devices/d1/modules/m1/..`],
    ["ids in another case", (host: string) => `${host}/devices/D1/modules/M1`],
    ["another hub", () => "otherhub.azure-devices.net/devices/d1/modules/m1"],
  ])("refuses %s with CONNACK 5", async (_case, resource) => {
    expect(await connectWith(resource(hub.info.hostName))).toBe(5);
  });
});
