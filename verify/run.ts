import { performance } from "node:perf_hooks";
import { serviceRegistry } from "../lib/iothub/serviceClient";
import { checkModule, type ModuleResult } from "./moduleCheck";
import type { StackOutputs } from "./outputs";
import { mapWithConcurrency } from "./pool";
import { Progress } from "./progress";
import { buildReport, type VerifyReport } from "./report";
import type { Trust } from "./trust";

export interface RunOptions {
  timeoutSeconds: number;
  concurrency: number;
}

/** Checks every module of the stack outputs, at most `concurrency` at a time. */
export async function verifyModules(
  outputs: StackOutputs,
  trust: Trust,
  options: RunOptions,
): Promise<VerifyReport> {
  const started = performance.now();
  const registry = serviceRegistry(outputs.serviceConnectionString, trust.caPem);
  const progress = new Progress(outputs.modules.length);
  const context = {
    registry,
    caPem: trust.caPem,
    trustDescription: trust.description,
    timeoutSeconds: options.timeoutSeconds,
  };
  const results: ModuleResult[] = await mapWithConcurrency(
    outputs.modules,
    options.concurrency,
    async (module) => {
      const result = await checkModule(module, context);
      progress.moduleFinished(result.ok);
      return result;
    },
  );
  progress.finish();
  return buildReport(outputs.hostName, results, performance.now() - started);
}
