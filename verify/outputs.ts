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

/**
 * The stack outputs in `text`, or an InputError listing every violation. `allKeys` (`--all-keys`) adds the rule
 * that every module has a previous connection string: outputs of a program before rotation, or an X.509 module,
 * have none.
 */
export function parseStackOutputs(text: string, source: string, allKeys = false): StackOutputs {
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
  // An edge fleet may declare no module of its own (its deployments run them): then those are what is verified.
  if (
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
  if (allKeys) {
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

/** Where the module client connects: GatewayHostName (may carry `:port`) or HostName, port 8883 by default. */
export function mqttEndpoint(connectionString: string): { host: string; port: number; hostName: string } {
  const fields = parseConnectionString(connectionString);
  const gateway = fields.GatewayHostName || fields.HostName;
  const match = /^(.*):(\d+)$/.exec(gateway);
  if (match && !match[1].includes(":"))
    return { host: match[1], port: Number(match[2]), hostName: fields.HostName };
  return { host: gateway, port: 8883, hostName: fields.HostName };
}
