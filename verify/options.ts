import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { checkEnrollmentGroupId } from "../lib/dps/rules";
import { checkKey, describeViolations } from "../lib/iothub/rules";
import { DEFAULT_STATE_DIR } from "../local-hub/configuration";
import { InputError } from "./inputError";
import type { OutputsSource } from "./loadOutputs";

export interface VerifyOptions {
  /** Where the stack outputs are; with `--enrollment` optional (absent: the local DPS of `--state`'s hub.json). */
  source?: OutputsSource;
  /** `--enrollment GROUP --simulate N`: simulated devices register through the group and get its initial twin. */
  enrollment?: EnrollmentOptions;
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

export interface EnrollmentOptions {
  enrollmentGroupId: string;
  /** How many simulated devices register (registration ids `GROUP-sim-0001`, ...). */
  simulate: number;
  /** Leave their registrations and device identities in place. */
  keep: boolean;
  /** Without stack outputs: the local hub's state dir, whose hub.json names the running DPS (default .iothub-local). */
  stateDir: string;
  /** The group's key, from `--group-key` or IOTHUB_DPS_GROUP_KEY; else read from the DPS's service API. */
  groupKey?: string;
}

/** The environment variable `--group-key` falls back to (a key on a command line shows in `ps`). */
export const GROUP_KEY_VARIABLE = "IOTHUB_DPS_GROUP_KEY";
/** DPS takes 1,000 registrations a minute: a run of more simulated devices than this is no check but a load test. */
export const MAX_SIMULATED_DEVICES = 10_000;

export const DEFAULT_TIMEOUT_SECONDS = 30;
export const DEFAULT_CONCURRENCY = 8;

export const USAGE = `Usage: npm run verify -- (--stack NAME | --outputs FILE|-) [options]
       npm run verify -- --enrollment GROUP --simulate N [--stack NAME | --outputs FILE | --state DIR]
                         [--group-key KEY] [--keep] [options]

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
  --enrollment GROUP   register simulated devices through the DPS's enrollment group GROUP, connect each to the
                       hub it was assigned and check it received the group's initial desired twin; the DPS is
                       the stack's (dps in the outputs of --stack or --outputs), else the local hub's of --state
  --simulate N         how many simulated devices (registration ids GROUP-sim-0001, ...; at most ${MAX_SIMULATED_DEVICES})
  --state DIR          without --stack/--outputs: the local hub's state dir, whose hub.json names the DPS
                       (default .iothub-local)
  --group-key KEY      the group's symmetric key (else $${GROUP_KEY_VARIABLE}, else read from the DPS)
  --keep               keep the simulated devices' registrations and identities (default: deleted after)
  -h, --help           this text

Exit codes: 0 every module passed, 1 a module failed, 2 bad usage or unreadable outputs.`;

export function parseVerifyOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): VerifyOptions {
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
        enrollment: { type: "string" },
        simulate: { type: "string" },
        state: { type: "string" },
        "group-key": { type: "string" },
        keep: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (error) {
    throw new InputError((error as Error).message, true);
  }
  const help = values.help === true;
  const enrollment = parseEnrollmentOptions(values, env);
  if (enrollment) {
    for (const flag of ["watch", "all-keys"] as const) {
      if (values[flag] !== undefined && values[flag] !== false) {
        throw new InputError(
          `--${flag}: does not go with --enrollment (which checks devices, not modules)`,
          true,
        );
      }
    }
    const source = outputsSource(values);
    if (source && values.state !== undefined) {
      throw new InputError(
        `--state: does not go with --${"stack" in source ? "stack" : "outputs"} (the stack outputs name the DPS)`,
        true,
      );
    }
    return {
      ...(source && { source }),
      enrollment,
      ca: checkCa(values.ca),
      json: values.json === true,
      timeoutSeconds: positiveNumber(values.timeout, "--timeout", DEFAULT_TIMEOUT_SECONDS, false),
      concurrency: positiveNumber(values.concurrency, "--concurrency", DEFAULT_CONCURRENCY, true),
      allKeys: false,
      help,
    };
  }
  const source = outputsSource(values);
  if (source === undefined && !help) {
    throw new InputError("say where the stack outputs are: --stack NAME or --outputs FILE", true);
  }
  checkCa(values.ca);
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

/** `--stack NAME` or `--outputs FILE` (one of them, each non-empty); undefined when neither is given. */
function outputsSource(values: { stack?: string; outputs?: string }): OutputsSource | undefined {
  if (values.stack !== undefined && values.outputs !== undefined) {
    throw new InputError("give either --stack NAME or --outputs FILE, not both", true);
  }
  if (values.stack === "") throw new InputError("--stack: needs a stack name", true);
  if (values.outputs === "")
    throw new InputError("--outputs: needs a file path (or - for standard input)", true);
  if (values.stack !== undefined) return { stack: values.stack };
  if (values.outputs !== undefined) return { file: values.outputs };
  return undefined;
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

function checkCa(ca: string | undefined): string | undefined {
  if (ca === "") throw new InputError("--ca: needs a PEM file path", true);
  return ca;
}

/** `--enrollment` and the flags that only go with it; undefined without `--enrollment`. */
function parseEnrollmentOptions(
  values: {
    enrollment?: string;
    simulate?: string;
    state?: string;
    "group-key"?: string;
    keep?: boolean;
  },
  env: NodeJS.ProcessEnv,
): EnrollmentOptions | undefined {
  if (values.enrollment === undefined) {
    for (const flag of ["simulate", "state", "group-key"] as const) {
      if (values[flag] !== undefined) throw new InputError(`--${flag}: goes with --enrollment GROUP`, true);
    }
    if (values.keep === true) throw new InputError("--keep: goes with --enrollment GROUP", true);
    return undefined;
  }
  const violations = checkEnrollmentGroupId(values.enrollment, "--enrollment");
  if (violations.length > 0) throw new InputError(describeViolations(violations), true);
  if (values.simulate === undefined)
    throw new InputError("--simulate: how many devices to register (N)", true);
  const simulate = positiveNumber(values.simulate, "--simulate", 1, true);
  if (simulate > MAX_SIMULATED_DEVICES) {
    throw new InputError(`--simulate: must be at most ${MAX_SIMULATED_DEVICES} (got ${simulate})`, true);
  }
  if (values.state === "") throw new InputError("--state: needs a directory", true);
  const groupKey = values["group-key"] ?? (env[GROUP_KEY_VARIABLE] || undefined);
  if (groupKey !== undefined) {
    const keyViolations = checkKey(
      groupKey,
      values["group-key"] !== undefined ? "--group-key" : GROUP_KEY_VARIABLE,
    );
    if (keyViolations.length > 0) throw new InputError(describeViolations(keyViolations), true);
  }
  return {
    enrollmentGroupId: values.enrollment,
    simulate,
    keep: values.keep === true,
    stateDir: resolve(values.state ?? DEFAULT_STATE_DIR),
    groupKey,
  };
}
