/**
 * `npm run local`: the whole environment on this machine, no Azure and no Pulumi Cloud account.
 * 1. finds a Pulumi CLI (or says how to install one and exits non-zero, before anything is started);
 * 2. starts the local IoT Hub in the background unless it is running (`node bin/iothub-local.js stop` stops it);
 * 3. `pulumi up --stack local --yes` on a file backend inside the project (.pulumi/), with the local stack's
 *    documented passphrase unless PULUMI_CONFIG_PASSPHRASE is set;
 * 4. `npm run verify -- --stack local`: a real module client checks that each module gets its desired state.
 *
 * Flags: --stack NAME (default local), --state DIR (the hub's state dir, default .iothub-local, as in
 * Pulumi.local.yaml), --host ADDR (the address a hub started here binds, default 127.0.0.1), --no-download (never
 * let the npm package `pulumi` download the CLI), --no-verify.
 */
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import * as path from "node:path";
import { ensureLocalHub } from "./local/localHubProcess";
import { PulumiCliNotFoundError, findPulumiCli } from "./local/pulumiCli";

const PROJECT_DIR = path.resolve(__dirname, "..");
const HUB_CLI = path.join(PROJECT_DIR, "bin", "iothub-local.js");

/** The local stack's passphrase (README): it protects only secrets of a hub on this machine. */
export const LOCAL_STACK_PASSPHRASE = "iothub-local";

interface Options {
  stack: string;
  stateDir: string;
  allowDownload: boolean;
  verify: boolean;
  /** Extra `iothub-local start` flags for a hub started here. */
  hubArgs: string[];
}

function parseArgs(argv: string[]): Options {
  const options: Options = {
    stack: "local",
    stateDir: ".iothub-local",
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
    if (arg === "--stack") options.stack = value();
    else if (arg === "--state") options.stateDir = value();
    else if (arg === "--host") options.hubArgs.push("--host", value());
    else if (arg === "--no-download") options.allowDownload = false;
    else if (arg === "--no-verify") options.verify = false;
    else
      throw new Error(
        `unknown argument ${arg} (use --stack NAME, --state DIR, --host ADDR, --no-download, --no-verify)`,
      );
  }
  options.stateDir = path.resolve(PROJECT_DIR, options.stateDir);
  return options;
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

  const pulumi = await findPulumiCli({ allowDownload: options.allowDownload });
  console.log(`Pulumi CLI: ${pulumi}`);

  const hub = await ensureLocalHub({ cli: HUB_CLI, stateDir: options.stateDir, args: options.hubArgs });
  console.log(
    hub.started
      ? `Started the local IoT Hub (${hub.hostName}, pid ${hub.pid}) in the background; its log is ${path.join(options.stateDir, "hub.log")}.\n` +
          `Stop it with: node bin/iothub-local.js stop --state ${path.relative(PROJECT_DIR, options.stateDir) || "."}`
      : `The local IoT Hub is running (${hub.hostName}, pid ${hub.pid}).`,
  );

  const backendDir = path.join(PROJECT_DIR, ".pulumi");
  mkdirSync(backendDir, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PULUMI_BACKEND_URL: process.env.PULUMI_BACKEND_URL ?? `file://${backendDir}`,
    PULUMI_CONFIG_PASSPHRASE: process.env.PULUMI_CONFIG_PASSPHRASE ?? LOCAL_STACK_PASSPHRASE,
    PULUMI_SKIP_UPDATE_CHECK: "true",
    // verify (and anything else) finds the same CLI
    PULUMI_CLI: pulumi,
    PATH: `${path.dirname(pulumi)}${path.delimiter}${process.env.PATH ?? ""}`,
  };

  const selected = await run(pulumi, ["stack", "select", options.stack, "--create"], env);
  if (selected !== 0) return selected;
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
