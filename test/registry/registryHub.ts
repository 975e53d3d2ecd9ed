/**
 * A local hub for the registry provider tests, started through the `iothub-local` CLI on a loopback address of
 * its own, seeded with the suite CA (which NODE_EXTRA_CA_CERTS makes the test process trust), plus the CLI's
 * quota and fault commands against its state dir.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";

const ROOT = path.resolve(__dirname, "../..");
const SUITE_CA_DIR = path.join(ROOT, ".iothub-local-test");

export interface RegistryHub {
  hostName: string;
  connectionString: string;
  caFile: string;
  caPem: string;
  mqttPort: number;
  stateDir: string;
  /** Runs `iothub-local <args> --state <this hub's dir>`. */
  cli(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

export async function startRegistryHub(extraArgs: string[] = []): Promise<RegistryHub> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "registry-hub-"));
    for (const file of ["ca.pem", "ca-key.pem"]) {
      fs.copyFileSync(path.join(SUITE_CA_DIR, file), path.join(stateDir, file));
    }
    const host = `127.0.${1 + Math.floor(Math.random() * 250)}.${2 + Math.floor(Math.random() * 250)}`;
    const child = spawn(
      process.execPath,
      [
        path.join(ROOT, "bin/iothub-local.js"),
        "start",
        "--state",
        stateDir,
        "--host",
        host,
        "--mqtt-port",
        "0",
        ...extraArgs,
      ],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    const exitCode = await readyOrExit(child);
    if (exitCode === 3) continue; // address in use: try another
    if (exitCode !== undefined) throw new Error(`iothub-local start exited with ${exitCode}`);
    await fileWritten(path.join(stateDir, "hub.json"));
    const info = JSON.parse(fs.readFileSync(path.join(stateDir, "hub.json"), "utf8")) as {
      hostName: string;
      connectionString: string;
      caFile: string;
      mqttPort: number;
    };
    return {
      ...info,
      caPem: fs.readFileSync(info.caFile, "utf8"),
      stateDir,
      async cli(...args) {
        const run = promisify(execFile);
        const { stdout } = await run(
          process.execPath,
          [path.join(ROOT, "bin/iothub-local.js"), ...args, "--state", stateDir],
          { cwd: ROOT },
        );
        return stdout;
      },
      async stop() {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      },
    };
  }
  throw new Error("no free loopback address for a test hub");
}

/** Resolves when the hub printed `ready` and wrote hub.json, or with the exit code if it exited first. */
function readyOrExit(child: ChildProcess): Promise<number | undefined> {
  return new Promise((resolve) => {
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (/ready/.test(out)) resolve(undefined);
    });
    child.stderr?.resume();
    child.once("exit", (code) => resolve(code ?? -1));
  });
}

/** hub.json is written right after the ready line: wait for it by watching the dir (no polling). */
async function fileWritten(file: string): Promise<void> {
  const watcher = fs.watch(path.dirname(file));
  try {
    const appeared = new Promise<void>((resolve) =>
      watcher.on("change", () => fs.existsSync(file) && resolve()),
    );
    if (!fs.existsSync(file)) await appeared;
  } finally {
    watcher.close();
  }
}
