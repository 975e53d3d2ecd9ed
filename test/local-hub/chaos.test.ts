import type { Registry } from "azure-iothub";
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { createSasToken, parseConnectionString } from "../../lib/iothub/sas";
import { startHub, type TestHub } from "../support/hubProcess";
import { hubRegistry } from "../support/suiteHub";

/**
 * Quotas (429 like IoT Hub's throttling) and injected faults (503, hang, reset), set at start or on the running hub
 * through the CLI. Each test arms what it needs and leaves the hub clean.
 */
describe("quotas and faults", () => {
  let hub: TestHub;
  let registry: Registry;

  beforeAll(async () => {
    hub = await startHub({ args: ["--quota", "S1", "--fault", "statistics:503:1"] });
    registry = hubRegistry(hub.info);
    await registry.create({ deviceId: "target" });
    await registry.create({ deviceId: "bystander" });
  });
  afterEach(async () => {
    await hub.cli("quota", "clear");
    await hub.cli("fault", "clear");
  });
  afterAll(async () => {
    await hub?.stop();
  });

  function ownerToken(): string {
    const key = parseConnectionString(hub.info.connectionString).SharedAccessKey;
    return createSasToken(hub.info.hostName, key, Math.floor(Date.now() / 1000) + 3600, "iothubowner");
  }

  /** A GET whose outcome is reported as data: the status and body, or the socket error. */
  function rawGet(path: string): {
    outcome: Promise<{ status?: number; body?: string; error?: string }>;
    abort(): void;
  } {
    const req = request({
      host: hub.info.hostName,
      port: 443,
      path: `${path}?api-version=2021-04-12`,
      headers: { Authorization: ownerToken() },
      ca: readFileSync(hub.info.caFile, "utf8"),
      agent: false,
    });
    const outcome = new Promise<{ status?: number; body?: string; error?: string }>((resolve) => {
      req.on("response", (response) => {
        let body = "";
        response.on("data", (chunk: Buffer) => (body += chunk.toString()));
        response.on("end", () => resolve({ status: response.statusCode, body }));
      });
      req.on("error", (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    });
    req.end();
    return { outcome, abort: () => req.destroy() };
  }

  it("applies --quota and --fault given at start (S1 preset; one 503 for statistics)", async () => {
    const shown = await hub.cli("quota", "show", "-o", "tsv");
    expect(shown.stdout.trim().split("\n")).toEqual([
      "bulk\t100/min",
      "configurations\t20/min",
      "methods\t20/s",
      "query\t20/min",
      "registry\t100/min",
      "twinRead\t100/s",
      "twinUpdate\t50/s",
    ]);
    await expect(registry.getRegistryStatistics()).rejects.toMatchObject({ name: "ServiceUnavailableError" });
    const stats = await registry.getRegistryStatistics();
    expect(stats.responseBody.totalDeviceCount).toBe(2);
  });

  it("answers 429 ThrottlingException over quota (ThrottlingError in the SDK), per class, until cleared", async () => {
    expect(await hub.cli("quota", "set", "registry=2/min")).toMatchObject({ code: 0 });
    await registry.get("target");
    await registry.get("target");
    await expect(registry.get("target")).rejects.toMatchObject({ name: "ThrottlingError" });
    const raw = await rawGet("/devices/target").outcome;
    expect(raw.status).toBe(429);
    expect(JSON.parse(raw.body!).Message).toMatch(/^ErrorCode:ThrottlingException;/);
    // Other classes are not counted against the registry's quota.
    await registry.getTwin("target");

    await hub.cli("quota", "clear");
    await registry.get("target");
  });

  it("fails the next N operations of a class with 503 (ServiceUnavailableError), then recovers", async () => {
    const added = await hub.cli("fault", "add", "registry", "--mode", "503", "--count", "2");
    expect(added.stdout).toMatch(/registry 503 \(2 left\)/);
    await expect(registry.get("target")).rejects.toMatchObject({ name: "ServiceUnavailableError" });
    expect(JSON.parse((await hub.cli("fault", "list")).stdout)).toEqual([
      { id: expect.any(Number), kind: "registry", mode: "503", remaining: 1 },
    ]);
    await registry.getTwin("target"); // another class is untouched
    await expect(registry.get("target")).rejects.toMatchObject({ name: "ServiceUnavailableError" });
    await registry.get("target");
    expect(JSON.parse((await hub.cli("fault", "list")).stdout)).toEqual([]);
  });

  it("aims a fault with --match at the operations whose path contains the text", async () => {
    await hub.cli("fault", "add", "all", "--mode", "503", "--count", "0", "--match", "/target");
    await registry.get("bystander");
    await registry.getTwin("bystander");
    await expect(registry.get("target")).rejects.toMatchObject({ name: "ServiceUnavailableError" });
    await expect(registry.getTwin("target")).rejects.toMatchObject({ name: "ServiceUnavailableError" });
    await expect(registry.get("target")).rejects.toMatchObject({ name: "ServiceUnavailableError" });
    await hub.cli("fault", "clear");
    await registry.get("target");
  });

  it("resets the connection with --mode reset", async () => {
    await hub.cli("fault", "add", "registry", "--mode", "reset");
    expect(await rawGet("/devices/target").outcome).toEqual({ error: "ECONNRESET" });
    await expect(registry.get("target")).resolves.toBeDefined();
  });

  it("holds a request with --mode hang while other requests are answered, until the fault is cleared", async () => {
    await hub.cli("fault", "add", "twinRead", "--mode", "hang");
    const hung = rawGet("/twins/target");
    let answered = false;
    void hung.outcome.then(() => (answered = true));
    await hub.waitForOutput(/fault hang on GET \/twins\/target/);
    // Later requests are answered while the hung one still waits.
    await registry.get("target");
    await registry.getTwin("bystander");
    expect(answered).toBe(false);

    await hub.cli("fault", "clear");
    const outcome = await hung.outcome;
    expect(outcome.status).toBe(200);
    expect(JSON.parse(outcome.body!).deviceId).toBe("target");
  });

  it("lets a client give up on a hung request, and the hub carries on", async () => {
    await hub.cli("fault", "add", "registry", "--mode", "hang", "--match", "/devices/target");
    const hung = rawGet("/devices/target");
    await hub.waitForOutput(/fault hang on GET \/devices\/target/);
    hung.abort();
    expect((await hung.outcome).error).toBeDefined();
    await expect(registry.get("target")).resolves.toBeDefined();
  });

  it("rejects bad quota and fault specs with an error naming the field, and arms nothing", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["quota", "set", "registry=lots"], /quota: 'registry=lots'/],
      [["quota", "set", "nosuch=1/s"], /'nosuch' is not an operation class/],
      [["fault", "add", "nosuch", "--mode", "503"], /KIND 'nosuch' is not an operation class/],
      [["fault", "add", "registry", "--mode", "explode"], /--mode 'explode' must be one of/],
      [["fault", "add", "registry", "--mode", "drop"], /drop applies to desiredPush only/],
      [["fault", "add", "registry", "--mode", "503", "--count", "-1"], /--count/],
    ];
    for (const [args, message] of cases) {
      const result = await hub.cli(...args);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(message);
    }
    expect(JSON.parse((await hub.cli("quota", "show")).stdout)).toEqual([]);
    expect(JSON.parse((await hub.cli("fault", "list")).stdout)).toEqual([]);
  });
});
