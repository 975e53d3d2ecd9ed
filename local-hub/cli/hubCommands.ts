import { Command, Option } from "commander";
import { resolve } from "node:path";
import { serviceConnectionString } from "../../lib/iothub/sas";
import { checkNewPolicy, OWNER_POLICY, parseRights, PolicyStore } from "../authentication/policyStore";
import { describeFault, FaultStore, validateFault, type Fault } from "../chaos/faults";
import { formatQuotaRule, parseQuotaSpec, QuotaStore, type QuotaRule } from "../chaos/quotas";
import {
  configurationFromFlags,
  DEFAULT_HOSTNAME,
  DEFAULT_STATE_DIR,
  type StartFlags,
} from "../configuration";
import type { Database } from "../persistence/database";
import {
  ensureStateDirectory,
  EXIT_WITH_STDIN_ENV,
  hasHubDatabase,
  openStateDatabase,
  readHubInfo,
  stopHub,
} from "../stateDir";
import { ensureCertificateAuthority } from "../tls";
import { parseInput, refuseViolations, UsageError } from "./commandLine";
import { outputOption, printOutput, type Column, type OutputFormat } from "./output";

export const stateOption = (): Option =>
  new Option("--state <dir>", "state directory").default(DEFAULT_STATE_DIR);

/**
 * Runs `work` on the state dir's hub.db and always closes it (the CLI is one short-lived connection). Only
 * `policy add` may create a hub.db (it seeds the defaults, as a first start would); every other command refuses a
 * state dir without one instead of making a new hub with fresh keys there.
 */
export function withDatabase<T>(
  stateDir: string,
  work: (db: Database) => T,
  { create = false }: { create?: boolean } = {},
): T {
  const dir = resolve(stateDir);
  if (!create && !hasHubDatabase(dir)) {
    throw new Error(`no local hub state in ${dir}: start one with \`iothub-local start --state ${dir}\``);
  }
  const db = openStateDatabase(dir);
  try {
    return work(db);
  } finally {
    db.close();
  }
}

/** `start`, `ca`, `policy`, `quota`, `fault`, `tail` and `stop`: the commands that run and configure a local hub. */
/** `start`, `ca`, `policy`, `quota`, `fault`, `tail` and `stop`: the commands that run and configure a local hub. */
export function addHubCommands(program: Command): void {
  addStartCommands(program);
  addPolicyCommands(program);
  addQuotaCommands(program);
  addFaultCommands(program);
  addRunningHubCommands(program);
}

/** `start` (the hub in the foreground) and `ca`. */
function addStartCommands(program: Command): void {
  program
    .command("start")
    .description("run the hub in the foreground until SIGINT/SIGTERM")
    .addOption(stateOption())
    .option("--https-port <n>", "HTTPS port (the service SDK only uses 443; 0 = any free port)")
    .option("--mqtt-port <n>", "MQTT port (0 = any free port)")
    .option("--host <addr>", "address to bind (default: 127.0.0.1)")
    .option(
      "--hostname <name>",
      "host name clients use (default: localhost, or --host when it is not 127.0.0.1)",
    )
    .option("--quota <spec>", "quotas: a preset (S1) or CLASS=N/s|N/min,...")
    .option(
      "--adm-interval <ms>",
      "how often ADM configurations are evaluated, in milliseconds (default 5000)",
    )
    .option(
      "--entra-port <n>",
      "port of the Entra ID token endpoint (default 0: any free port, see hub.json)",
    )
    .option(
      "--disable-local-auth",
      "refuse shared access signatures on the service API (Entra tokens only; devices keep their SAS keys)",
    )
    .option(
      "--fault <spec>",
      "inject a fault: KIND:MODE[:COUNT[:MATCH]] (repeatable)",
      (value: string, all: string[] = []) => [...all, value],
    )
    .action(async (flags: StartFlags) => {
      const config = parseInput(() => configurationFromFlags(flags));
      // Loaded here, not at the top: the hub's server pulls in aedes and the handlers, which the short CLI
      // commands (policy, quota, fault) do not need and should not wait for.
      const { startHub } = require("../server") as typeof import("../server");
      const starting = startHub(config);
      // The signal handlers go in before the hub is up: a supervisor that sees hub.json (written while starting)
      // may send SIGTERM at once, and without a handler Node would die by the signal, skipping the clean shutdown.
      const shutdown = (signal: string): void => {
        console.log(`iothub-local: ${signal}, shutting down`);
        starting
          .then((hub) => hub.close())
          .then(
            () => process.exit(0),
            (error: unknown) => {
              console.error("iothub-local: shutdown failed:", error);
              process.exit(1);
            },
          );
      };
      process.once("SIGTERM", () => shutdown("SIGTERM"));
      process.once("SIGINT", () => shutdown("SIGINT"));
      const hub = await starting;
      // A bug must not leave a stale hub.json and open sockets behind: log it, shut down, exit non-zero.
      process.once("uncaughtException", (error) => {
        console.error("iothub-local: internal error, shutting down:", error);
        void hub.close().finally(() => process.exit(1));
      });
      // Set by launchHub({exitWithStdin}) (the test hubs): a hub whose parent process died shuts down with it.
      if (process.env[EXIT_WITH_STDIN_ENV] === "1") {
        process.stdin.once("end", () => shutdown("stdin closed"));
        process.stdin.resume();
      }
    });

  program
    .command("ca")
    .description("make sure the state dir has its CA; print ca.pem's path")
    .addOption(stateOption())
    .action((flags: { state: string }) => {
      const stateDir = resolve(flags.state);
      ensureStateDirectory(stateDir);
      console.log(ensureCertificateAuthority(stateDir).file);
    });
}

function addPolicyCommands(program: Command): void {
  const policy = program
    .command("policy")
    .description("shared access policies (a running hub sees changes at once)");
  policy
    .command("add <name>")
    .description("add a policy with fresh keys; prints its connection string")
    .requiredOption(
      "--rights <rights>",
      "comma-separated: RegistryRead, RegistryWrite, ServiceConnect, DeviceConnect",
    )
    .option(
      "--hostname <name>",
      "host name for the connection string (default: the running hub's, else localhost)",
    )
    .addOption(stateOption())
    .action((name: string, flags: { rights: string; hostname?: string; state: string }) => {
      // Bad input is refused before hub.db is opened: nothing may be created or changed for it.
      const rights = parseInput(() => parseRights(flags.rights));
      const violations = checkNewPolicy(name, rights);
      refuseViolations(violations);
      // Read before the policy is added: a hub.json no hub wrote is refused with nothing changed.
      const hostName = flags.hostname ?? readHubInfo(resolve(flags.state))?.hostName ?? DEFAULT_HOSTNAME;
      const added = withDatabase(flags.state, (db) => new PolicyStore(db).add(name, rights), {
        create: true,
      });
      console.log(serviceConnectionString(hostName, added.name, added.primaryKey));
    });
  policy
    .command("list")
    .description("list policies and their rights (never their keys)")
    .addOption(stateOption())
    .addOption(outputOption())
    .action((flags: { state: string; output?: OutputFormat }) => {
      const policies = withDatabase(flags.state, (db) => new PolicyStore(db).list());
      printOutput(
        policies.map(({ name, rights }) => ({ name, rights })),
        POLICY_COLUMNS,
        flags.output,
      );
    });
  policy
    .command("remove <name>")
    .description("remove a policy; tokens signed with its keys stop working at once")
    .addOption(stateOption())
    .action((name: string, flags: { state: string }) => {
      if (name === OWNER_POLICY)
        throw new UsageError(`policy '${OWNER_POLICY}' is the hub's own (hub.json uses it)`);
      const removed = withDatabase(flags.state, (db) => new PolicyStore(db).remove(name));
      if (!removed) throw new Error(`policy '${name}' does not exist`);
      console.log(`removed ${name}`);
    });
  policy
    .command("show <name>")
    .description("print one policy's connection string (read-only: its keys stay as they are)")
    .addOption(stateOption())
    .action((name: string, flags: { state: string }) => {
      const found = withDatabase(flags.state, (db) => new PolicyStore(db).get(name));
      if (!found) throw new Error(`policy '${name}' does not exist`);
      const hostName = readHubInfo(resolve(flags.state))?.hostName ?? DEFAULT_HOSTNAME;
      console.log(serviceConnectionString(hostName, found.name, found.primaryKey));
    });
}

/** The listings' columns for `-o table|tsv` (json prints the rows whole; a policy's keys are never in them). */
const POLICY_COLUMNS: Column<{ name: string; rights: readonly string[] }>[] = [
  { header: "name", value: (policy) => policy.name },
  { header: "rights", value: (policy) => policy.rights.join(",") },
];
const QUOTA_COLUMNS: Column<QuotaRule>[] = [
  { header: "operationClass", value: (rule) => rule.operationClass },
  { header: "rate", value: (rule) => `${rule.count}/${rule.per}` },
];
const FAULT_COLUMNS: Column<Fault>[] = [
  { header: "id", value: (fault) => fault.id },
  { header: "kind", value: (fault) => fault.kind },
  { header: "mode", value: (fault) => fault.mode },
  { header: "remaining", value: (fault) => fault.remaining ?? "until cleared" },
  { header: "match", value: (fault) => fault.match },
];

function addQuotaCommands(program: Command): void {
  const quota = program.command("quota").description("quotas per operation class (429 when exceeded)");
  quota
    .command("set <spec>")
    .description("S1, or CLASS=N/s|N/min,... (classes not named keep their quota)")
    .addOption(stateOption())
    .action((spec: string, flags: { state: string }) => {
      const rules = parseInput(() => parseQuotaSpec(spec));
      withDatabase(flags.state, (db) => new QuotaStore(db).set(rules));
      console.log(rules.map(formatQuotaRule).join(","));
    });
  quota
    .command("clear")
    .description("remove every quota")
    .addOption(stateOption())
    .action((flags: { state: string }) => {
      const cleared = withDatabase(flags.state, (db) => new QuotaStore(db).clear());
      console.log(
        cleared.length
          ? `cleared ${plural(cleared.length, "quota")}: ${cleared.map(formatQuotaRule).join(",")}`
          : "no quotas to clear",
      );
    });
  quota
    .command("show")
    .description("print the quotas")
    .addOption(stateOption())
    .addOption(outputOption())
    .action((flags: { state: string; output?: OutputFormat }) => {
      const rules = withDatabase(flags.state, (db) => new QuotaStore(db).list());
      printOutput(rules, QUOTA_COLUMNS, flags.output);
    });
}

function addFaultCommands(program: Command): void {
  const fault = program.command("fault").description("fault injection (a running hub sees changes at once)");
  fault
    .command("add <kind>")
    .description("the next N operations of KIND (an operation class, or all) fail")
    .requiredOption("--mode <mode>", "503 | hang | reset | drop (drop: desiredPush only)")
    .option("--count <n>", "how many operations (0 = until cleared)", "1")
    .option("--match <text>", "only operations whose path or topic contains TEXT")
    .addOption(stateOption())
    .action((kind: string, flags: { mode: string; count: string; match?: string; state: string }) => {
      if (!/^\d+$/.test(flags.count))
        throw new UsageError(`fault: --count '${flags.count}' must be a whole number >= 0`);
      const spec = parseInput(() => validateFault(kind, flags.mode, Number(flags.count), flags.match));
      const added = withDatabase(flags.state, (db) => new FaultStore(db).add(spec));
      console.log(describeFault(added));
    });
  fault
    .command("list")
    .description("print the faults still armed")
    .addOption(stateOption())
    .addOption(outputOption())
    .action((flags: { state: string; output?: OutputFormat }) => {
      const faults = withDatabase(flags.state, (db) => new FaultStore(db).list());
      printOutput(faults, FAULT_COLUMNS, flags.output);
    });
  fault
    .command("clear")
    .description("remove every fault")
    .addOption(stateOption())
    .action((flags: { state: string }) => {
      const cleared = withDatabase(flags.state, (db) => new FaultStore(db).clear());
      console.log(
        cleared.length
          ? [`cleared ${plural(cleared.length, "fault")}:`, ...cleared.map(describeFault)].join("\n")
          : "no faults to clear",
      );
    });
}

/** `tail` and `stop`: what watches or ends the hub running on a state dir. */
function addRunningHubCommands(program: Command): void {
  program
    .command("tail")
    .description("print telemetry as it arrives at the running hub")
    .option("--device <id>", "only this device")
    .option("--module <id>", "only this module")
    .option("--json", "one JSON object per message")
    .addOption(stateOption())
    .action(async (flags: { device?: string; module?: string; json?: boolean; state: string }) => {
      const { runTail } = require("../mqtt/tail") as typeof import("../mqtt/tail");
      process.exitCode = await runTail({ ...flags, stateDir: resolve(flags.state) });
    });

  program
    .command("stop")
    .description("SIGTERM to the hub of the state dir; waits until it has exited")
    .addOption(stateOption())
    .action(async (flags: { state: string }) => {
      const stopped = await stopHub(resolve(flags.state));
      console.log(stopped ? "stopped" : "no hub running for this state dir");
    });
}

const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? "" : "s"}`;
