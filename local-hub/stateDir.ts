import { spawn, type ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import { closeSync, existsSync, openSync, readFileSync, rmSync, statSync, watch } from "node:fs";
import { basename, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { describeViolations, type RuleViolation } from "../lib/iothub/rules";
import { openDatabase, type Database } from "./persistence/database";
import { ensurePrivateDirectory } from "./privateDirectory";
import { writeFileAtomic } from "./tls/files";

/**
 * A local hub's state dir and the hub process on it: the files and their modes, hub.json, finding the hub that runs
 * there, stopping it, and starting one and waiting until it is ready. `iothub-local`, `npm run local`, the
 * LocalHubPolicy provider and the test support all go through here, so they agree on what "a running hub" is.
 */

/** This checkout's `iothub-local` (what `npm run hub` runs). */
export const HUB_CLI = resolve(__dirname, "..", "bin", "iothub-local.js");

export const HUB_INFO_FILE = "hub.json";
export const HUB_DATABASE_FILE = "hub.db";
/** Where a hub started in the background (`npm run local`) writes its output. */
export const HUB_LOG_FILE = "hub.log";

/** Set on a hub process, it shuts down cleanly when its stdin closes (its parent died). */
export const EXIT_WITH_STDIN_ENV = "IOTHUB_LOCAL_EXIT_WITH_STDIN";

export const hubInfoPath = (stateDir: string): string => join(stateDir, HUB_INFO_FILE);
export const hubDatabaseFile = (stateDir: string): string => join(stateDir, HUB_DATABASE_FILE);
export const hubLogPath = (stateDir: string): string => join(stateDir, HUB_LOG_FILE);

/**
 * Creates the state dir with mode 0700, or checks an existing one: it must belong to this user and be closed to
 * group/other, else PrivateDirectoryError (a dir that others could enter is refused, never tightened: see
 * privateDirectory.ts). Every command that uses a state dir, `start` first, goes through here.
 */
export function ensureStateDirectory(stateDir: string): void {
  ensurePrivateDirectory(stateDir, {
    what: "state dir",
    why: "it holds every policy and device key in clear",
  });
}

/** True when the state dir holds a hub.db (a hub was started on it, or the CLI added a policy there). */
export function hasHubDatabase(stateDir: string): boolean {
  return existsSync(hubDatabaseFile(stateDir));
}

/** Opens (and creates) a state dir's hub.db, making the dir private first: for the hub and for the CLI alike. */
export function openStateDatabase(stateDir: string): Database {
  ensureStateDirectory(stateDir);
  return openDatabase(hubDatabaseFile(stateDir));
}

/**
 * hub.json: how clients find a running hub. The first five keys are the contract every client reads; host, pid,
 * stateDir, entra and disableLocalAuth are extensions. It holds the owner's connection string, so it is written
 * 0600 like the key files.
 */
export interface HubInfo {
  hostName: string;
  connectionString: string;
  caFile: string;
  httpsPort: number;
  mqttPort: number;
  host: string;
  pid: number;
  stateDir: string;
  /**
   * The hub's Entra ID authority: `authorityHost` for @azure/identity (`https://<hostName>:<port>`, served with
   * the hub's certificate, so `caFile` is its CA) and the tenant its tokens are issued for.
   */
  entra?: { authorityHost: string; tenantId: string };
  /** True when the service API refuses shared access signatures (`start --disable-local-auth`). */
  disableLocalAuth?: boolean;
}

/** A hub.json that no hub wrote (edited by hand, or damaged): nothing may be signalled or trusted on its word. */
export class HubInfoError extends Error {
  constructor(file: string, stateDir: string, problem: string) {
    super(`${file} is not a valid hub.json (${problem}); if no hub runs on ${stateDir}, remove it`);
    this.name = "HubInfoError";
  }
}

export function writeHubInfo(stateDir: string, info: HubInfo): void {
  writeFileAtomic(hubInfoPath(stateDir), JSON.stringify(info, null, 2) + "\n", 0o600);
}

/** The state dir's hub.json, checked field by field; undefined when there is none. Throws HubInfoError. */
export function readHubInfo(stateDir: string): HubInfo | undefined {
  const file = hubInfoPath(stateDir);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new HubInfoError(file, stateDir, "hub.json: must be a JSON object");
  }
  const violations = hubInfoViolations(parsed);
  if (violations.length > 0) throw new HubInfoError(file, stateDir, describeViolations(violations));
  return parsed as HubInfo;
}

/**
 * The pid decides which process gets a signal: only a positive whole number names one process (0 and negative
 * numbers name process groups, or every process this user may signal).
 */
function hubInfoViolations(value: unknown): RuleViolation[] {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return [{ field: "hub.json", rule: "must be a JSON object" }];
  }
  const info = value as Record<string, unknown>;
  const violations: RuleViolation[] = [];
  for (const field of ["hostName", "connectionString", "caFile", "host", "stateDir"]) {
    if (typeof info[field] !== "string" || info[field] === "") {
      violations.push({ field, rule: "must be a non-empty string" });
    }
  }
  for (const field of ["httpsPort", "mqttPort"]) {
    const port = info[field];
    if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535) {
      violations.push({ field, rule: "must be a port number (1-65535)" });
    }
  }
  if (!Number.isSafeInteger(info.pid) || (info.pid as number) < 1) {
    violations.push({ field: "pid", rule: "must be a positive whole number" });
  }
  violations.push(...entraViolations(info.entra));
  if (info.disableLocalAuth !== undefined && typeof info.disableLocalAuth !== "boolean") {
    violations.push({ field: "disableLocalAuth", rule: "must be true or false" });
  }
  return violations;
}

/** The extension `entra`, when present: where credentials get tokens, so an https URL and a tenant id. */
function entraViolations(entra: unknown): RuleViolation[] {
  if (entra === undefined) return [];
  if (typeof entra !== "object" || entra === null || Array.isArray(entra)) {
    return [{ field: "entra", rule: "must be an object" }];
  }
  const { authorityHost, tenantId } = entra as Record<string, unknown>;
  const violations: RuleViolation[] = [];
  if (typeof authorityHost !== "string" || !/^https:\/\/[^/?#\s]+$/.test(authorityHost)) {
    violations.push({ field: "entra.authorityHost", rule: "must be an https URL of a host (and port)" });
  }
  if (typeof tenantId !== "string" || tenantId === "") {
    violations.push({ field: "entra.tenantId", rule: "must be a non-empty string" });
  }
  return violations;
}

export function removeHubInfo(stateDir: string): void {
  rmSync(hubInfoPath(stateDir), { force: true });
}

/**
 * What runs on a state dir. A hub killed with -9 leaves hub.json behind ("stale"): its pid has exited, or now
 * belongs to another program, which must never get a signal.
 */
export type HubOnStateDir =
  | { state: "running"; info: HubInfo }
  | { state: "none" }
  | { state: "stale"; info: HubInfo; reason: "exited" | "not iothub-local" };

/** Reads hub.json and checks its pid: alive, and an `iothub-local start` process. Throws HubInfoError. */
export function hubOnStateDir(stateDir: string): HubOnStateDir {
  const info = readHubInfo(stateDir);
  if (!info) return { state: "none" };
  // A hub.json naming this very process is left from a hub whose pid this process now has.
  if (info.pid === process.pid || !isAlive(info.pid)) return { state: "stale", info, reason: "exited" };
  if (!isHubProcess(info.pid)) return { state: "stale", info, reason: "not iothub-local" };
  return { state: "running", info };
}

/** hub.json of the hub running on the state dir, or undefined (no hub.json, or a stale one). */
export function findRunningHub(stateDir: string): HubInfo | undefined {
  const found = hubOnStateDir(stateDir);
  return found.state === "running" ? found.info : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive, but another user's.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * True when the pid runs `iothub-local start` (`node .../bin/iothub-local.js start ...` or the npm bin link
 * `.../iothub-local start ...`). Looking for the words alone is not enough: `tail -f .iothub-local/hub.log` or
 * `iothub-local stop` may have taken the pid of a hub killed with -9. Without /proc at all (macOS) hub.json is
 * trusted; with /proc, a pid whose command line cannot be read (it exited meanwhile) is not a hub.
 */
function isHubProcess(pid: number): boolean {
  let commandLine: string;
  try {
    commandLine = readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return !existsSync("/proc/self");
  }
  const argv = commandLine.split("\0");
  return argv.some(
    (arg, i) => i > 0 && /^iothub-local(\.js)?$/.test(basename(arg)) && argv[i + 1] === "start",
  );
}

/**
 * Sends SIGTERM to the hub running on the state dir and waits until it has exited. False when no hub runs there.
 * Node has no event for the exit of a process that is not its child, so this looks at the pid every 50 ms.
 */
export async function stopHub(stateDir: string, timeoutMs = 30_000): Promise<boolean> {
  const info = findRunningHub(stateDir);
  if (!info) return false;
  process.kill(info.pid, "SIGTERM");
  const deadline = Date.now() + timeoutMs;
  while (isAlive(info.pid)) {
    if (Date.now() > deadline)
      throw new Error(`the hub (pid ${info.pid}) did not exit within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

interface LaunchCommon {
  stateDir: string;
  /** `start` flags after `--state`. */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** In the background: output appended to <state>/hub.log; once ready, the hub no longer keeps this process alive. */
export interface DetachedLaunch extends LaunchCommon {
  detached: true;
}

/** A child of this process: stdout and stderr piped here; with exitWithStdin it exits when this process dies. */
export interface AttachedLaunch extends LaunchCommon {
  detached?: false;
  exitWithStdin?: boolean;
}

export interface LaunchedHub {
  child: ChildProcess;
  /** hub.json once it names this child as a live hub; rejects with HubDidNotStartError if the child exits first. */
  ready: Promise<HubInfo>;
  /** The exit code, or null when a signal ended it. */
  exited: Promise<number | null>;
  /** What this launch printed so far (detached: what it appended to hub.log). */
  output(): string;
}

export interface AttachedHub extends LaunchedHub {
  /** 'line' for each line of stdout and stderr as it arrives. */
  lines: EventEmitter;
}

/** The hub process exited before it was ready: its exit code (e.g. 3, address in use) and the last lines it printed. */
export class HubDidNotStartError extends Error {
  constructor(
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly logTail: string,
    where: string,
  ) {
    super(`The local IoT Hub did not start (exit ${exitCode ?? signal}). ${where}:\n${logTail}`);
    this.name = "HubDidNotStartError";
  }
}

const LOG_TAIL_LINES = 20;

/**
 * Starts `iothub-local start --state <stateDir> <args>` and waits, with fs.watch on the state dir, until hub.json
 * names the new process as a live hub. The state dir is made private before the hub (or its log) is created there.
 */
export function launchHub(options: DetachedLaunch): LaunchedHub;
export function launchHub(options: AttachedLaunch): AttachedHub;
export function launchHub(options: DetachedLaunch | AttachedLaunch): LaunchedHub | AttachedHub {
  const { stateDir } = options;
  ensureStateDirectory(stateDir);
  const argv = [HUB_CLI, "start", "--state", stateDir, ...(options.args ?? [])];
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };

  let child: ChildProcess;
  let output: () => string;
  let where: string;
  let lines: EventEmitter | undefined;
  if (options.detached) {
    const logFile = hubLogPath(stateDir);
    const log = openSync(logFile, "a", 0o600);
    // hub.log grows across runs: this launch's output starts at its current end.
    const start = statSync(logFile).size;
    child = spawn(process.execPath, argv, {
      cwd: options.cwd,
      env,
      detached: true,
      stdio: ["ignore", log, log],
    });
    closeSync(log);
    output = () => readFileSync(logFile).subarray(start).toString("utf8");
    where = `Its log (${logFile})`;
  } else {
    if (options.exitWithStdin) env[EXIT_WITH_STDIN_ENV] = "1";
    child = spawn(process.execPath, argv, {
      cwd: options.cwd,
      env,
      stdio: [options.exitWithStdin ? "pipe" : "ignore", "pipe", "pipe"],
    });
    let collected = "";
    const emitter = new EventEmitter();
    for (const stream of [child.stdout!, child.stderr!]) {
      stream.on("data", (chunk: Buffer) => (collected += chunk.toString()));
      createInterface({ input: stream }).on("line", (line) => emitter.emit("line", line));
    }
    output = () => collected;
    where = "Its output";
    lines = emitter;
  }

  // 'close', not 'exit': by then the child's last output has arrived too.
  const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  const ready = new Promise<HubInfo>((resolve, reject) => {
    let settled = false;
    // Only hub.json's arrival can settle this: hub.log, hub.db and its WAL change all through start-up, and each
    // check reads hub.json and /proc. (No name given: look anyway.)
    const watcher = watch(stateDir, (_event, name) => {
      if (name === null || name === HUB_INFO_FILE) check();
    });
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      watcher.close();
      return true;
    };
    function check(): void {
      let info: HubInfo | undefined;
      try {
        info = findRunningHub(stateDir);
      } catch (error) {
        // A hub.json no hub wrote: the new hub refuses it and exits, and the exit reports why.
        if (!(error instanceof HubInfoError) && settle()) reject(error);
        return;
      }
      if (!info || info.pid !== child.pid || !settle()) return;
      if (options.detached) child.unref();
      resolve(info);
    }
    child.once("error", (error) => {
      if (settle()) reject(error);
    });
    child.once("close", (code, signal) => {
      if (!settle()) return;
      const tail = output().trimEnd().split("\n").slice(-LOG_TAIL_LINES).join("\n");
      reject(new HubDidNotStartError(code, signal, tail, where));
    });
    check();
  });
  return lines ? { child, ready, exited, output, lines } : { child, ready, exited, output };
}
