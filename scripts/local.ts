/**
 * `npm run local`: the whole environment on this machine, no Azure and no Pulumi Cloud account.
 * 0. refuses, before anything runs, a stack whose Pulumi.<stack>.yaml does not set iothub-provisioner:target local;
 * 1. finds a Pulumi CLI (or says how to install one and exits non-zero, before anything is started);
 * 2. selects (or creates) the stack on a file backend inside the project (.pulumi/), with the local stack's
 *    documented passphrase unless PULUMI_CONFIG_PASSPHRASE is set;
 * 3. starts the local IoT Hub of the stack's iothub-provisioner:localHub.stateDir in the background unless it is
 *    running (`node bin/iothub-local.js stop` stops it), then `pulumi up --stack local --yes`;
 * 4. `npm run verify -- --stack local`: a real module client checks that each module gets its desired state.
 *
 * Flags: --stack NAME (default local), --state DIR (sets the stack's iothub-provisioner:localHub.stateDir,
 * default .iothub-local), --host ADDR (the address a hub started here binds, default 127.0.0.1), --no-download (never
 * let the npm package `pulumi` download the CLI), --no-verify.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { hubLogPath } from "../local-hub/stateDir";
import { ensureLocalHub } from "./local/localHubProcess";
import { PulumiCliNotFoundError, findPulumiCli } from "./local/pulumiCli";
import * as yaml from "js-yaml";

const PROJECT_DIR = path.resolve(__dirname, "..");

/** The local stack's passphrase (README): it protects only secrets of a hub on this machine. */
export const LOCAL_STACK_PASSPHRASE = "iothub-local";

const TARGET_KEY = "iothub-provisioner:target";

/** What `npm run local -- --help` prints: what the script does, then its flags. */
const USAGE = `Usage: npm run local [-- FLAGS]

Deploys the stack to the local IoT Hub on this machine (no Azure, no Pulumi Cloud account) and checks it:
  1. refuses a stack whose Pulumi.<stack>.yaml does not set ${TARGET_KEY}: local;
  2. finds the Pulumi CLI (exit 127 with how to install it when there is none);
  3. selects or creates the stack on a file backend in .pulumi/;
  4. starts the local hub in the background unless it runs (stop it: node bin/iothub-local.js stop --state DIR);
  5. pulumi up --stack STACK --yes, then npm run verify -- --stack STACK.

Flags:
  --stack NAME     the stack (default: local)
  --state DIR      the local hub's state dir, recorded as the stack's iothub-provisioner:localHub.stateDir
                   (default: that setting, else .iothub-local)
  --host ADDR      the address a hub started here binds (default: 127.0.0.1)
  --no-download    never let the npm package \`pulumi\` download the Pulumi CLI
  --no-verify      skip the module-client check after pulumi up
  -h, --help       print this help
`;

interface Options {
  help: boolean;
  stack: string;
  /** --state as given; unset: the stack's iothub-provisioner:localHub.stateDir, else .iothub-local. */
  stateDir?: string;
  allowDownload: boolean;
  verify: boolean;
  /** Extra `iothub-local start` flags for a hub started here. */
  hubArgs: string[];
}

function parseArgs(argv: string[]): Options {
  const options: Options = {
    help: false,
    stack: "local",
    allowDownload: true,
    verify: true,
    hubArgs: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined || next.startsWith("--")) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === "--help" || arg === "-h") options.help = true;
    else if (arg === "--stack") options.stack = value();
    else if (arg === "--state") options.stateDir = value();
    else if (arg === "--host") options.hubArgs.push("--host", value());
    else if (arg === "--no-download") options.allowDownload = false;
    else if (arg === "--no-verify") options.verify = false;
    else
      throw new Error(
        `unknown argument ${arg} (use --stack NAME, --state DIR, --host ADDR, --no-download, --no-verify, --help)`,
      );
  }
  return options;
}

/** A command's trimmed standard output, or undefined when it fails (e.g. `pulumi config get` of an unset key). */
function capture(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: PROJECT_DIR, env, stdio: ["ignore", "pipe", "ignore"] });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve(code === 0 && stdout.trim() !== "" ? stdout.trim() : undefined));
  });
}

const STATE_DIR_KEY = "iothub-provisioner:localHub.stateDir";

/**
 * The hub's state dir is the stack's setting (what the program looks for): --state DIR records DIR there first, so
 * the hub started here is always the one `pulumi up` provisions.
 */
async function hubStateDir(pulumi: string, options: Options, env: NodeJS.ProcessEnv): Promise<string> {
  if (options.stateDir !== undefined) {
    const stateDir = path.resolve(PROJECT_DIR, options.stateDir);
    const set = await run(
      pulumi,
      ["config", "set", "--path", STATE_DIR_KEY, stateDir, "--stack", options.stack],
      env,
    );
    if (set !== 0) throw new Error(`could not set ${STATE_DIR_KEY} on stack ${options.stack}`);
    return stateDir;
  }
  const configured = await capture(
    pulumi,
    ["config", "get", "--path", STATE_DIR_KEY, "--stack", options.stack],
    env,
  );
  return path.resolve(PROJECT_DIR, configured ?? ".iothub-local");
}

/**
 * This script deploys with `--yes` and, unless the user chose a passphrase, encrypts the stack's secrets with the
 * public LOCAL_STACK_PASSPHRASE: both are only safe for a stack whose hub is the local one. So the stack's target is
 * read from its Pulumi.<stack>.yaml before anything runs (no CLI, no `stack select --create`, no hub), and any
 * other stack is refused. A stack without that file would be created here with no target, which the program
 * rejects anyway.
 */
function requireLocalTarget(stack: string): void {
  // `org/project/name` or `name`: the stack's file is named after the last part (Pulumi's charset for names).
  const name = stack.split("/").pop() ?? "";
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) {
    throw new Error(`--stack: '${stack}' is not a stack name (letters, digits, '-', '_' and '.')`);
  }
  const file = `Pulumi.${name}.yaml`;
  const why =
    `npm run local deploys only a stack whose ${TARGET_KEY} is local: it runs \`pulumi up --yes\` against the ` +
    `local hub and, unless PULUMI_CONFIG_PASSPHRASE is set, encrypts the stack's secrets with the public ` +
    `passphrase '${LOCAL_STACK_PASSPHRASE}'.`;
  const stackFile = path.join(PROJECT_DIR, file);
  if (!existsSync(stackFile)) {
    throw new Error(
      `stack ${stack} has no ${file}, so its ${TARGET_KEY} is unknown. ${why} ` +
        `For a new local stack, start from the local one: cp Pulumi.local.yaml ${file}`,
    );
  }
  let document: unknown;
  try {
    document = yaml.load(readFileSync(stackFile, "utf8"));
  } catch (error) {
    throw new Error(`${file} is not valid YAML: ${(error as Error).message}`);
  }
  const config = (document as { config?: Record<string, unknown> } | null)?.config;
  const target = config?.[TARGET_KEY];
  if (target === "local") return;
  throw new Error(
    `stack ${stack} ${typeof target === "string" ? `has ${TARGET_KEY} ${target}` : `sets no ${TARGET_KEY}`} ` +
      `(${file}): refused before running anything. ${why} ` +
      (target === "azure"
        ? `Deploy an Azure stack with \`pulumi up --stack ${stack}\` on your own backend, with your own ` +
          "PULUMI_CONFIG_PASSPHRASE (docs/usage.md, Azure)."
        : `For a local stack, set ${TARGET_KEY}: local in ${file}.`),
  );
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  console.log(`\n$ ${[path.basename(command), ...args].join(" ")}`);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: PROJECT_DIR, env, stdio: "inherit" });
    child.once("error", reject);
    child.once("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  requireLocalTarget(options.stack);

  const pulumi = await findPulumiCli({ allowDownload: options.allowDownload });
  console.log(`Pulumi CLI: ${pulumi}`);

  const backendDir = path.join(PROJECT_DIR, ".pulumi");
  mkdirSync(backendDir, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PULUMI_BACKEND_URL: process.env.PULUMI_BACKEND_URL ?? `file://${backendDir}`,
    // The user's own passphrase (or passphrase file, which Pulumi reads only when the variable is unset) wins.
    PULUMI_CONFIG_PASSPHRASE:
      process.env.PULUMI_CONFIG_PASSPHRASE ??
      (process.env.PULUMI_CONFIG_PASSPHRASE_FILE === undefined ? LOCAL_STACK_PASSPHRASE : undefined),
    PULUMI_SKIP_UPDATE_CHECK: "true",
    // verify (and anything else) finds the same CLI
    PULUMI_CLI: pulumi,
    PATH: `${path.dirname(pulumi)}${path.delimiter}${process.env.PATH ?? ""}`,
  };

  const selected = await run(pulumi, ["stack", "select", options.stack, "--create"], env);
  if (selected !== 0) return selected;

  const stateDir = await hubStateDir(pulumi, options, env);
  const hub = await ensureLocalHub({ stateDir, args: options.hubArgs });
  console.log(
    hub.started
      ? `Started the local IoT Hub (${hub.hostName}, pid ${hub.pid}) in the background; its log is ${hubLogPath(stateDir)}.\n` +
          `Stop it with: node bin/iothub-local.js stop --state ${path.relative(PROJECT_DIR, stateDir) || "."}`
      : `The local IoT Hub is running (${hub.hostName}, pid ${hub.pid}).`,
  );

  const up = await run(pulumi, ["up", "--stack", options.stack, "--yes"], env);
  if (up !== 0) return up;
  if (!options.verify) return 0;
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  return run(npm, ["run", "verify", "--", "--stack", options.stack], env);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(
      error instanceof PulumiCliNotFoundError ? error.message : `npm run local: ${(error as Error).message}`,
    );
    process.exit(error instanceof PulumiCliNotFoundError ? 127 : 1);
  },
);
