import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROJECT_DIR } from "./support/runProgram";

/**
 * `npm run local` where no Pulumi CLI can be had (this machine: none installed, no internet): it must say so and
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
      "unknown argument --colour (use --stack NAME, --state DIR, --host ADDR, --no-download, --no-verify)",
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
  function runLocal(host: string): { status: number | null; stdout: string; stderr: string } {
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: path.join(scratch, "bin") };
    delete env.PULUMI_CONFIG_PASSPHRASE;
    delete env.PULUMI_BACKEND_URL;
    return spawnSync(
      process.execPath,
      ["--import", "tsx", "scripts/local.ts", "--state", stateDir, "--host", host, "--no-verify"],
      { cwd: PROJECT_DIR, encoding: "utf8", env },
    );
  }

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
});
