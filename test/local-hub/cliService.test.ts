import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ModuleClient } from "azure-iot-device";
import { parseSasToken, verifySignature } from "../../lib/iothub/sas";
import { runCli, type CliResult } from "../support/hubProcess";
import { useSuiteHub } from "../support/suiteHub";
import { connected, createModule, end, openModuleClient, rawMqttClient } from "./mqttSupport";
import { serviceRequest } from "./serviceRequest";

/**
 * The service commands (`device`, `module`, `twin`, `connection-string`, `query`, `method invoke`, `sas-token`),
 * run as a user runs them: the CLI in a child process, against a running hub, checked through the service SDK.
 */

const suite = useSuiteHub();
const cli = (...args: string[]): Promise<CliResult> => suite.hub.cli(...args);

/** stdout as JSON, after checking the command succeeded (its stderr in the failure message). */
function json<T = Record<string, unknown>>(result: CliResult): T {
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: "" });
  return JSON.parse(result.stdout) as T;
}

const tsvLines = (result: CliResult): string[][] =>
  result.stdout
    .trimEnd()
    .split("\n")
    .map((line) => line.split("\t"));

const KEY_A = Buffer.alloc(32, 1).toString("base64");
const KEY_B = Buffer.alloc(32, 2).toString("base64");
const THUMBPRINT = "AB".repeat(20);

async function deviceKeys(deviceId: string): Promise<unknown> {
  return (await suite.registry.get(deviceId)).responseBody.authentication;
}

describe("device commands", () => {
  it("create prints the device as JSON when stdout is no terminal, without its keys", async () => {
    const created = json(await cli("device", "create", "cli-plain"));
    expect(created).toMatchObject({
      deviceId: "cli-plain",
      status: "enabled",
      capabilities: { iotEdge: false },
    });
    expect(created.authentication).toEqual({
      type: "sas",
      x509Thumbprint: { primaryThumbprint: null, secondaryThumbprint: null },
    });
    const registered = (await suite.registry.get("cli-plain")).responseBody;
    expect(registered.authentication?.symmetricKey?.primaryKey).toMatch(/=$/);
    expect(JSON.stringify(created)).not.toContain(registered.authentication!.symmetricKey!.primaryKey);
  });

  it("create --edge --status --status-reason -o table prints a header and the row", async () => {
    const result = await cli(
      "device",
      "create",
      "cli-edge",
      "--edge",
      "--status",
      "disabled",
      "--status-reason",
      "maintenance",
      "-o",
      "table",
    );
    expect(result.code).toBe(0);
    const [header, rule, row] = result.stdout.trimEnd().split("\n");
    expect(header.split(/\s+/)).toEqual([
      "deviceId",
      "status",
      "statusReason",
      "iotEdge",
      "authentication",
      "connectionState",
      "etag",
    ]);
    expect(rule).toMatch(/^-+( +-+){6}$/);
    expect(row.split(/\s+/).slice(0, 6)).toEqual([
      "cli-edge",
      "disabled",
      "maintenance",
      "true",
      "sas",
      "Disconnected",
    ]);
    expect((await suite.registry.get("cli-edge")).responseBody).toMatchObject({
      status: "disabled",
      statusReason: "maintenance",
      capabilities: { iotEdge: true },
    });
  });

  it("create --keys registers the keys given; --x509-thumbprints a selfSigned device", async () => {
    json(await cli("device", "create", "cli-keys", "--keys", `${KEY_A},${KEY_B}`));
    expect(await deviceKeys("cli-keys")).toMatchObject({
      type: "sas",
      symmetricKey: { primaryKey: KEY_A, secondaryKey: KEY_B },
    });
    const x509 = json(await cli("device", "create", "cli-x509", "--x509-thumbprints", THUMBPRINT));
    expect(x509.authentication).toMatchObject({
      type: "selfSigned",
      x509Thumbprint: { primaryThumbprint: THUMBPRINT },
    });
    expect(await deviceKeys("cli-x509")).toMatchObject({ type: "selfSigned" });
  });

  it("list -o tsv prints one line per device, tab-separated, no header", async () => {
    await suite.registry.create({ deviceId: "cli-list" });
    const lines = tsvLines(await cli("device", "list", "-o", "tsv"));
    const listed = (await suite.registry.list()).responseBody.map((device) => device.deviceId);
    expect(lines.map((cells) => cells[0]).sort()).toEqual([...listed].sort());
    expect(lines.find((cells) => cells[0] === "cli-list")).toEqual([
      "cli-list",
      "enabled",
      "",
      "false",
      "sas",
      "Disconnected",
      expect.any(String),
    ]);
  });

  it("show prints one device; a missing one exits 1 with IoT Hub's error code and message", async () => {
    await suite.registry.create({ deviceId: "cli-show" });
    expect(json(await cli("device", "show", "cli-show", "-o", "json"))).toMatchObject({
      deviceId: "cli-show",
    });
    const missing = await cli("device", "show", "cli-nobody");
    expect(missing).toMatchObject({ code: 1, stdout: "" });
    expect(missing.stderr).toBe("iothub-local: DeviceNotFound: Device cli-nobody not found.\n");
  });

  it("create of an existing id exits 1 (DeviceAlreadyExists) and leaves the device as it was", async () => {
    await suite.registry.create({ deviceId: "cli-twice" });
    const before = (await suite.registry.get("cli-twice")).responseBody;
    const again = await cli("device", "create", "cli-twice", "--status", "disabled");
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^iothub-local: DeviceAlreadyExists: /);
    expect((await suite.registry.get("cli-twice")).responseBody).toEqual(before);
  });

  it("update changes what its flags name and keeps the keys (the SDK's update would mint new ones)", async () => {
    await suite.registry.create({ deviceId: "cli-update" });
    const keys = await deviceKeys("cli-update");
    const updated = json(
      await cli(
        "device",
        "update",
        "cli-update",
        "--status",
        "disabled",
        "--status-reason",
        "stolen",
        "--edge",
      ),
    );
    expect(updated).toMatchObject({
      status: "disabled",
      statusReason: "stolen",
      capabilities: { iotEdge: true },
    });
    expect(await deviceKeys("cli-update")).toEqual(keys);
    json(await cli("device", "update", "cli-update", "--no-edge", "--status", "enabled"));
    expect((await suite.registry.get("cli-update")).responseBody).toMatchObject({
      status: "enabled",
      capabilities: { iotEdge: false },
    });
    json(await cli("device", "update", "cli-update", "--keys", `${KEY_B},${KEY_A}`));
    expect(await deviceKeys("cli-update")).toMatchObject({
      symmetricKey: { primaryKey: KEY_B, secondaryKey: KEY_A },
    });
  });

  it("delete removes the device; deleting it again exits 1", async () => {
    await suite.registry.create({ deviceId: "cli-delete" });
    expect(json(await cli("device", "delete", "cli-delete"))).toEqual({
      deviceId: "cli-delete",
      deleted: true,
    });
    await expect(suite.registry.get("cli-delete")).rejects.toMatchObject({ name: "DeviceNotFoundError" });
    const again = await cli("device", "delete", "cli-delete");
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^iothub-local: DeviceNotFound: /);
  });
});

describe("module commands", () => {
  it("create, list (tsv), show (table) and delete a module", async () => {
    await suite.registry.create({ deviceId: "cli-mod" });
    const created = json(await cli("module", "create", "cli-mod", "m1"));
    expect(created).toMatchObject({ deviceId: "cli-mod", moduleId: "m1", authentication: { type: "sas" } });
    expect(created.authentication).not.toHaveProperty("symmetricKey");
    json(await cli("module", "create", "cli-mod", "m2", "--keys", `${KEY_A},${KEY_B}`));
    expect((await suite.registry.getModule("cli-mod", "m2")).responseBody.authentication).toMatchObject({
      symmetricKey: { primaryKey: KEY_A, secondaryKey: KEY_B },
    });

    const lines = tsvLines(await cli("module", "list", "cli-mod", "-o", "tsv"));
    expect(lines.map((cells) => cells.slice(0, 3))).toEqual([
      ["cli-mod", "m1", "sas"],
      ["cli-mod", "m2", "sas"],
    ]);
    const table = await cli("module", "show", "cli-mod", "m1", "-o", "table");
    expect(table.stdout.split("\n")[0].split(/\s+/)).toEqual([
      "deviceId",
      "moduleId",
      "authentication",
      "connectionState",
      "etag",
    ]);
    expect(table.stdout.split("\n")[2]).toMatch(/^cli-mod\s+m1\s+sas\s+Disconnected\s+\S+$/);

    expect(json(await cli("module", "delete", "cli-mod", "m1"))).toEqual({
      deviceId: "cli-mod",
      moduleId: "m1",
      deleted: true,
    });
    const modules = (await suite.registry.getModulesOnDevice("cli-mod")).responseBody;
    expect(modules.map((module) => module.moduleId)).toEqual(["m2"]);
    const missing = await cli("module", "show", "cli-mod", "m1");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^iothub-local: ModuleNotFound: /);
  });
});

describe("twin commands", () => {
  it("show prints the twin the hub holds, and nothing of the SDK's client (no token)", async () => {
    await suite.registry.create({ deviceId: "cli-twin-show" });
    const shown = json(await cli("twin", "show", "cli-twin-show"));
    const twin = (await suite.registry.getTwin("cli-twin-show")).responseBody;
    expect(shown).toMatchObject({ deviceId: "cli-twin-show", etag: twin.etag, tags: {} });
    expect(Object.keys(shown).filter((field) => field.startsWith("_"))).toEqual([]);
    expect(JSON.stringify(shown)).not.toContain("SharedAccessSignature");
  });

  it("update merges --tags, --set (JSON, else a string) and --unset into the device twin", async () => {
    await suite.registry.create({ deviceId: "cli-twin" });
    const twin = (await suite.registry.getTwin("cli-twin")).responseBody;
    await twin.update({ properties: { desired: { gone: 1, kept: 2 } } });
    const result = await cli(
      "twin",
      "update",
      "cli-twin",
      "--tags",
      '{"site":"lab"}',
      "--set",
      "tags.floor=3",
      "--set",
      "desired.interval=30",
      "--set",
      "desired.mode=fast",
      "--set",
      'properties.desired.nested.flag={"on":true}',
      "--unset",
      "desired.gone",
      "-o",
      "tsv",
    );
    expect(result.code).toBe(0);
    const [row] = tsvLines(result);
    expect(row[0]).toBe("cli-twin");
    const after = (await suite.registry.getTwin("cli-twin")).responseBody;
    expect(after.tags).toEqual({ site: "lab", floor: 3 });
    const { $metadata: _metadata, $version: _version, ...desired } = after.properties.desired;
    expect(desired).toEqual({ kept: 2, interval: 30, mode: "fast", nested: { flag: { on: true } } });
    expect(row[2]).toBe(after.etag);
    expect(JSON.parse(row[5])).toEqual(desired);
  });

  it("update --module changes a module twin; --etag of an older twin exits 1 and changes nothing", async () => {
    await createModule(suite.registry, "cli-twin-mod", "m");
    const before = (await suite.registry.getModuleTwin("cli-twin-mod", "m")).responseBody;
    const updated = json(
      await cli(
        "twin",
        "update",
        "cli-twin-mod",
        "--module",
        "m",
        "--set",
        "desired.x=1",
        "--etag",
        before.etag,
      ),
    );
    expect(updated).toMatchObject({
      deviceId: "cli-twin-mod",
      moduleId: "m",
      properties: { desired: { x: 1 } },
    });
    const current = (await suite.registry.getModuleTwin("cli-twin-mod", "m")).responseBody;

    const stale = await cli(
      "twin",
      "update",
      "cli-twin-mod",
      "--module",
      "m",
      "--set",
      "desired.x=2",
      "--etag",
      before.etag,
    );
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/^iothub-local: PreconditionFailed: /);
    expect((await suite.registry.getModuleTwin("cli-twin-mod", "m")).responseBody.etag).toBe(current.etag);

    const shown = await cli("twin", "show", "cli-twin-mod", "--module", "m", "-o", "table");
    expect(shown.stdout.split("\n")[2]).toMatch(/^cli-twin-mod\s+m\s+/);
  });
});

describe("connection-string show and sas-token", () => {
  it("connection-string show prints a device's or module's, with --key secondary its other key", async () => {
    const module = await createModule(suite.registry, "cli-cs", "m");
    const device = (await suite.registry.get("cli-cs")).responseBody.authentication!.symmetricKey!;
    const host = suite.hub.info.hostName;
    expect(json(await cli("connection-string", "show", "cli-cs"))).toEqual({
      connectionString: `HostName=${host};DeviceId=cli-cs;SharedAccessKey=${device.primaryKey}`,
    });
    const secondary = await cli("connection-string", "show", "cli-cs", "--key", "secondary", "-o", "tsv");
    expect(secondary.stdout).toBe(
      `HostName=${host};DeviceId=cli-cs;SharedAccessKey=${device.secondaryKey}\n`,
    );
    const ofModule = await cli("connection-string", "show", "cli-cs", "--module", "m", "-o", "tsv");
    expect(ofModule.stdout).toBe(
      `HostName=${host};DeviceId=cli-cs;ModuleId=m;SharedAccessKey=${module.key}\n`,
    );
  });

  it("connection-string show of an X.509 device says x509=true (it has no key)", async () => {
    await suite.registry.create({
      deviceId: "cli-cs-x509",
      authentication: { x509Thumbprint: { primaryThumbprint: THUMBPRINT } },
    });
    expect(json(await cli("connection-string", "show", "cli-cs-x509"))).toEqual({
      connectionString: `HostName=${suite.hub.info.hostName};DeviceId=cli-cs-x509;x509=true`,
    });
  });

  it("sas-token without a device is the policy's: the hub accepts it on the service API", async () => {
    const { sasToken, expiresOn } = json<{ sasToken: string; expiresOn: string }>(await cli("sas-token"));
    expect(sasToken).toMatch(/^SharedAccessSignature sr=.+&skn=iothubowner$/);
    expect(new Date(expiresOn).getTime()).toBeGreaterThan(Date.now());
    const answer = await serviceRequest(suite.hub.info, "GET", "/devices", undefined, {
      authorization: sasToken,
    });
    expect(answer.status).toBe(200);
  });

  it("sas-token DEVICE --duration signs the device's resource with its key: the hub accepts it over MQTT", async () => {
    const identity = await createModule(suite.registry, "cli-sas", "m");
    const deviceKey = (await suite.registry.get("cli-sas")).responseBody.authentication!.symmetricKey!
      .primaryKey!;
    const { sasToken } = json<{ sasToken: string }>(await cli("sas-token", "cli-sas", "--duration", "120"));
    const parsed = parseSasToken(sasToken)!;
    expect(decodeURIComponent(parsed.sr)).toBe(`${suite.hub.info.hostName}/devices/cli-sas`);
    expect(verifySignature(parsed, deviceKey)).toBe(true);
    expect(parsed.se).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 120);

    const moduleToken = json<{ sasToken: string }>(
      await cli("sas-token", "cli-sas", "--module", "m", "-o", "json"),
    );
    const client = rawMqttClient(suite.hub.info, identity, { password: moduleToken.sasToken });
    try {
      await connected(client);
    } finally {
      await end(client);
    }
  });
});

describe("query", () => {
  beforeAll(async () => {
    for (const deviceId of ["cli-q1", "cli-q2", "cli-q3", "cli-q4", "cli-q5"]) {
      await suite.registry.create({ deviceId });
      await suite.registry.updateTwin(deviceId, { tags: { group: "q" } }, "*");
    }
  });
  const sql = "SELECT * FROM devices WHERE tags.group = 'q'";

  it("prints every page of the results (JSON twins)", async () => {
    const rows = json<Array<{ deviceId: string; tags: unknown }>>(
      await cli("query", sql, "--page-size", "2"),
    );
    expect(rows.map((row) => row.deviceId).sort()).toEqual([
      "cli-q1",
      "cli-q2",
      "cli-q3",
      "cli-q4",
      "cli-q5",
    ]);
    expect(rows.every((row) => JSON.stringify(row.tags) === '{"group":"q"}')).toBe(true);
  });

  it("--top N stops after N results; -o table shows the twins' columns", async () => {
    const rows = json<unknown[]>(await cli("query", sql, "--top", "3", "--page-size", "2"));
    expect(rows).toHaveLength(3);
    const table = (await cli("query", sql, "-o", "table")).stdout.trimEnd().split("\n");
    expect(table[0].split(/\s+/)).toEqual([
      "deviceId",
      "moduleId",
      "etag",
      "version",
      "tags",
      "desired",
      "reported",
    ]);
    expect(table).toHaveLength(2 + 5);
  });

  it("a query the hub refuses exits 1 with its code", async () => {
    const result = await cli("query", "SELECT * FROM nowhere");
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^iothub-local: \w+: /);
  });
});

describe("method invoke", () => {
  let client: ModuleClient | undefined;
  afterAll(async () => {
    await client?.close();
  });

  it("calls the method on the connected module and prints its status and payload", async () => {
    const identity = await createModule(suite.registry, "cli-method", "m");
    client = await openModuleClient(suite.hub.info, identity);
    client.onMethod("reboot", (request, response) => {
      if (!request || !response) return;
      void response.send(202, { accepted: request.payload, method: request.methodName });
    });
    // --connect-timeout: the hub waits until the module listens for methods (onMethod subscribes async).
    const args = [
      "method",
      "invoke",
      "cli-method",
      "--module",
      "m",
      "--name",
      "reboot",
      "--connect-timeout",
      "10",
    ];
    expect(json(await cli(...args, "--payload", '{"delay":3}'))).toEqual({
      status: 202,
      payload: { accepted: { delay: 3 }, method: "reboot" },
    });
    const table = await cli(...args, "--payload", '"now"', "--timeout", "10", "-o", "table");
    expect(table.stdout.trimEnd().split("\n")[2]).toBe(`202     {"accepted":"now","method":"reboot"}`);
  });

  it("a device that is not connected exits 1 with IoT Hub's code", async () => {
    await suite.registry.create({ deviceId: "cli-method-offline" });
    const result = await cli("method", "invoke", "cli-method-offline", "--name", "ping");
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^iothub-local: DeviceNotOnline: /);
  });
});

describe("which hub", () => {
  it("--connection-string (with --ca) or IOTHUB_CONNECTION_STRING reach any hub, no state dir needed", async () => {
    await suite.registry.create({ deviceId: "cli-any-hub" });
    const { connectionString, caFile } = suite.hub.info;
    const byFlag = await runCli([
      "device",
      "show",
      "cli-any-hub",
      "--connection-string",
      connectionString,
      "--ca",
      caFile,
    ]);
    expect(json(byFlag)).toMatchObject({ deviceId: "cli-any-hub" });
    const byEnvironment = await runCli(["device", "show", "cli-any-hub", "--ca", caFile], {
      IOTHUB_CONNECTION_STRING: connectionString,
    });
    expect(json(byEnvironment)).toMatchObject({ deviceId: "cli-any-hub" });
  });

  it("without --ca the local hub's certificate is not trusted (TLS verification stays on)", async () => {
    const result = await runCli(["device", "list", "--connection-string", suite.hub.info.connectionString], {
      NODE_EXTRA_CA_CERTS: "",
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/certificate/i);
  });

  it("refuses a connection string without its fields (exit 2), never quoting it", async () => {
    const result = await runCli([
      "device",
      "list",
      "--connection-string",
      "HostName=h;SharedAccessKey=c2VjcmV0",
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      "iothub-local: --connection-string: must hold SharedAccessKeyName (Key=Value;...)\n",
    );
  });

  it("refuses --state together with --connection-string (exit 2)", async () => {
    const result = await cli("device", "list", "--connection-string", suite.hub.info.connectionString);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--state, --connection-string: give one of them, not both");
  });

  it("a state dir with no hub running exits 1 naming the dir and how to start one", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "iothub-local-cli-nohub-"));
    const result = await runCli(["device", "list", "--state", stateDir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `no hub is running on state dir ${stateDir} (start one with: iothub-local start --state ${stateDir}`,
    );
  });
});
