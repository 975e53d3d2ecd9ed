import { spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROJECT_DIR } from "./support/runProgram";

/**
 * `npm run local` where no Pulumi CLI can be had (none installed, and no download possible): it must say so and
 * how to install one, exit non-zero, and start nothing.
 */
describe("npm run local without a Pulumi CLI", () => {
  let scratch: string;
  beforeEach(() => {
    scratch = mkdtempSync(path.join(os.tmpdir(), "local-script-"));
  });
  afterEach(() => rmSync(scratch, { recursive: true, force: true }));

  function runLocal(args: string[], env: NodeJS.ProcessEnv) {
    const stateDir = path.join(scratch, "hub-state");
    const result = spawnSync(
      process.execPath,
      ["--import", "tsx", "scripts/local.ts", "--state", stateDir, ...args],
      {
        cwd: PROJECT_DIR,
        encoding: "utf8",
        // An empty PATH and PULUMI_HOME: no CLI installed, none cached by the npm package.
        env: {
          ...process.env,
          PATH: path.join(scratch, "bin"),
          PULUMI_HOME: path.join(scratch, "pulumi-home"),
          ...env,
        },
      },
    );
    return { ...result, stateDir };
  }

  it("with --no-download: names where it looked, how to install, exits 127 and starts no hub", () => {
    const result = runLocal(["--no-download"], {});
    expect(result.status).toBe(127);
    expect(result.stderr).toContain("No Pulumi CLI found: not on PATH");
    expect(result.stderr).toContain(path.join(scratch, "pulumi-home", "bin"));
    expect(result.stderr).toContain("downloading it was refused (--no-download)");
    expect(result.stderr).toContain("https://get.pulumi.com");
    expect(existsSync(result.stateDir)).toBe(false);
  });

  it("when the npm package `pulumi` cannot download it: says so, how to install, exits 127 and starts no hub", () => {
    // A version that does not exist fails the download with or without internet access.
    const result = runLocal([], { PULUMI_VERSION: "0.0.0-no-such-version" });
    expect(result.status).toBe(127);
    expect(result.stderr).toContain("the npm package `pulumi` could not download it");
    expect(result.stderr).toContain("https://get.pulumi.com");
    expect(existsSync(result.stateDir)).toBe(false);
  });

  it("rejects an unknown flag with the flags it takes", () => {
    const result = runLocal(["--colour"], {});
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      "unknown argument --colour (use --stack NAME, --state DIR, --host ADDR, --no-download, --no-verify, --help)",
    );
  });
});

/**
 * `npm run local` with a Pulumi CLI on PATH (a stand-in that records how it is called: the real one cannot be had
 * here): it starts the local hub in the background and leaves it running, calls the CLI on the project's file
 * backend with the local stack's passphrase, and reuses the running hub the next time.
 */
describe("npm run local with a Pulumi CLI", () => {
  let scratch: string;
  let stateDir: string;
  beforeEach(() => {
    scratch = mkdtempSync(path.join(os.tmpdir(), "local-script-"));
    stateDir = path.join(scratch, "hub-state");
    mkdirSync(path.join(scratch, "bin"));
    // Records argv and the environment the program would see, one JSON line per call.
    writeFileSync(
      path.join(scratch, "bin", "pulumi"),
      `#!/bin/sh\nprintf '{"args":"%s","backend":"%s","passphrase":"%s"}\\n' "$*" "$PULUMI_BACKEND_URL" "$PULUMI_CONFIG_PASSPHRASE" >> "${scratch}/calls.jsonl"\n`,
    );
    chmodSync(path.join(scratch, "bin", "pulumi"), 0o755);
  });
  afterEach(async () => {
    await new Promise((resolve) =>
      spawn(process.execPath, ["bin/iothub-local.js", "stop", "--state", stateDir], {
        cwd: PROJECT_DIR,
      }).once("exit", resolve),
    );
    rmSync(scratch, { recursive: true, force: true });
  });

  /** Runs `npm run local` on a random loopback address; retries another one when the port is taken (exit 3). */
  function runLocal(
    host: string,
    extra: { args?: string[]; env?: NodeJS.ProcessEnv } = {},
  ): { status: number | null; stdout: string; stderr: string } {
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: path.join(scratch, "bin") };
    delete env.PULUMI_CONFIG_PASSPHRASE;
    delete env.PULUMI_CONFIG_PASSPHRASE_FILE;
    delete env.PULUMI_BACKEND_URL;
    return spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "scripts/local.ts",
        "--state",
        stateDir,
        "--host",
        host,
        "--no-verify",
        ...(extra.args ?? []),
      ],
      { cwd: PROJECT_DIR, encoding: "utf8", env: { ...env, ...extra.env } },
    );
  }

  /** A loopback address of this test's own, so a hub started by mistake collides with nothing. */
  const someHost = (): string => `127.0.0.${2 + Math.floor(Math.random() * 252)}`;

  function calls(): Array<{ args: string; backend: string; passphrase: string }> {
    return readFileSync(path.join(scratch, "calls.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
  }

  it("starts the hub in the background, runs pulumi up on the file backend, and reuses the hub next time", () => {
    let first: ReturnType<typeof runLocal> | undefined;
    let host = "";
    for (let attempt = 0; attempt < 10; attempt++) {
      host = `127.0.0.${2 + Math.floor(Math.random() * 252)}`;
      first = runLocal(host);
      if (!/did not start \(exit 3\)/.test(first.stderr)) break;
    }
    expect(first!.stderr).toBe("");
    expect(first!.status).toBe(0);
    expect(first!.stdout).toContain(`Pulumi CLI: ${path.join(scratch, "bin", "pulumi")}`);
    expect(first!.stdout).toContain("Started the local IoT Hub");
    expect(first!.stdout).toContain(`Stop it with: node bin/iothub-local.js stop --state`);

    // The hub outlives the command.
    const info = JSON.parse(readFileSync(path.join(stateDir, "hub.json"), "utf8")) as {
      host: string;
      pid: number;
    };
    expect(info.host).toBe(host);
    expect(() => process.kill(info.pid, 0)).not.toThrow();
    expect(existsSync(path.join(stateDir, "hub.log"))).toBe(true);

    const backend = `file://${path.join(PROJECT_DIR, ".pulumi")}`;
    // --state is recorded in the stack's config, so the program provisions the hub that was started
    expect(calls()).toEqual([
      { args: "stack select local --create", backend, passphrase: "iothub-local" },
      {
        args: `config set --path iothub-provisioner:localHub.stateDir ${stateDir} --stack local`,
        backend,
        passphrase: "iothub-local",
      },
      { args: "up --stack local --yes", backend, passphrase: "iothub-local" },
    ]);

    const second = runLocal(host);
    expect(second.status).toBe(0);
    expect(second.stdout).toContain(`The local IoT Hub is running (${host}, pid ${info.pid})`);
    expect(calls()).toHaveLength(6);
  });

  it("when the hub cannot start: exits 1 with this start's lines of hub.log, and runs no pulumi up", () => {
    // An earlier run's output stays in hub.log; only what this start printed belongs in the error. (A state dir
    // open to group/other is refused: the earlier run made it private.)
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    writeFileSync(path.join(stateDir, "hub.log"), "an earlier run's last line\n");
    // 192.0.2.1 (TEST-NET-1) is no address of this machine: the hub exits 1 before it is ready.
    const result = runLocal("192.0.2.1");
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      `npm run local: The local IoT Hub did not start (exit 1). Its log (${path.join(stateDir, "hub.log")}):\n`,
    );
    expect(result.stderr).toContain("192.0.2.1:");
    expect(result.stderr).toContain("no such local address");
    expect(result.stderr).not.toContain("an earlier run's last line");
    expect(calls().map((call) => call.args.split(" ")[0])).toEqual(["stack", "config"]);
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
  });

  // Pulumi.dev.yaml (committed) is the Azure stack: `npm run local -- --stack dev` must neither put the public
  // passphrase on it nor deploy it, whatever passphrase the user has set.
  it.each([
    ["without a passphrase of the user's", {}],
    ["with the user's own PULUMI_CONFIG_PASSPHRASE", { PULUMI_CONFIG_PASSPHRASE: "users-own" }],
  ])(
    "refuses a stack whose target is azure (%s) before calling pulumi at all, and starts no hub",
    (_, env) => {
      const result = runLocal(someHost(), { args: ["--stack", "dev"], env });
      expect(result.status).toBe(1);
      expect(result.stderr).toContain(
        "npm run local: stack dev has iothub-provisioner:target azure (Pulumi.dev.yaml): refused before running anything. " +
          "npm run local deploys only a stack whose iothub-provisioner:target is local",
      );
      expect(result.stderr).toContain("public passphrase 'iothub-local'");
      expect(result.stderr).toContain("Deploy an Azure stack with `pulumi up --stack dev`");
      // no `stack select --create`, no `config set`, and above all no `up`
      expect(existsSync(path.join(scratch, "calls.jsonl"))).toBe(false);
      expect(existsSync(stateDir)).toBe(false);
    },
  );

  it("refuses a stack that has no stack file (its target is unknown) before creating it", () => {
    const result = runLocal(someHost(), { args: ["--stack", "no-such-stack-here"] });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      "npm run local: stack no-such-stack-here has no Pulumi.no-such-stack-here.yaml, so its iothub-provisioner:target is unknown.",
    );
    expect(result.stderr).toContain("cp Pulumi.local.yaml Pulumi.no-such-stack-here.yaml");
    expect(existsSync(path.join(scratch, "calls.jsonl"))).toBe(false);
    expect(existsSync(stateDir)).toBe(false);
  });

  it("on the local stack, leaves a user's PULUMI_CONFIG_PASSPHRASE_FILE in charge (sets no public passphrase over it)", () => {
    const passphraseFile = path.join(scratch, "passphrase");
    writeFileSync(passphraseFile, "users-own\n");
    let result: ReturnType<typeof runLocal> | undefined;
    for (let attempt = 0; attempt < 10; attempt++) {
      result = runLocal(someHost(), { env: { PULUMI_CONFIG_PASSPHRASE_FILE: passphraseFile } });
      if (!/did not start \(exit 3\)/.test(result.stderr)) break;
    }
    expect(result!.stderr).toBe("");
    expect(result!.status).toBe(0);
    expect(calls().map((call) => [call.args.split(" ")[0], call.passphrase])).toEqual([
      ["stack", ""],
      ["config", ""],
      ["up", ""],
    ]);
  });
});
