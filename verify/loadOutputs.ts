import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { InputError } from "./inputError";
import { parseStackOutputs, type OutputsRules, type StackOutputs } from "./outputs";

/** Where the stack outputs come from: `--stack NAME`, `--outputs FILE`, or `--outputs -` (standard input). */
export type OutputsSource = { stack: string } | { file: string };

/** The stack outputs from `source`, by the contract's rules and those of what verify checks (OutputsRules). */
export async function loadStackOutputs(
  source: OutputsSource,
  rules: OutputsRules = {},
): Promise<StackOutputs> {
  const text =
    "stack" in source ? await readPulumiStackOutputs(source.stack) : await readOutputsFile(source.file);
  const label =
    "stack" in source ? `stack ${source.stack}` : source.file === "-" ? "standard input" : source.file;
  return parseStackOutputs(text, label, rules);
}

async function readOutputsFile(file: string): Promise<string> {
  try {
    return file === "-" ? await readStream(process.stdin) : await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === "ENOENT" ? "no such file" : (error as Error).message;
    throw new InputError(`--outputs ${file}: cannot read it (${reason})`);
  }
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks).toString("utf8");
}

/** The Pulumi CLI's JSON of the stack outputs, secrets revealed (they stay in this process's memory only). */
function readPulumiStackOutputs(stack: string): Promise<string> {
  const command = process.env.PULUMI_CLI || "pulumi";
  const args = ["stack", "output", "--json", "--show-secrets", "--stack", stack];
  return new Promise((resolve, reject) => {
    execFile(command, args, { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      if ((error as NodeJS.ErrnoException).code === "ENOENT") {
        return reject(
          new InputError(
            `--stack ${stack}: the Pulumi CLI ("${command}") was not found on PATH. Install it ` +
              "(https://www.pulumi.com/docs/install/), or pass --outputs FILE holding the JSON of " +
              "`pulumi stack output --json --show-secrets`.",
          ),
        );
      }
      const detail = lastLines(String(stderr)) || error.message;
      reject(
        new InputError(
          `--stack ${stack}: \`pulumi ${args.join(" ")}\` failed: ${detail}\n` +
            "Check that the Pulumi CLI is installed and logged in to the stack's backend, or pass --outputs FILE.",
        ),
      );
    });
  });
}

function lastLines(text: string, count = 5): string {
  return text.trim().split("\n").slice(-count).join("\n");
}
