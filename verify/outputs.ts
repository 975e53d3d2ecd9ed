import { parseConnectionString } from "../lib/iothub/sas";
import type { RuleViolation } from "../lib/iothub/rules";
import { readStackOutputs, type StackOutputs } from "../lib/iothub/stackOutputs";
import { InputError } from "./inputError";

/**
 * The stack outputs verify reads (`pulumi stack output --json --show-secrets`, or the same JSON from a file), with
 * the contract's rules (lib/iothub/stackOutputs.ts) and verify's own: at least one module, deployment or
 * configuration to check.
 */

export type { ConfigurationOutput, ModuleOutput, StackOutputs } from "../lib/iothub/stackOutputs";

/** What verify checks of the outputs, and so which of its own rules apply. */
export interface OutputsRules {
  /** `--all-keys`: every module has a previous connection string. */
  allKeys?: boolean;
  /** `--enrollment GROUP`: the outputs' DPS declares that group (modules may then be none). */
  enrollment?: string;
}

/**
 * The stack outputs in `text`, or an InputError listing every violation. `allKeys` (`--all-keys`) adds the rule
 * that every module has a previous connection string: outputs of a program before rotation, or an X.509 module,
 * have none. `enrollment` replaces the rule that something is declared to verify by the rule that the stack's DPS
 * declares that group.
 */
export function parseStackOutputs(text: string, source: string, rules: OutputsRules = {}): StackOutputs {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${source}: not valid JSON (${(error as Error).message})`);
  }
  const reading = readStackOutputs(json);
  const violations: RuleViolation[] = [...(reading.violations ?? [])];
  const declared = json as { modules?: unknown; deployments?: unknown; configurations?: unknown } | null;
  const empty = (list: unknown): boolean => !Array.isArray(list) || list.length === 0;
  if (rules.enrollment !== undefined) {
    violations.push(...enrollmentViolations(reading.outputs, rules.enrollment));
  } else if (
    // An edge fleet may declare no module of its own (its deployments run them): then those are what is verified.
    Array.isArray(declared?.modules) &&
    declared.modules.length === 0 &&
    empty(declared.deployments) &&
    empty(declared.configurations)
  ) {
    violations.push({
      field: "modules",
      rule: "is empty (and no deployment or configuration is declared), so there is nothing to verify",
    });
  }
  if (rules.allKeys) {
    reading.outputs?.modules.forEach((module, index) => {
      if (module.previousConnectionString !== undefined) return;
      violations.push({
        field: `modules[${index}].previousConnectionString`,
        rule: "is required with --all-keys (the connection string with the key active before the last rotation)",
      });
    });
  }
  if (reading.outputs && violations.length === 0) return reading.outputs;
  if (violations.length === 1 && violations[0].field === "") {
    throw new InputError(`${source}: ${violations[0].rule}`);
  }
  const problems = violations.map((violation) => `${violation.field}: ${violation.rule}`);
  throw new InputError(`${source}: invalid stack outputs:\n  - ${problems.join("\n  - ")}`);
}

/** `--enrollment GROUP` on stack outputs: they must name the stack's DPS, and the group among its groups. */
function enrollmentViolations(outputs: StackOutputs | undefined, group: string): RuleViolation[] {
  if (!outputs) return [];
  if (!outputs.dps) {
    return [
      {
        field: "dps",
        rule: "is absent: the stack declares no DPS (iothub-provisioner:dps), so --enrollment has none to use",
      },
    ];
  }
  if (outputs.dps.enrollmentGroups.includes(group)) return [];
  const declared = outputs.dps.enrollmentGroups.join(", ") || "none";
  return [
    { field: "dps.enrollmentGroups", rule: `does not hold ${group} (the stack declares: ${declared})` },
  ];
}

/** Where the module client connects: GatewayHostName (may carry `:port`) or HostName, port 8883 by default. */
export function mqttEndpoint(connectionString: string): { host: string; port: number; hostName: string } {
  const fields = parseConnectionString(connectionString);
  const gateway = fields.GatewayHostName || fields.HostName;
  const match = /^(.*):(\d+)$/.exec(gateway);
  if (match && !match[1].includes(":"))
    return { host: match[1], port: Number(match[2]), hostName: fields.HostName };
  return { host: gateway, port: 8883, hostName: fields.HostName };
}
