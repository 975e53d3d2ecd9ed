import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { EXIT_PORT_IN_USE } from "../../local-hub/errors/startError";
import {
  HUB_CLI,
  HubDidNotStartError,
  launchHub,
  type AttachedHub,
  type HubInfo,
} from "../../local-hub/stateDir";

/**
 * Local hubs for tests, each in its own child process (jest cannot load aedes), on its own state dir and loopback
 * address 127.0.0.x, so suites never share quotas, faults or registries. Every child is tracked and killed when the
 * test process exits, and the hub itself exits when its stdin closes (the test process died): a failing or killed
 * test never leaves a hub behind.
 */

export const PROJECT_ROOT = resolve(__dirname, "../..");
export { HUB_CLI };
/** Made by `npm run jest` before jest starts; every test hub is seeded with its CA, which tests trust in-process. */
export const SUITE_CA_DIR = join(PROJECT_ROOT, ".iothub-local-test");

export interface StartHubOptions {
  /** Extra `start` flags, e.g. ["--quota", "S1"] or ["--fault", "registry:503:1"]. */
  args?: string[];
  /** Extra environment for the hub process. */
  env?: NodeJS.ProcessEnv;
  /** Run the local DPS too, on a loopback address of its own (port 443): `--dps-host`. */
  dps?: boolean;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface TestHub {
  /** hub.json of the running hub (updated by restart()). */
  info: HubInfo;
  stateDir: string;
  /** The loopback address the hub binds, e.g. 127.0.0.42. */
  host: string;
  /** The local DPS's address (with `dps: true`), another 127.0.0.x. */
  dpsHost?: string;
  /** SIGTERM, then waits for the exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL (a crash: hub.json stays behind), then waits for the exit. */
  kill(): Promise<void>;
  /** Starts the hub again on the same state dir and address (after stop() or kill()). */
  restart(): Promise<HubInfo>;
  /** `iothub-local <args> --state <this hub's state dir>` in a child process. */
  cli(...args: string[]): Promise<CliResult>;
  /** Everything the hub printed so far (stdout and stderr), for failure messages. */
  output(): string;
  /** Resolves when the hub prints a line matching `pattern` (at or after the time of this call). */
  waitForOutput(pattern: RegExp): Promise<string>;
}

/**
 * Hub processes still running: killed if the test process exits first. The exit listener is there only while a
 * child is (jest loads this module afresh for every suite in one process: a listener per load would pile up).
 */
const children = new Set<ChildProcess>();
const killChildren = (): void => {
  for (const child of children) child.kill("SIGKILL");
};
function track(child: ChildProcess): void {
  if (children.size === 0) process.on("exit", killChildren);
  children.add(child);
}
function untrack(child: ChildProcess): void {
  if (children.delete(child) && children.size === 0) process.off("exit", killChildren);
}

/** Starts a hub on a fresh temp state dir seeded with the suite CA; resolves once hub.json is written. */
export async function startHub(options: StartHubOptions = {}): Promise<TestHub> {
  const stateDir = mkdtempSync(join(tmpdir(), "iothub-local-test-"));
  seedSuiteCa(stateDir);
  const tried = new Set<string>();
  for (let attempt = 0; attempt < 20; attempt++) {
    const host = randomLoopback(tried);
    const dpsHost = options.dps ? randomLoopback(tried) : undefined;
    const started = await spawnHub(stateDir, host, options, dpsHost);
    if (started.kind === "ready") return makeTestHub(stateDir, host, options, started, dpsHost);
  }
  throw new Error("the local hub found no free loopback address in 20 tries");
}

/** Everything a child process prints, with its exit code, once it has ended (its stdout and stderr piped). */
export function collectOutput(child: ChildProcess): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolvePromise({ code, stdout, stderr }));
  });
}

/** Runs the hub CLI once (policy, quota, fault, stop, ...) and collects its output. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [HUB_CLI, ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  track(child);
  try {
    return await collectOutput(child);
  } finally {
    untrack(child);
  }
}

function seedSuiteCa(stateDir: string): void {
  const caFile = join(SUITE_CA_DIR, "ca.pem");
  if (!existsSync(caFile)) {
    throw new Error(
      `${caFile} is missing: run tests with \`npm run jest -- <file>\`, which makes the suite CA`,
    );
  }
  copyFileSync(caFile, join(stateDir, "ca.pem"));
  copyFileSync(join(SUITE_CA_DIR, "ca-key.pem"), join(stateDir, "ca-key.pem"));
}

function randomLoopback(tried: Set<string>): string {
  for (;;) {
    const host = `127.0.0.${2 + Math.floor(Math.random() * 252)}`;
    if (!tried.has(host)) {
      tried.add(host);
      return host;
    }
  }
}

type SpawnResult = { kind: "ready"; process: AttachedHub; info: HubInfo } | { kind: "addressInUse" };

/** The flags every test hub starts with (after `start --state DIR`): its own address, MQTT on any free port. */
const testHubFlags = (host: string): string[] => ["--host", host, "--mqtt-port", "0"];

/** `start` and its flags for a hub on `stateDir` at `host`, with MQTT on any free port (after HUB_CLI). */
export function hubStartArgs(stateDir: string, host: string): string[] {
  return ["start", "--state", stateDir, ...testHubFlags(host)];
}

async function spawnHub(
  stateDir: string,
  host: string,
  options: StartHubOptions,
  dpsHost: string | undefined,
): Promise<SpawnResult> {
  const hub = launchHub({
    stateDir,
    args: [
      ...testHubFlags(host),
      "--https-port",
      "443",
      // The DPS's device endpoint on a free port: the device SDK reaches any port of provisioningHost.
      ...(dpsHost ? ["--dps-host", dpsHost, "--dps-mqtt-port", "0"] : []),
      ...(options.args ?? []),
    ],
    env: options.env,
    cwd: PROJECT_ROOT,
    exitWithStdin: true,
  });
  track(hub.child);
  void hub.exited.then(() => untrack(hub.child));
  // The hub prints its ready line, then writes hub.json: waiting for both makes output() hold the line too.
  const readyLine = new Promise<void>((resolveReady) => {
    const onLine = (line: string): void => {
      if (!/\bready\b/.test(line)) return;
      hub.lines.off("line", onLine);
      resolveReady();
    };
    hub.lines.on("line", onLine);
  });
  try {
    const [info] = await Promise.all([hub.ready, readyLine]);
    return { kind: "ready", process: hub, info };
  } catch (error) {
    if (error instanceof HubDidNotStartError && error.exitCode === EXIT_PORT_IN_USE)
      return { kind: "addressInUse" };
    throw error;
  }
}

function makeTestHub(
  stateDir: string,
  host: string,
  options: StartHubOptions,
  first: Extract<SpawnResult, { kind: "ready" }>,
  dpsHost: string | undefined,
): TestHub {
  let current = first.process;
  let earlierOutput = "";
  const hub: TestHub = {
    info: first.info,
    stateDir,
    host,
    ...(dpsHost ? { dpsHost } : {}),
    async stop() {
      current.child.kill("SIGTERM");
      return current.exited;
    },
    async kill() {
      current.child.kill("SIGKILL");
      await current.exited;
    },
    async restart() {
      earlierOutput += current.output();
      const started = await spawnHub(stateDir, host, options, dpsHost);
      if (started.kind !== "ready") throw new Error(`the local hub did not restart: ${host}:443 is in use`);
      current = started.process;
      hub.info = started.info;
      return hub.info;
    },
    cli: (...args: string[]) => runCli([...args, "--state", stateDir]),
    output: () => earlierOutput + current.output(),
    waitForOutput: (pattern: RegExp) =>
      new Promise<string>((resolveLine) => {
        const lines = current.lines;
        const onLine = (line: string): void => {
          if (!pattern.test(line)) return;
          lines.off("line", onLine);
          resolveLine(line);
        };
        lines.on("line", onLine);
      }),
  };
  return hub;
}
