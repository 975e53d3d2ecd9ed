import { readHubPackage } from "../hubPackage";
import { Command } from "commander";
import { describeViolations, type RuleViolation } from "../../lib/iothub/rules";

/**
 * What every `iothub-local` command shares: its exit codes, the refusal of input it does not understand, and the
 * package's version.
 */

/** The exit codes of every command (docs/cli.md). `start` adds 2 (443 not bindable) and 3 (address in use). */
export const EXIT = {
  ok: 0,
  /** The operation failed: a service error (IoT Hub's code and message), no hub on the state dir, a bad hub.json. */
  failed: 1,
  /** The command line was refused (unknown flag, extra argument, a value breaking a rule): nothing was changed. */
  usage: 2,
} as const;

/** Input refused before anything is done: its message names the field (or flag) and the rule. Exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Throws a UsageError naming every field and rule, when there is any violation. */
export function refuseViolations(violations: RuleViolation[]): void {
  if (violations.length > 0) throw new UsageError(describeViolations(violations));
}

/**
 * A commander Command that refuses what it does not understand: extra positional arguments (commander 12 ignores
 * them by default: `stop extra` stopped the default hub), and unknown flags with a suggestion by meaning before
 * spelling: `--port` suggests every flag with a `port` word (`--https-port`, `--mqtt-port`), where commander's
 * edit distance alone would suggest `--host`. Subcommands made with `.command()` are StrictCommands too.
 */
export class StrictCommand extends Command {
  constructor(name?: string) {
    super(name);
    this.allowExcessArguments(false);
  }

  override createCommand(name?: string): StrictCommand {
    return new StrictCommand(name);
  }

  /** Replaces commander's (undeclared in its types) unknownOption, which it calls for every unknown flag. */
  unknownOption(flag: string): void {
    const sharingWords = flag.startsWith("--") ? flagsSharingWords(flag, this.longFlags()) : [];
    if (sharingWords.length === 0) {
      (Command.prototype as unknown as CommanderInternals).unknownOption.call(this, flag);
      return;
    }
    const suggestion = sharingWords.length === 1 ? sharingWords[0] : orList(sharingWords);
    this.error(`error: unknown option '${flag}'\n(Did you mean ${suggestion}?)`, {
      code: "commander.unknownOption",
      exitCode: EXIT.usage,
    });
  }

  private longFlags(): string[] {
    return this.createHelp()
      .visibleOptions(this)
      .flatMap((option) => (option.long ? [option.long] : []));
  }
}

/** The part of commander's Command that its type declarations leave out. */
interface CommanderInternals {
  unknownOption(this: Command, flag: string): void;
}

/** The flags among `candidates` whose dash-separated words include every word of `flag` (`--port` -> `--https-port`). */
export function flagsSharingWords(flag: string, candidates: readonly string[]): string[] {
  const words = flag.replace(/^--/, "").split(/[-=]/).filter(Boolean);
  if (words.length === 0) return [];
  return candidates.filter((candidate) => {
    const candidateWords = candidate.replace(/^--/, "").split("-");
    return candidate !== flag && words.every((word) => candidateWords.includes(word));
  });
}

const orList = (items: readonly string[]): string =>
  `${items.slice(0, -1).join(", ")} or ${items[items.length - 1]}`;

/**
 * The version of the iothub-local package this CLI belongs to (readHubPackage), so that the
 * provisioner's tree and an installed `iothub-local` package each report their own.
 */
export function packageVersion(from = __dirname): string {
  return readHubPackage(from).version;
}

/**
 * Wraps a command's action so that the process exits (code 0) once its output is written. The service SDK's
 * keep-alive connections would otherwise hold a finished command open until the hub closes them. A failure
 * propagates to the CLI's one error exit.
 */
export function exitAfterOutput<A extends unknown[]>(
  action: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    await action(...args);
    process.stdout.write("", () => process.exit(EXIT.ok));
  };
}

/** Runs a parser of command-line input; its error (which names the flag and rule) becomes a UsageError. */
export function parseInput<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}
