import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { load } from "js-yaml";
import { parseVerifyOptions } from "../../verify/options";

/**
 * docs/github-workflow.example.yml is what a platform engineer copies into their pipeline. Its jobs are run here
 * as GitHub would run their `run:` steps (bash, the job's env, expressions filled in), with stand-ins for `pulumi`
 * and `npm` that record what they are asked: every npm script it calls must exist, every verify flag must parse,
 * and a stack must have its config on the runner whenever `pulumi up` runs, including on a fresh runner for a
 * stack the backend already knows (the second push of a pull request).
 */

const PROJECT = path.resolve(__dirname, "../..");
const WORKFLOW = path.join(PROJECT, "docs/github-workflow.example.yml");

interface Step {
  name?: string;
  run?: string;
  uses?: string;
  with?: Record<string, unknown>;
}
interface Job {
  env?: Record<string, string>;
  steps: Step[];
}

const workflow = load(readFileSync(WORKFLOW, "utf8")) as {
  env?: Record<string, string>;
  jobs: Record<string, Job>;
};
const packageScripts = (
  JSON.parse(readFileSync(path.join(PROJECT, "package.json"), "utf8")) as {
    scripts: Record<string, string>;
  }
).scripts;

const PR_NUMBER = "42";

/** `${{ github.event.number }}` and friends, as GitHub fills them in for a pull request. */
function expand(text: string): string {
  return text.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, expression: string) => {
    if (expression === "github.event.number") return PR_NUMBER;
    if (expression === "github.repository_id") return "123456";
    return "from-github";
  });
}

/**
 * A stand-in for the Pulumi CLI with a backend that outlives the runner (a directory of stack names) and config
 * files in the checkout, as the real CLI keeps Pulumi.<stack>.yaml. `up` fails, as the program would, when the
 * stack's config does not set iothub-provisioner:target.
 */
const FAKE_PULUMI = String.raw`#!/usr/bin/env node
const fs = require("node:fs");
const path = require("node:path");
const yaml = require(process.env.JS_YAML);
const args = process.argv.slice(2);
fs.appendFileSync(process.env.CALLS, JSON.stringify(["pulumi", ...args]) + "\n");
const backend = process.env.BACKEND;
const flag = (name) => { const i = args.indexOf(name); return i < 0 ? undefined : args[i + 1]; };
const configFile = (stack) => path.join(process.cwd(), "Pulumi." + stack + ".yaml");
const readConfig = (stack) => fs.existsSync(configFile(stack)) ? (yaml.load(fs.readFileSync(configFile(stack), "utf8")) || {}).config || {} : {};
const writeConfig = (stack, config) => fs.writeFileSync(configFile(stack), yaml.dump({ config }));
const exists = (stack) => fs.existsSync(path.join(backend, stack));
const [a, b] = args;
if (a === "stack" && b === "select") {
  const stack = args.slice(2).find((arg) => !arg.startsWith("--"));
  if (exists(stack)) process.exit(0);
  if (args.includes("--create")) { fs.writeFileSync(path.join(backend, stack), ""); process.exit(0); }
  console.error("error: no stack named '" + stack + "' found"); process.exit(255);
}
if (a === "stack" && b === "init") {
  if (exists(args[2])) { console.error("error: stack '" + args[2] + "' already exists"); process.exit(255); }
  fs.writeFileSync(path.join(backend, args[2]), ""); process.exit(0);
}
if (a === "stack" && b === "rm") { fs.rmSync(path.join(backend, flag("--stack") || args[2]), { force: true }); process.exit(0); }
if (a === "config" && b === "cp") { writeConfig(flag("--dest"), { ...readConfig(flag("--dest")), ...readConfig(flag("--stack")) }); process.exit(0); }
if (a === "config" && b === "set") {
  const stack = flag("--stack"); const rest = args.slice(2).filter((x, i, all) => !x.startsWith("--") && !(all[i - 1] || "").match(/^--stack$/));
  const [key, value] = rest; const config = readConfig(stack);
  const [top, ...sub] = key.split(".");
  if (sub.length === 0) config[top] = value; else { config[top] = config[top] || {}; config[top][sub.join(".")] = value; }
  writeConfig(stack, config); process.exit(0);
}
if (a === "up" || a === "preview" || a === "destroy") {
  const stack = flag("--stack");
  if (!exists(stack)) { console.error("error: no stack named '" + stack + "' found"); process.exit(255); }
  if (a !== "destroy" && !readConfig(stack)["iothub-provisioner:target"]) {
    console.error("Invalid stack configuration: iothub-provisioner:target: is required"); process.exit(255);
  }
  process.exit(0);
}
console.error("stand-in pulumi: unexpected " + args.join(" ")); process.exit(99);
`;

const FAKE_NPM = String.raw`#!/usr/bin/env node
require("node:fs").appendFileSync(process.env.CALLS, JSON.stringify(["npm", ...process.argv.slice(2)]) + "\n");
`;

/** One runner: a fresh checkout, with the stand-ins on PATH and the backend given. */
function runJob(jobName: string, backend: string): { calls: string[][]; failed?: string } {
  const job = workflow.jobs[jobName];
  const runner = mkdtempSync(path.join(os.tmpdir(), "gitops-runner-"));
  try {
    const checkout = path.join(runner, "checkout");
    mkdirSync(checkout);
    for (const file of ["Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.local.yaml", "package.json"]) {
      cpSync(path.join(PROJECT, file), path.join(checkout, file));
    }
    const bin = path.join(runner, "bin");
    mkdirSync(bin);
    writeFileSync(path.join(bin, "pulumi"), FAKE_PULUMI);
    writeFileSync(path.join(bin, "npm"), FAKE_NPM);
    chmodSync(path.join(bin, "pulumi"), 0o755);
    chmodSync(path.join(bin, "npm"), 0o755);
    const calls = path.join(runner, "calls.jsonl");
    writeFileSync(calls, "");
    const env: NodeJS.ProcessEnv = {
      HOME: runner,
      PATH: `${bin}:${path.dirname(process.execPath)}:/usr/bin:/bin`,
      CALLS: calls,
      BACKEND: backend,
      JS_YAML: require.resolve("js-yaml"),
      ...Object.fromEntries(
        Object.entries({ ...workflow.env, ...job.env }).map(([k, v]) => [k, expand(String(v))]),
      ),
    };
    let failed: string | undefined;
    for (const step of job.steps) {
      let script = step.run;
      // The Pulumi action runs one CLI command; the others only install tools.
      if (step.uses?.startsWith("pulumi/actions") && step.with?.command) {
        script = `pulumi ${String(step.with.command)} --stack ${String(step.with["stack-name"])}`;
      }
      if (!script || /\bsysctl\b/.test(script)) continue;
      const result = spawnSync("bash", ["--norc", "--noprofile", "-e", "-c", expand(script)], {
        cwd: checkout,
        env,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      });
      if (result.status !== 0) {
        failed = `step "${step.name ?? script}" exited ${result.status}: ${result.stderr.trim()}`;
        break;
      }
    }
    const recorded = readFileSync(calls, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as string[]);
    return { calls: recorded, failed };
  } finally {
    rmSync(runner, { recursive: true, force: true });
  }
}

describe("docs/github-workflow.example.yml", () => {
  let backend: string;
  beforeEach(() => {
    backend = mkdtempSync(path.join(os.tmpdir(), "gitops-backend-"));
    writeFileSync(path.join(backend, "dev"), ""); // the shared dev stack exists
  });
  afterEach(() => rmSync(backend, { recursive: true, force: true }));

  it("calls only npm scripts that exist, and verify only with flags verify takes", () => {
    const npmCalls = Object.keys(workflow.jobs).flatMap((name) =>
      runJob(name, backend).calls.filter((call) => call[0] === "npm"),
    );
    expect(npmCalls.length).toBeGreaterThan(0);
    for (const call of npmCalls) {
      const [, command, script, ...rest] = call;
      if (command === "ci" || command === "test") continue;
      expect(command).toBe("run");
      expect(Object.keys(packageScripts)).toContain(script);
      if (script === "verify") {
        expect(rest[0]).toBe("--");
        expect(() => parseVerifyOptions(rest.slice(1))).not.toThrow();
      }
    }
  });

  it("the ephemeral environment deploys on its first push and again on a fresh runner for the next push", () => {
    const stack = `pr-${PR_NUMBER}`;
    const first = runJob("ephemeral", backend);
    expect(first.failed).toBeUndefined();
    expect(first.calls).toContainEqual(["pulumi", "up", "--stack", stack, "--yes"]);

    // The next push: the backend knows the stack, the runner has a fresh checkout without Pulumi.pr-42.yaml.
    const second = runJob("ephemeral", backend);
    expect(second.failed).toBeUndefined();
    expect(second.calls).toContainEqual(["pulumi", "up", "--stack", stack, "--yes"]);
    // Its hub gets a name of its own (IoT hub names are global), on every run.
    expect(second.calls).toContainEqual([
      "pulumi",
      "config",
      "set",
      "--stack",
      stack,
      "--path",
      "iothub-provisioner:hub.name",
      `iothub-123456-${stack}`,
    ]);
  });

  it("pushes to main deploy dev and verify it; closing the pull request destroys its stack", () => {
    const deploy = runJob("deploy", backend);
    expect(deploy.failed).toBeUndefined();
    expect(deploy.calls).toContainEqual(["pulumi", "up", "--stack", "dev"]);
    expect(deploy.calls).toContainEqual(["npm", "run", "verify", "--", "--stack", "dev", "--json"]);

    runJob("ephemeral", backend);
    const teardown = runJob("teardown", backend);
    expect(teardown.failed).toBeUndefined();
    expect(teardown.calls).toContainEqual(["pulumi", "destroy", "--stack", `pr-${PR_NUMBER}`, "--yes"]);
  });
});
