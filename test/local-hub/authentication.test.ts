import { readFileSync } from "node:fs";
import { request } from "node:https";
import { createSasToken, parseConnectionString, serviceConnectionString } from "../../lib/iothub/sas";
import { startHub, type TestHub } from "../support/hubProcess";
import { hubRegistry } from "../support/suiteHub";

/** What a service client relies on: the owner policy works, and every bad token gets IoT Hub's 401. */
describe("service API authentication", () => {
  let hub: TestHub;
  let ownerKey: string;

  beforeAll(async () => {
    hub = await startHub();
    ownerKey = parseConnectionString(hub.info.connectionString).SharedAccessKey;
  });
  afterAll(async () => {
    await hub?.stop();
  });

  /** A raw request to the hub (trusting its CA), so each check of a request can be broken on its own. */
  function hubRequest(
    path: string,
    options: { method?: string; headers?: Record<string, string>; body?: string } = {},
  ): Promise<{ status: number; body: Record<string, string> }> {
    return new Promise((resolve, reject) => {
      const call = request(
        {
          host: hub.info.hostName,
          port: 443,
          path,
          method: options.method ?? "GET",
          ca: readFileSync(hub.info.caFile, "utf8"),
          headers: options.headers ?? {},
        },
        (response) => {
          let text = "";
          response.on("data", (chunk: Buffer) => (text += chunk.toString()));
          response.on("end", () =>
            resolve({
              status: response.statusCode ?? 0,
              body: text === "" ? {} : (JSON.parse(text) as Record<string, string>),
            }),
          );
        },
      );
      call.on("error", reject);
      call.end(options.body);
    });
  }
  const getDevices = (authorization?: string) =>
    hubRequest("/devices?api-version=2021-04-12", {
      headers: authorization ? { Authorization: authorization } : {},
    });
  const inOneHour = (): number => Math.floor(Date.now() / 1000) + 3600;

  it("lets the SDK in with the owner policy of hub.json", async () => {
    const registry = hubRegistry(hub.info);
    const { responseBody } = await registry.list();
    expect(Array.isArray(responseBody)).toBe(true);
  });

  it("accepts a token signed with the policy's key for the hub's host name", async () => {
    const token = createSasToken(hub.info.hostName, ownerKey, inOneHour(), "iothubowner");
    expect((await getDevices(token)).status).toBe(200);
  });

  it.each([
    ["no token", () => undefined],
    [
      "an expired token",
      () => createSasToken(hub.info.hostName, ownerKey, Math.floor(Date.now() / 1000) - 1, "iothubowner"),
    ],
    [
      "a wrong key",
      () =>
        createSasToken(hub.info.hostName, Buffer.alloc(32, 7).toString("base64"), inOneHour(), "iothubowner"),
    ],
    ["an unknown policy", () => createSasToken(hub.info.hostName, ownerKey, inOneHour(), "nosuchpolicy")],
    [
      "another hub's host name",
      () => createSasToken("otherhub.azure-devices.net", ownerKey, inOneHour(), "iothubowner"),
    ],
    ["a token without a policy name", () => createSasToken(hub.info.hostName, ownerKey, inOneHour())],
    ["something that is not a SAS token", () => "Bearer abc"],
  ])("answers 401 with IoT Hub's body for %s", async (_case, token) => {
    const { status, body } = await getDevices(token());
    expect(status).toBe(401);
    expect(body.Message).toMatch(/^ErrorCode:IotHubUnauthorizedAccess;/);
    expect(body.ExceptionMessage).toMatch(/Tracking ID:/);
  });

  it("makes the SDK raise UnauthorizedError for a wrong key", async () => {
    const wrong = serviceConnectionString(
      hub.info.hostName,
      "iothubowner",
      Buffer.alloc(32, 1).toString("base64"),
    );
    await expect(hubRegistry(hub.info, wrong).list()).rejects.toMatchObject({
      name: "UnauthorizedError",
    });
  });

  it("answers 404 with IoT Hub's body for a path that is no operation", async () => {
    const token = createSasToken(hub.info.hostName, ownerKey, inOneHour(), "iothubowner");
    const response = await hubRequest("/nothing/here?api-version=2021-04-12", {
      headers: { Authorization: token },
    });
    expect(response.status).toBe(404);
    expect(response.body.Message).toMatch(/^ErrorCode:NotFound;/);
  });

  it("refuses a request without api-version", async () => {
    const token = createSasToken(hub.info.hostName, ownerKey, inOneHour(), "iothubowner");
    const response = await hubRequest("/devices", { headers: { Authorization: token } });
    expect(response.status).toBe(400);
  });

  it("answers malformed JSON with 400 ArgumentInvalid", async () => {
    const token = createSasToken(hub.info.hostName, ownerKey, inOneHour(), "iothubowner");
    const response = await hubRequest("/devices/d1?api-version=2021-04-12", {
      method: "PUT",
      headers: { Authorization: token, "Content-Type": "application/json" },
      body: "{not json",
    });
    expect(response.status).toBe(400);
    expect(response.body.Message).toMatch(/^ErrorCode:ArgumentInvalid;/);
  });

  it("answers a body over 256 KB with 413 RequestEntityTooLarge", async () => {
    const token = createSasToken(hub.info.hostName, ownerKey, inOneHour(), "iothubowner");
    const response = await hubRequest("/devices/big?api-version=2021-04-12", {
      method: "PUT",
      headers: { Authorization: token, "Content-Type": "application/json" },
      body: JSON.stringify({ deviceId: "big", padding: "x".repeat(300 * 1024) }),
    });
    expect(response.status).toBe(413);
    expect(response.body.Message).toMatch(/^ErrorCode:RequestEntityTooLarge;/);
  });
});
