import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { collectOutput, PROJECT_ROOT, runCli, type CliResult } from "../support/hubProcess";
import { policyNames, useSuiteHub } from "../support/suiteHub";

/**
 * Every command refuses what it does not understand (extra arguments, unknown flags, values breaking a rule) with
 * exit code 2 and a message naming the flag or field and the rule, and a refused command changes nothing: the
 * registry, twins, policies, quotas and faults are compared before and after.
 */

const suite = useSuiteHub();
const cli = (...args: string[]): Promise<CliResult> => suite.hub.cli(...args);

/** What a refused command must leave as it was: every identity with its etag and its twin's. */
async function registrySnapshot(): Promise<unknown> {
  const devices = (await suite.registry.list()).responseBody;
  return Promise.all(
    devices.map(async (device) => ({
      device: [device.deviceId, device.etag, device.status],
      twin: (await suite.registry.getTwin(device.deviceId)).responseBody.etag,
      modules: await Promise.all(
        (await suite.registry.getModulesOnDevice(device.deviceId)).responseBody.map(async (module) => [
          module.moduleId,
          module.etag,
          (await suite.registry.getModuleTwin(device.deviceId, module.moduleId)).responseBody.etag,
        ]),
      ),
    })),
  );
}

/** The hub's own settings a refused hub command must leave alone. */
async function hubSettings(): Promise<string[]> {
  const shown = await Promise.all([cli("policy", "list"), cli("quota", "show"), cli("fault", "list")]);
  return shown.map((result) => result.stdout);
}

const KEY = Buffer.alloc(32, 7).toString("base64");

beforeAll(async () => {
  await suite.registry.create({ deviceId: "ref-dev" });
  await suite.registry.addModule({ deviceId: "ref-dev", moduleId: "m" });
});

/** A test name for a command line: long values shortened. */
const commandLine = (args: string[]): string =>
  args.map((arg) => (arg.length > 40 ? `${arg.slice(0, 20)}...(${arg.length} chars)` : arg)).join(" ");

const named = (cases: Array<[string[], string]>): Array<[string, string[], string]> =>
  cases.map(([args, message]) => [commandLine(args), args, message]);

describe("service commands refuse bad input with exit 2, the field and the rule, and change nothing", () => {
  it.each(
    named([
      [["device", "create", "bad id"], "deviceId: may contain only ASCII letters, digits and"],
      [
        ["device", "create", "ref-new", "extra"],
        "error: too many arguments for 'create'. Expected 1 argument but got 2.",
      ],
      [["device", "create", "ref-new", "--status", "paused"], "--status: must be enabled or disabled"],
      [
        ["device", "create", "ref-new", "--status-reason", "x".repeat(129)],
        "--status-reason: must be at most 128 characters",
      ],
      [
        ["device", "create", "ref-new", "--keys", "not*base64,x"],
        "--keys (authentication.symmetricKey.primaryKey): must be valid base64",
      ],
      [["device", "create", "ref-new", "--keys", KEY], "--keys: must be PRIMARY,SECONDARY (two base64 keys)"],
      [
        ["device", "create", "ref-new", "--keys", `${KEY},${Buffer.alloc(8).toString("base64")}`],
        "--keys (authentication.symmetricKey.secondaryKey): must decode to 16-64 bytes (it decodes to 8)",
      ],
      [
        ["device", "create", "ref-new", "--x509-thumbprints", "abc"],
        "--x509-thumbprints (authentication.x509Thumbprint.primaryThumbprint): must be 40 hex digits (SHA-1) or 64 hex digits (SHA-256)",
      ],
      [
        ["device", "create", "ref-new", "--keys", `${KEY},${KEY}`, "--x509-thumbprints", "AB".repeat(20)],
        "--keys, --x509-thumbprints: give one of them, not both",
      ],
      [["device", "create", "ref-new", "--edeg"], "error: unknown option '--edeg'\n(Did you mean --edge?)"],
      [["device", "update", "ref-dev"], "device update: give at least one of --status"],
      [["device", "update", "ref-dev", "--status", "off"], "--status: must be enabled or disabled"],
      [["device", "delete", "ref-dev", "m"], "error: too many arguments for 'delete'"],
      [
        ["module", "create", "ref-dev", "$edgeAgent"],
        "moduleId: must not start with $ (reserved for IoT Hub's system modules)",
      ],
      [["module", "delete", "ref-dev", "m", "now"], "error: too many arguments for 'delete'"],
      [
        ["twin", "update", "ref-dev", "--set", "desired.a b=1"],
        "properties.desired.a b: property names must not contain control characters, '.', '$' or spaces",
      ],
      [
        ["twin", "update", "ref-dev", "--set", "reported.x=1"],
        "--set: 'reported.x' must be tags.KEY[.KEY...] or desired.KEY[.KEY...]",
      ],
      [["twin", "update", "ref-dev", "--set", "desired.x"], "--set: 'desired.x' must be PATH=VALUE"],
      [["twin", "update", "ref-dev", "--unset", "desired"], "--unset: 'desired' must be tags.KEY[.KEY...]"],
      [
        ["twin", "update", "ref-dev", "--set", `desired.long=${"x".repeat(4097)}`],
        "properties.desired.long: strings must be at most 4096 bytes (it is 4097)",
      ],
      [["twin", "update", "ref-dev", "--tags", "[1]"], "--tags: must be a JSON object"],
      [
        ["twin", "update", "ref-dev", "--module", "m"],
        "twin update: give at least one of --set, --unset, --tags",
      ],
      [
        ["twin", "show", "ref-dev", "--modul", "m"],
        "error: unknown option '--modul'\n(Did you mean --module?)",
      ],
      [
        ["method", "invoke", "ref-dev", "--name", "m", "--timeout", "1"],
        "--timeout: '1' must be a whole number of seconds, 5-300",
      ],
      [["method", "invoke", "ref-dev", "--name", "m", "--payload", "{bad"], "--payload: must be JSON"],
      [["method", "invoke", "ref-dev"], "error: required option '--name <method>' not specified"],
      [["query", " "], "query: must not be empty"],
      [["query", "SELECT * FROM devices", "--top", "0"], "--top: '0' must be a whole number >= 1"],
      [["sas-token", "--module", "m"], "--module: needs the deviceId of its device"],
      [["sas-token", "ref-dev", "--duration", "0"], "--duration: '0' must be a whole number of seconds >= 1"],
      [
        ["connection-string", "show", "ref-dev", "--key", "tertiary"],
        "--key: 'tertiary' must be primary or secondary",
      ],
      [
        ["device", "list", "-o", "yaml"],
        "error: option '-o, --output <format>' argument 'yaml' is invalid. Allowed choices are json, table, tsv.",
      ],
    ]),
  )("%s", async (_name, args, message) => {
    const before = await registrySnapshot();
    const result = await cli(...args);
    expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 2, stdout: "" });
    expect(result.stderr).toContain(message);
    expect(await registrySnapshot()).toEqual(before);
  });
});

describe("hub commands refuse what they do not understand, and change nothing", () => {
  it("stop with an extra argument exits 2 and leaves the hub running", async () => {
    const result = await cli("stop", "extra");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("error: too many arguments for 'stop'. Expected 0 arguments but got 1.");
    expect(existsSync(join(suite.hub.stateDir, "hub.json"))).toBe(true);
    expect((await cli("device", "show", "ref-dev")).code).toBe(0);
  });

  it("policy add with a name of two words exits 2 and adds no policy", async () => {
    const before = await policyNames(suite.hub);
    const result = await cli("policy", "add", "bad", "name", "--rights", "RegistryRead");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("error: too many arguments for 'add'. Expected 1 argument but got 2.");
    expect(await policyNames(suite.hub)).toEqual(before);
    const quoted = await cli("policy", "add", "bad name", "--rights", "RegistryRead");
    expect(quoted.code).toBe(2);
    expect(quoted.stderr).toContain("policy name: must be 1-64 letters, digits, '.', '_' or '-'");
    expect(await policyNames(suite.hub)).toEqual(before);
  });

  it("start --port suggests --https-port, --mqtt-port and --entra-port (not --host), exit 2", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "iothub-local-port-"));
    const result = await runCli(["start", "--port", "8443", "--state", stateDir]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      "error: unknown option '--port'\n(Did you mean --https-port, --mqtt-port or --entra-port?)",
    );
    expect(existsSync(join(stateDir, "hub.json"))).toBe(false);
  });

  it.each(
    named([
      [["quota", "clear", "all"], "error: too many arguments for 'clear'"],
      [
        ["quota", "set", "registry=5/hour"],
        "quota: 'registry=5/hour' is neither a preset (S1) nor CLASS=N/s or CLASS=N/min",
      ],
      [
        ["fault", "add", "registry", "--mode", "503", "--count", "-1"],
        "fault: --count '-1' must be a whole number >= 0",
      ],
      [
        ["fault", "add", "registry", "--mode", "explode"],
        "fault: --mode 'explode' must be one of 503, hang, reset, drop",
      ],
      [["fault", "clear", "--all"], "error: unknown option '--all'"],
      [["policy", "add", "ops", "--rights", "Everything"], "rights: 'Everything' is not a right"],
      [["policy", "remove", "iothubowner"], "policy 'iothubowner' is the hub's own"],
      [["frobnicate"], "error: unknown command 'frobnicate'"],
    ]),
  )("%s exits 2 and leaves policies, quotas and faults as they were", async (_name, args, message) => {
    const before = await hubSettings();
    const result = await cli(...args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(await hubSettings()).toEqual(before);
  });
});

describe("hub commands say what they did", () => {
  it("quota clear and fault clear print what they cleared", async () => {
    expect((await cli("quota", "set", "registry=100/min,twinRead=5/s")).code).toBe(0);
    expect(await cli("quota", "clear")).toMatchObject({
      code: 0,
      stdout: "cleared 2 quotas: registry=100/min,twinRead=5/s\n",
    });
    expect(await cli("quota", "clear")).toMatchObject({ code: 0, stdout: "no quotas to clear\n" });

    const added = await cli("fault", "add", "twinUpdate", "--mode", "503", "--count", "2");
    expect(added.code).toBe(0);
    expect(await cli("fault", "clear")).toMatchObject({
      code: 0,
      stdout: `cleared 1 fault:\n${added.stdout}`,
    });
    expect(await cli("fault", "clear")).toMatchObject({ code: 0, stdout: "no faults to clear\n" });
  });

  it("a second start on the state dir names the real path in its stop command", async () => {
    const second = await cli("start", "--host", "127.0.0.1", "--https-port", "0", "--mqtt-port", "0");
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(
      `already runs on ${suite.hub.stateDir}; stop it (iothub-local stop --state ${suite.hub.stateDir}) or use another --state`,
    );
  });

  it("tail with no hub exits 1 with its message and no stack trace", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "iothub-local-tail-"));
    expect(await runCli(["tail", "--state", stateDir])).toEqual({
      code: 1,
      stdout: "",
      stderr: `tail: no hub is running on state dir ${stateDir} (start one with: iothub-local start --state ${stateDir})\n`,
    });
  });

  it("--version prints the package's version; --help exits 0", async () => {
    const { version } = JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8")) as {
      version: string;
    };
    expect(await runCli(["--version"])).toEqual({ code: 0, stdout: `${version}\n`, stderr: "" });
    const help = await runCli(["--help"]);
    expect(help.code).toBe(0);
    for (const command of [
      "start",
      "device",
      "module",
      "twin",
      "connection-string",
      "query",
      "method",
      "sas-token",
    ]) {
      expect(help.stdout).toMatch(new RegExp(`^  ${command}\\b`, "m"));
    }
  });

  it("npm run local -- --help prints what it does and its flags, and runs nothing", async () => {
    const result = await collectOutput(
      spawn(process.execPath, ["--import", "tsx", join(PROJECT_ROOT, "scripts", "local.ts"), "--help"], {
        cwd: PROJECT_ROOT,
        stdio: ["ignore", "pipe", "pipe"],
      }),
    );
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout).toMatch(/^Usage: npm run local/);
    expect(result.stdout).toMatch(/pulumi up --stack STACK --yes/);
    for (const flag of [
      "--stack NAME",
      "--state DIR",
      "--host ADDR",
      "--no-download",
      "--no-verify",
      "--help",
    ]) {
      expect(result.stdout).toContain(flag);
    }
  });
});
