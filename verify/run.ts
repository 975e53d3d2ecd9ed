import { performance } from "node:perf_hooks";
import { checkConfiguration, type ConfigurationResult } from "./configurationCheck";
import { expectedDesired } from "./expectedDesired";
import { checkModule, type ModuleResult } from "./moduleCheck";
import type { ModuleOutput, StackOutputs } from "./outputs";
import { mapWithConcurrency } from "./pool";
import { Progress } from "./progress";
import { buildReport, type VerifyReport } from "./report";
import { serviceSideRegistry } from "./serviceAccess";
import type { Trust } from "./trust";

export interface RunOptions {
  timeoutSeconds: number;
  concurrency: number;
  /** Also check each module with its previous connection string (`--all-keys`). */
  allKeys?: boolean;
}

/**
 * Checks every module of the stack outputs, at most `concurrency` at a time, then every declared deployment and
 * configuration (verify/configurationCheck.ts). With `allKeys`, each module is
 * checked with its active key, then with its previous one: one after the other, since a second connection of the
 * same module would take over the first's session.
 */
export async function verifyModules(
  outputs: StackOutputs,
  trust: Trust,
  options: RunOptions,
): Promise<VerifyReport> {
  const started = performance.now();
  const registry = serviceSideRegistry(outputs, trust.caPem);
  const progress = new Progress(outputs.modules.length * (options.allKeys ? 2 : 1));
  const context = {
    registry,
    caPem: trust.caPem,
    trustDescription: trust.description,
    timeoutSeconds: options.timeoutSeconds,
  };
  const declared = [...(outputs.deployments ?? []), ...(outputs.configurations ?? [])];
  const check = async (module: ModuleOutput, key?: ModuleResult["key"]): Promise<ModuleResult> => {
    // The desired state includes the content the declared configurations applied to the module.
    const desired = await expectedDesired(module, registry, declared);
    const result = { ...(await checkModule({ ...module, desired }, context)), ...(key ? { key } : {}) };
    progress.moduleFinished(result.ok);
    return result;
  };
  const perModule = await mapWithConcurrency(outputs.modules, options.concurrency, async (module) => {
    if (!options.allKeys || module.previousConnectionString === undefined) return [await check(module)];
    const active = await check(module, "active");
    const previous = await check(
      { ...module, connectionString: module.previousConnectionString },
      "previous",
    );
    return [active, previous];
  });
  const results: ModuleResult[] = perModule.flat();
  progress.finish();
  // Then each declared deployment and configuration in the hub (at most `concurrency` at a time as well).
  const configurations: ConfigurationResult[] = await mapWithConcurrency(
    declared,
    options.concurrency,
    (entry) => checkConfiguration(entry, { registry, timeoutSeconds: options.timeoutSeconds }),
  );
  return buildReport(outputs.hostName, results, performance.now() - started, configurations);
}
