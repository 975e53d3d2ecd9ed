import { parseArgs } from "node:util";
import { InputError } from "./inputError";
import type { OutputsSource } from "./loadOutputs";

export interface VerifyOptions {
  source: OutputsSource;
  /** CA file from --ca (PEM). */
  ca?: string;
  json: boolean;
  /** Seconds each step of one module may take. */
  timeoutSeconds: number;
  concurrency: number;
  /** `DEVICE/MODULE` to stay connected to, printing each desired patch. */
  watch?: { deviceId: string; moduleId: string };
  /** Check each module with its previous key as well (the one active before the last rotation). */
  allKeys: boolean;
  help: boolean;
}

export const DEFAULT_TIMEOUT_SECONDS = 30;
export const DEFAULT_CONCURRENCY = 8;

export const USAGE = `Usage: npm run verify -- (--stack NAME | --outputs FILE|-) [options]

Proves that every module in the stack outputs connects as itself over MQTT, holds its declared desired
properties, and receives a live desired-property patch.

  --stack NAME         read \`pulumi stack output --json --show-secrets --stack NAME\`
  --outputs FILE       read the same JSON from FILE ("-" = standard input)
  --ca FILE            trust this CA (PEM) for the hub, in addition to the system's
  --json               print one JSON document (for pipelines) instead of the table
  --timeout SECONDS    limit for each step of each module (default ${DEFAULT_TIMEOUT_SECONDS})
  --concurrency N      modules checked at the same time (default ${DEFAULT_CONCURRENCY})
  --watch DEVICE/MODULE  stay connected as that module and print each desired patch until Ctrl+C
  --all-keys           check each module with its previous key too (previousConnectionString: the key
                       active before the last rotation), one after the other
  -h, --help           this text

Exit codes: 0 every module passed, 1 a module failed, 2 bad usage or unreadable outputs.`;

export function parseVerifyOptions(argv: string[]): VerifyOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        stack: { type: "string" },
        outputs: { type: "string" },
        ca: { type: "string" },
        json: { type: "boolean", default: false },
        timeout: { type: "string" },
        concurrency: { type: "string" },
        watch: { type: "string" },
        "all-keys": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (error) {
    throw new InputError((error as Error).message, true);
  }
  const help = values.help === true;
  if (values.stack !== undefined && values.outputs !== undefined) {
    throw new InputError("give either --stack NAME or --outputs FILE, not both", true);
  }
  if (values.stack === undefined && values.outputs === undefined && !help) {
    throw new InputError("say where the stack outputs are: --stack NAME or --outputs FILE", true);
  }
  if (values.stack === "") throw new InputError("--stack: needs a stack name", true);
  if (values.outputs === "")
    throw new InputError("--outputs: needs a file path (or - for standard input)", true);
  if (values.ca === "") throw new InputError("--ca: needs a PEM file path", true);
  const source: OutputsSource =
    values.stack !== undefined ? { stack: values.stack } : { file: values.outputs ?? "-" };
  return {
    source,
    ca: values.ca,
    json: values.json === true,
    timeoutSeconds: positiveNumber(values.timeout, "--timeout", DEFAULT_TIMEOUT_SECONDS, false),
    concurrency: positiveNumber(values.concurrency, "--concurrency", DEFAULT_CONCURRENCY, true),
    watch: values.watch === undefined ? undefined : parseModuleName(values.watch),
    allKeys: values["all-keys"] === true,
    help,
  };
}

function positiveNumber(text: string | undefined, flag: string, fallback: number, integer: boolean): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new InputError(
      `${flag}: must be a positive ${integer ? "whole number" : "number"} (got ${JSON.stringify(text)})`,
      true,
    );
  }
  return value;
}

function parseModuleName(text: string): { deviceId: string; moduleId: string } {
  const slash = text.indexOf("/");
  if (slash <= 0 || slash === text.length - 1 || text.indexOf("/", slash + 1) !== -1) {
    throw new InputError(`--watch: must be DEVICE/MODULE (got ${JSON.stringify(text)})`, true);
  }
  return { deviceId: text.slice(0, slash), moduleId: text.slice(slash + 1) };
}
