import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";

/** What `npm run bench:dps` runs: its flags, parsed and checked before anything starts. */
export interface DpsBenchOptions {
  /** Devices through the local DPS, and as many DeviceIdentity resources through the providers. */
  devices: number;
  /** Devices registering at a time (the DPS half). */
  concurrency: number;
  /** Resource operations at a time (the DeviceIdentity half), as `pulumi up --parallel`. */
  parallel: number;
  /** Both halves (undefined), or only one of them. */
  only?: "dps" | "identities";
  /** Print the figures as one JSON object instead of text. */
  json: boolean;
}

/** A refused flag: the message names the flag and the rule. */
export class BenchFlagError extends Error {}

export const DEFAULT_DEVICES = 10_000;
export const DEFAULT_CONCURRENCY = 16;
/**
 * The Pulumi CLI's default `--parallel` since v3.100.0: 4 x GOMAXPROCS, i.e. four operations per CPU the process may
 * use (pulumi/pulumi pkg/cmd/pulumi/operations/up.go, defaultParallel; PULUMI_PARALLEL overrides it).
 */
export const pulumiDefaultParallel = (): number => 4 * availableParallelism();

/** Bounds that keep a typo from starting a run of hours or a million open sockets. */
const LIMITS = { devices: 1_000_000, concurrency: 1_000, parallel: 10_000 } as const;
const ONLY = ["dps", "identities"] as const;

function wholeNumber(flag: keyof typeof LIMITS, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < 1 || value > LIMITS[flag]) {
    throw new BenchFlagError(
      `--${flag} must be a whole number from 1 to ${LIMITS[flag].toLocaleString("en-US")} (got ${JSON.stringify(text.slice(0, 40))})`,
    );
  }
  return value;
}

/** `--devices N --concurrency C --parallel P --only dps|identities --json`; anything else is refused. */
export function parseDpsBenchFlags(argv: string[]): DpsBenchOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        devices: { type: "string" },
        concurrency: { type: "string" },
        parallel: { type: "string" },
        only: { type: "string" },
        json: { type: "boolean" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    // node's own message names the flag (unknown option, missing value, unexpected argument).
    throw new BenchFlagError(
      `${(error as Error).message}; flags: --devices N, --concurrency C, --parallel P, --only dps|identities, --json`,
    );
  }
  const only = values.only as string | undefined;
  if (only !== undefined && !(ONLY as readonly string[]).includes(only)) {
    throw new BenchFlagError(
      `--only must be one of ${ONLY.join(", ")} (got ${JSON.stringify(only.slice(0, 40))})`,
    );
  }
  return {
    devices: wholeNumber("devices", values.devices as string | undefined, DEFAULT_DEVICES),
    concurrency: wholeNumber("concurrency", values.concurrency as string | undefined, DEFAULT_CONCURRENCY),
    parallel: wholeNumber("parallel", values.parallel as string | undefined, pulumiDefaultParallel()),
    only: only as DpsBenchOptions["only"],
    json: values.json === true,
  };
}
