import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { runVerify } from "./runVerify";

/** Input and usage errors: the CLI as a child process, exit code 2 and a message that says what to fix. */

const directory = mkdtempSync(join(tmpdir(), "verify-cli-"));
const KEY = Buffer.alloc(32, 1).toString("base64");

/** An environment whose PATH holds only node itself: no `pulumi` anywhere. */
function environmentWithoutPulumi(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: dirname(process.execPath) };
  delete env.PULUMI_CLI;
  return env;
}

describe("verify CLI input errors", () => {
  it("exits 2 with usage help when no source of outputs is given", async () => {
    const run = await runVerify([]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--stack NAME or --outputs FILE/);
    expect(run.stderr).toMatch(/--help/);
  });

  it("prints usage and exits 0 with --help", async () => {
    const run = await runVerify(["--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/--watch DEVICE\/MODULE/);
    expect(run.stdout).toMatch(/Exit codes/);
  });

  it("says clearly that the Pulumi CLI is missing for --stack", async () => {
    const run = await runVerify(["--stack", "dev"], environmentWithoutPulumi());
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--stack dev: the Pulumi CLI \("pulumi"\) was not found on PATH/);
    expect(run.stderr).toMatch(/--outputs FILE/);
  });

  it("passes on what a failing `pulumi stack output` said", async () => {
    const fakePulumi = join(directory, "pulumi");
    writeFileSync(fakePulumi, "#!/bin/sh\necho \"error: no stack named 'dev' found\" >&2\nexit 255\n");
    chmodSync(fakePulumi, 0o755);
    const run = await runVerify(["--stack", "dev"], {
      ...environmentWithoutPulumi(),
      PULUMI_CLI: fakePulumi,
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /pulumi stack output --json --show-secrets --stack dev` failed: error: no stack named 'dev' found/,
    );
  });

  it("names a missing outputs file", async () => {
    const run = await runVerify(["--outputs", join(directory, "missing.json")]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/missing\.json: cannot read it \(no such file\)/);
  });

  /** Stack outputs with one module on `hostName` (the service connection string's HostName may differ), as a file. */
  function outputsFile(name: string, hostName: string, serviceHostName = hostName): string {
    const file = join(directory, name);
    writeFileSync(
      file,
      JSON.stringify({
        hostName,
        serviceConnectionString: `HostName=${serviceHostName};SharedAccessKeyName=p;SharedAccessKey=${KEY}`,
        modules: [
          {
            deviceId: "d",
            moduleId: "m",
            connectionString: `HostName=${hostName};DeviceId=d;ModuleId=m;SharedAccessKey=${KEY}`,
            desired: {},
          },
        ],
      }),
    );
    return file;
  }

  it("names bad fields of the outputs without printing any key", async () => {
    const file = join(directory, "bad.json");
    writeFileSync(
      file,
      JSON.stringify({
        hostName: "hub",
        serviceConnectionString: `HostName=hub;SharedAccessKey=${KEY}`,
        modules: [
          {
            deviceId: "d",
            moduleId: "m",
            connectionString: `HostName=hub;DeviceId=d;SharedAccessKey=${KEY}`,
          },
        ],
      }),
    );
    const run = await runVerify(["--outputs", file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/serviceConnectionString: must hold SharedAccessKeyName/);
    expect(run.stderr).toMatch(/modules\[0\]\.connectionString: must carry ModuleId/);
    expect(run.stdout + run.stderr).not.toContain(KEY);
  });

  it("exits 2 naming the rule when the service connection string's HostName carries a port", async () => {
    const run = await runVerify(["--outputs", outputsFile("port.json", "hub", "hub:8443")]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/serviceConnectionString: HostName must not carry a port/);
    expect(run.stdout + run.stderr).not.toContain(KEY);
  });

  it("exits 2 naming --ca when its file holds no readable certificate, before contacting anything", async () => {
    const outputs = outputsFile("ca-outputs.json", "hub.invalid");
    const garbled = join(directory, "garbled.pem");
    writeFileSync(garbled, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    const run = await runVerify(["--outputs", outputs, "--ca", garbled]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`--ca ${garbled}: the certificate is not a readable X.509 certificate`);
    expect(run.stdout).toBe("");
  });

  it("reads the outputs from standard input with --outputs -", async () => {
    const run = await runVerify(["--outputs", "-"], process.env, "not json");
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/standard input: not valid JSON/);
  });
});
