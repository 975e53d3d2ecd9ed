import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { collectOutput, type CliResult } from "../support/hubProcess";

/** The verify CLI as a pipeline runs it: a child process, exit code and output captured. */
export const ROOT = join(__dirname, "..", "..");
export const VERIFY_ARGS = ["--import", "tsx", join(ROOT, "verify", "cli.ts")];

export type VerifyRun = CliResult;

export function startVerify(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  stdin?: string,
): ChildProcess {
  const child = spawn(process.execPath, [...VERIFY_ARGS, ...args], {
    cwd: ROOT,
    env,
    stdio: [stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  });
  if (stdin !== undefined) child.stdin!.end(stdin);
  return child;
}

export function runVerify(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  stdin?: string,
): Promise<VerifyRun> {
  return collectOutput(startVerify(args, env, stdin));
}

/** Resolves with everything printed so far once `pattern` appears on the child's stdout. */
export function waitForOutput(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      if (pattern.test(text)) {
        child.stdout!.off("data", onData);
        resolve(text);
      }
    };
    child.stdout!.on("data", onData);
    child.once("exit", (code) =>
      reject(new Error(`verify exited (${code}) before printing ${pattern}: ${text}`)),
    );
  });
}
