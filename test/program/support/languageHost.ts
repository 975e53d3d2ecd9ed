/**
 * The command line `pulumi up` runs the program with, built from the project's own files the way the Pulumi CLI and
 * its nodejs language host (pulumi/pulumi sdk/nodejs/cmd/pulumi-language-nodejs, `Run`/`execRuntime`) build it:
 *
 *   node [runtime.options.nodeargs, shell-split] <@pulumi/pulumi/cmd/run resolved from the program dir>
 *        --monitor M --engine E --organization O --project P --root-directory R --stack S --pwd D
 *        [--dry-run] --parallel N <entry point>
 *
 * with PULUMI_CONFIG (keys as `<namespace>:config:<name>`), PULUMI_CONFIG_SECRET_KEYS, and PULUMI_NODEJS_TYPESCRIPT
 * for `typescript: true` (the default) or PULUMI_NODEJS_TSCONFIG_PATH for `tsconfig`. The entry point is Pulumi.yaml's
 * `main` (a file, or a directory that becomes the pwd) or "."; for "." @pulumi/pulumi's run entry point itself picks
 * package.json's `main`. Options are checked as the language host checks them: a wrong type is an error naming it.
 *
 * Left out: the `--sync` pipes (synchronous invokes; the local target makes no invoke) and the language host's own
 * monitor proxy (it forwards every call unchanged, so the program talks to the stand-in monitor directly).
 */
import { spawnSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const yaml = require("js-yaml") as { load(text: string): unknown };

/** The run entry point the language host resolves (`defaultRunPath` in pulumi-language-nodejs). */
const RUN_MODULE = "@pulumi/pulumi/cmd/run";
const PACKAGE_MANAGERS = ["auto", "npm", "yarn", "pnpm", "bun"];

/** `runtime.options` of a nodejs project, as the language host's parseOptions reads them. */
export interface NodeRuntimeOptions {
  typescript: boolean;
  tsconfig?: string;
  nodeargs: string;
  packagemanager: string;
  production: boolean;
}

export interface PulumiProject {
  name: string;
  runtime: "nodejs";
  options: NodeRuntimeOptions;
  /** Pulumi.yaml's `main`, if set. */
  main?: string;
}

/** The engine's RunRequest, as far as the nodejs language host reads it. */
export interface RunRequest {
  /** The project root: the directory holding Pulumi.yaml. */
  projectDir: string;
  stack: string;
  /** Stack config as the CLI hands it over: `<namespace>:<name>` -> string (structured values as JSON). */
  config: Record<string, string>;
  configSecretKeys?: string[];
  monitorAddress: string;
  engineAddress: string;
  dryRun?: boolean;
  /** `pulumi up --parallel`; the CLI's default is 4 x the CPUs. */
  parallel?: number;
  /** The DIY (file) backend's organization. */
  organization?: string;
}

export interface ProgramCommand {
  project: PulumiProject;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** Pulumi.yaml of `projectDir`, checked as the CLI and the nodejs language host check it. */
function readProject(projectDir: string): PulumiProject {
  const file = path.join(projectDir, "Pulumi.yaml");
  const document = yaml.load(readFileSync(file, "utf8"));
  if (!isRecord(document)) throw new Error(`${file}: must be a YAML mapping`);
  const fail = (field: string, rule: string): never => {
    throw new Error(`${file}: ${field}: ${rule}`);
  };
  if (typeof document.name !== "string" || document.name === "") fail("name", "must be a non-empty string");
  const runtime = document.runtime;
  const runtimeName = isRecord(runtime) ? runtime.name : runtime;
  if (runtimeName !== "nodejs") {
    fail("runtime.name", `must be "nodejs" for this program, got ${JSON.stringify(runtimeName)}`);
  }
  const options = isRecord(runtime) && runtime.options !== undefined ? runtime.options : {};
  if (!isRecord(options)) fail("runtime.options", "must be a mapping");
  const main = document.main;
  if (main !== undefined && typeof main !== "string") fail("main", "must be a string");
  return {
    name: document.name as string,
    runtime: "nodejs",
    options: parseRuntimeOptions(options as Record<string, unknown>, fail),
    main: main as string | undefined,
  };
}

function parseRuntimeOptions(
  options: Record<string, unknown>,
  fail: (field: string, rule: string) => never,
): NodeRuntimeOptions {
  const { typescript = true, tsconfig, nodeargs = "", packagemanager = "auto", production = false } = options;
  if (typeof typescript !== "boolean") fail("runtime.options.typescript", "must be a boolean");
  if (tsconfig !== undefined && typeof tsconfig !== "string")
    fail("runtime.options.tsconfig", "must be a string");
  if (typeof nodeargs !== "string") fail("runtime.options.nodeargs", "must be a string");
  if (typeof production !== "boolean") fail("runtime.options.production", "must be a boolean");
  if (typeof packagemanager !== "string" || !PACKAGE_MANAGERS.includes(packagemanager)) {
    fail("runtime.options.packagemanager", `must be one of ${PACKAGE_MANAGERS.join(", ")}`);
  }
  return {
    typescript: typescript as boolean,
    tsconfig: tsconfig as string | undefined,
    nodeargs: nodeargs as string,
    packagemanager: packagemanager as string,
    production: production as boolean,
  };
}

/** The program's command line and environment for one run (the language host's constructArguments and env). */
export function programCommand(request: RunRequest): ProgramCommand {
  const project = readProject(request.projectDir);
  const { pwd, entryPoint } = pwdAndEntryPoint(request.projectDir, project.main);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PULUMI_CONFIG: JSON.stringify(languageHostConfig(request.config)),
    PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(request.configSecretKeys ?? []),
  };
  if (project.options.typescript) env.PULUMI_NODEJS_TYPESCRIPT = "true";
  if (project.options.tsconfig) env.PULUMI_NODEJS_TSCONFIG_PATH = project.options.tsconfig;

  const flags: string[] = [];
  const flag = (name: string, value: string | undefined): void => {
    if (value) flags.push(`--${name}`, value);
  };
  flag("monitor", request.monitorAddress);
  flag("engine", request.engineAddress);
  flag("organization", request.organization ?? "organization");
  flag("project", project.name);
  flag("root-directory", request.projectDir);
  flag("stack", request.stack);
  flag("pwd", pwd);
  if (request.dryRun) flags.push("--dry-run");
  flag("parallel", String(request.parallel ?? os.cpus().length * 4));

  return {
    project,
    command: process.execPath,
    args: [...splitShellWords(project.options.nodeargs), locateRunModule(pwd), ...flags, entryPoint],
    env,
    cwd: pwd,
  };
}

/** The CLI's getPwdMain: no `main` = the project dir and "."; a file's dir and name; a directory and ".". */
function pwdAndEntryPoint(projectDir: string, main: string | undefined): { pwd: string; entryPoint: string } {
  if (!main) return { pwd: projectDir, entryPoint: "." };
  const target = path.resolve(projectDir, main);
  let isDirectory: boolean;
  try {
    isDirectory = statSync(target).isDirectory();
  } catch (error) {
    throw new Error(`project 'main' could not be read: ${(error as Error).message}`);
  }
  return isDirectory
    ? { pwd: target, entryPoint: "." }
    : { pwd: path.dirname(target), entryPoint: path.basename(target) };
}

/** PULUMI_CONFIG's keys are `<namespace>:config:<name>` (the language host's constructConfig). */
function languageHostConfig(config: Record<string, string>): Record<string, string> {
  const transformed: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    const parts = key.split(":");
    const valid = parts.length === 2 || (parts.length === 3 && parts[1] === "config");
    if (!valid || parts.some((part) => part === "")) {
      throw new Error(
        `could not parse ${key} as a configuration key (configuration keys should be of the form \`<namespace>:<name>\`)`,
      );
    }
    transformed[`${parts[0]}:config:${parts[parts.length - 1]}`] = value;
  }
  return transformed;
}

/** Where each program dir's run entry point was found: one node process per dir, not one per run. */
const runModules = new Map<string, string>();

/** require.resolve of the run entry point in the program dir, in a node process, as the language host does. */
function locateRunModule(programDir: string): string {
  const known = runModules.get(programDir);
  if (known !== undefined) return known;
  const run = spawnSync(
    process.execPath,
    ["-e", `console.log(require.resolve(${JSON.stringify(RUN_MODULE)}))`],
    {
      cwd: programDir,
      encoding: "utf8",
    },
  );
  if (run.status !== 0) {
    throw new Error("It looks like the Pulumi SDK has not been installed. Have you run pulumi install?");
  }
  const located = run.stdout.trim();
  runModules.set(programDir, located);
  return located;
}

/**
 * Splits `nodeargs` into words as the language host does (shlex): whitespace separates, single quotes keep text
 * as it is, double quotes keep spaces, a backslash escapes the next character outside single quotes.
 */
export function splitShellWords(text: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (quote === "'") {
      if (char === "'") quote = undefined;
      else word += char;
    } else if (char === "\\") {
      index++;
      if (index >= text.length) throw new Error(`nodeargs: ends with an escape character: ${text}`);
      word += text[index];
      inWord = true;
    } else if (quote === '"') {
      if (char === '"') quote = undefined;
      else word += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += char;
      inWord = true;
    }
  }
  if (quote) throw new Error(`nodeargs: unclosed ${quote} quote: ${text}`);
  if (inWord) words.push(word);
  return words;
}

/**
 * The stack's config as the CLI hands it to the language host: Pulumi.<stack>.yaml's `config`, keys without a
 * namespace in the project's, structured values as JSON. Encrypted (`secure:`) values need the CLI: refused.
 */
export function stackConfigOf(projectDir: string, stack: string): Record<string, string> {
  const project = readProject(projectDir);
  const file = path.join(projectDir, `Pulumi.${stack}.yaml`);
  const document = yaml.load(readFileSync(file, "utf8"));
  const config = isRecord(document) && isRecord(document.config) ? document.config : {};
  const strings: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    if (isRecord(value) && "secure" in value) {
      throw new Error(`${file}: ${key}: encrypted values need the Pulumi CLI to decrypt`);
    }
    strings[key.includes(":") ? key : `${project.name}:${key}`] =
      typeof value === "string" ? value : JSON.stringify(value);
  }
  return strings;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
