import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Client as DeviceClient, Message, type ModuleClient } from "azure-iot-device";
import { Mqtt } from "azure-iot-device-mqtt";
import type { Client as ServiceClient } from "azure-iothub";
import { HUB_CLI, PROJECT_ROOT, runCli } from "../support/hubProcess";
import { hubServiceClient, useSuiteHub } from "../support/suiteHub";
import {
  connected,
  connectionStringOf,
  createModule,
  end,
  openModuleClient,
  rawMqttClient,
  subscribe,
  type ModuleIdentity,
} from "./mqttSupport";
import { serviceRequest } from "./serviceRequest";

// Direct methods (service SDK -> hub -> device SDK and back) and telemetry watched with `iothub-local tail`.

const suite = useSuiteHub();
let service: ServiceClient;
const openClients: ModuleClient[] = [];
const tails: ChildProcessWithoutNullStreams[] = [];

beforeAll(async () => {
  service = hubServiceClient(suite.hub.info);
});

afterEach(async () => {
  await Promise.all(openClients.splice(0).map((client) => client.close().catch(() => undefined)));
  for (const tail of tails.splice(0)) tail.kill();
});

afterAll(async () => {
  await service?.close();
});

async function open(identity: ModuleIdentity): Promise<ModuleClient> {
  const client = await openModuleClient(suite.hub.info, identity);
  openClients.push(client);
  return client;
}

interface HttpFailure {
  response?: { statusCode: number };
  responseBody?: string;
}

describe("direct methods", () => {
  it("carries a call from Client.invokeDeviceMethod to the module and its answer back", async () => {
    const identity = await createModule(suite.registry, "method-dev", "m");
    const client = await open(identity);
    client.onMethod("reboot", (request, response) => {
      if (!request || !response) return;
      void response.send(202, { accepted: request.payload, method: request.methodName });
    });

    // connectTimeoutInSeconds: the hub waits until the module listens for methods (onMethod subscribes async).
    const { result } = await service.invokeDeviceMethod("method-dev", "m", {
      methodName: "reboot",
      payload: { delay: 3 },
      responseTimeoutInSeconds: 10,
      connectTimeoutInSeconds: 10,
    });

    expect(result).toEqual({ status: 202, payload: { accepted: { delay: 3 }, method: "reboot" } });
  });

  it("reaches a device (not a module) connected with its own SAS key", async () => {
    await suite.registry.create({ deviceId: "method-device" });
    const device = (await suite.registry.get("method-device")).responseBody;
    const client = DeviceClient.fromConnectionString(
      connectionStringOf(suite.hub.info, {
        deviceId: "method-device",
        key: device.authentication!.symmetricKey!.primaryKey!,
      }),
      Mqtt,
    );
    await client.setOptions({ ca: readFileSync(suite.hub.info.caFile, "utf8") });
    await client.open();
    try {
      client.onDeviceMethod("ping", (_request, response) => void response.send(200, "pong"));
      const { result } = await service.invokeDeviceMethod("method-device", {
        methodName: "ping",
        payload: null,
        connectTimeoutInSeconds: 10,
      });
      expect(result).toEqual({ status: 200, payload: "pong" });
    } finally {
      await client.close();
    }
  });

  it("answers 404 DeviceNotOnline for a registered module that is not connected", async () => {
    await createModule(suite.registry, "method-dev", "offline");

    const failure = (await service
      .invokeDeviceMethod("method-dev", "offline", { methodName: "reboot", payload: null })
      .then(
        () => undefined,
        (error: HttpFailure) => error,
      )) as HttpFailure;

    expect(failure.response?.statusCode).toBe(404);
    expect(failure.responseBody).toContain("ErrorCode:DeviceNotOnline;");
  });

  it("answers 504 GatewayTimeout when the module does not answer within responseTimeoutInSeconds", async () => {
    const identity = await createModule(suite.registry, "method-dev", "silent");
    const client = await open(identity);
    client.onMethod("hang", () => undefined);

    const failure = (await service
      .invokeDeviceMethod("method-dev", "silent", {
        methodName: "hang",
        payload: null,
        responseTimeoutInSeconds: 5,
        connectTimeoutInSeconds: 10,
      })
      .then(
        () => undefined,
        (error: HttpFailure) => error,
      )) as HttpFailure;

    expect(failure.response?.statusCode).toBe(504);
    expect(failure.responseBody).toContain("ErrorCode:GatewayTimeout;");
  });
});

describe("direct methods with payloads IoT Hub refuses", () => {
  // IoT Hub: "The payload for method requests and responses is a JSON document up to 128 KB."
  const deep = (levels: number): string => "[".repeat(levels) + "]".repeat(levels);
  const invoke = (body: string) =>
    serviceRequest(suite.hub.info, "POST", "/twins/method-hostile/modules/m/methods", Buffer.from(body));

  let calls = 0;
  let client: ModuleClient;
  afterAll(async () => {
    await client?.close();
  });
  beforeAll(async () => {
    const identity = await createModule(suite.registry, "method-hostile", "m");
    client = await openModuleClient(suite.hub.info, identity);
    client.onMethod("echo", (request, response) => {
      if (!request || !response) return;
      calls++;
      void response.send(200, request.payload);
    });
  });

  it.each([
    [
      "nested 100,000 levels deep",
      `{"methodName":"echo","payload":${deep(100_000)},"connectTimeoutInSeconds":10}`,
      /payload: must be nested at most \d+ levels deep/,
    ],
    [
      "over 128 KB",
      JSON.stringify({ methodName: "echo", payload: "x".repeat(128 * 1024), connectTimeoutInSeconds: 10 }),
      /payload: must be at most 131072 bytes/,
    ],
  ])(
    "refuses a request payload %s with 400 naming the field, and the module is not called",
    async (_name, body, message) => {
      const response = await invoke(body);
      expect(response.status).toBe(400);
      expect(JSON.stringify(response.body)).toMatch(message);
      expect(calls).toBe(0);
    },
  );

  it("carries a payload at the limits (64 levels, 131,072 bytes) to the module and back", async () => {
    const nested = JSON.parse(deep(63)) as unknown; // 63 arrays inside the payload object: 64 levels in all
    const padding = 131_072 - JSON.stringify({ nested, text: "" }).length;
    const payload = { nested, text: "y".repeat(padding) };
    expect(JSON.stringify(payload)).toHaveLength(131_072);
    const response = await invoke(
      JSON.stringify({
        methodName: "echo",
        payload,
        connectTimeoutInSeconds: 10,
        responseTimeoutInSeconds: 10,
      }),
    );
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 200, payload });
  });

  it("refuses a device's response nested 100,000 levels deep with 400 naming it; the hub stays up", async () => {
    const identity = await createModule(suite.registry, "method-hostile", "raw");
    const device = rawMqttClient(suite.hub.info, identity);
    try {
      await connected(device);
      await subscribe(device, "$iothub/methods/POST/#");
      device.on("message", (topic) => {
        const rid = /\?\$rid=([^&]+)/.exec(topic)?.[1];
        if (rid) device.publish(`$iothub/methods/res/200/?$rid=${rid}`, deep(100_000), { qos: 0 });
      });
      const response = await serviceRequest(
        suite.hub.info,
        "POST",
        "/twins/method-hostile/modules/raw/methods",
        { methodName: "bomb", payload: null, responseTimeoutInSeconds: 10 },
      );
      expect(response.status).toBe(400);
      expect(JSON.stringify(response.body)).toMatch(
        /the device's response payload: must be nested at most 64 levels/,
      );
    } finally {
      await end(device);
    }
    // The hub still answers: the next call goes through.
    const again = await invoke(
      JSON.stringify({ methodName: "echo", payload: 1, connectTimeoutInSeconds: 10 }),
    );
    expect(again.body).toEqual({ status: 200, payload: 1 });
  });
});

/** Starts `iothub-local tail` on the hub's state dir; resolves once it says it is watching. */
async function startTail(...args: string[]): Promise<{ nextLine(): Promise<string> }> {
  const tail = spawn(process.execPath, [HUB_CLI, "tail", "--state", suite.hub.stateDir, ...args], {
    cwd: PROJECT_ROOT,
  });
  tails.push(tail);
  const lines = createInterface({ input: tail.stdout });
  const pending: string[] = [];
  const waiters: ((line: string) => void)[] = [];
  lines.on("line", (line) => {
    const waiter = waiters.shift();
    if (waiter) waiter(line);
    else pending.push(line);
  });
  await new Promise<void>((resolve, reject) => {
    tail.stderr.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("watching")) resolve();
    });
    tail.once("exit", (code) => reject(new Error(`tail exited with ${code}`)));
  });
  return {
    nextLine: () =>
      new Promise((resolve) => {
        const line = pending.shift();
        if (line !== undefined) resolve(line);
        else waiters.push(resolve);
      }),
  };
}

describe("telemetry", () => {
  it("accepts module telemetry (QoS 1 acknowledged) and `tail --device` prints it as it arrives", async () => {
    const watched = await createModule(suite.registry, "tel-dev", "sensor");
    const other = await createModule(suite.registry, "tel-other", "sensor");
    const tail = await startTail("--device", "tel-dev");
    const [watchedClient, otherClient] = await Promise.all([open(watched), open(other)]);

    const message = new Message(JSON.stringify({ temperature: 20.5 }));
    message.properties.add("alert", "none");
    // sendEvent resolves on the hub's PUBACK.
    await otherClient.sendEvent(new Message("not for this tail"));
    await watchedClient.sendEvent(message);

    const line = await tail.nextLine();
    expect(line).toMatch(/^\d{4}-\d\d-\d\dT\S+Z tel-dev\/sensor \{"temperature":20.5\}/);
    expect(line).toContain('"alert":"none"');
  });

  it("tail prints a body with a newline and a terminal escape as one escaped line", async () => {
    const sender = await createModule(suite.registry, "tel-hostile", "sensor");
    const tail = await startTail("--device", "tel-hostile");
    const client = await open(sender);
    const message = new Message("first\n2026-01-01T00:00:00.000Z forged/line \u001b[2Jcleared");
    message.properties.add("note", "del\u007fc1\u009b");
    await client.sendEvent(message);
    await client.sendEvent(new Message("next"));

    const line = await tail.nextLine();
    expect(line).toContain(
      "tel-hostile/sensor first\\x0a2026-01-01T00:00:00.000Z forged/line \\x1b[2Jcleared",
    );
    expect(line).toContain('"note":"del\\u007fc1\\u009b"');
    // The next line is the next message: the newline in the body started none of its own.
    expect(await tail.nextLine()).toMatch(/ tel-hostile\/sensor next$/);
  });

  it("tail fails clearly when no hub runs on the state dir", async () => {
    const empty = mkdtempSync(join(tmpdir(), "iothub-local-no-hub-"));
    const result = await runCli(["tail", "--state", empty]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("no hub is running");
  });
});
