import type * as pulumi from "@pulumi/pulumi";
import type { RuleViolation } from "../../lib/iothub/rules";
import { checkFailures, sameConnectionSettings, type HubConnectionInputs } from "./hubConnection";
import { replacedFields, type RegistryTarget } from "./registryTarget";

/** check()'s answer for every registry resource: the inputs unchanged, and each violation as a failure. */
export function checkAnswer<I extends object>(
  resource: string,
  violations: RuleViolation[],
  news: I,
): pulumi.dynamic.CheckResult<I> {
  return { inputs: news, failures: checkFailures(resource, violations, news) };
}

type Addressed = HubConnectionInputs & { deviceId: string; moduleId?: string };

/**
 * diff()'s answer for every registry resource: a replace when an id or the hub changed; else an update when the
 * resource's own settings differ (`settingsDiffer`) or any hub argument does. Never delete-before-replace: the old
 * entry and the new one are different ids or different hubs.
 */
export function diffAnswer(
  target: RegistryTarget,
  olds: Addressed,
  news: Addressed,
  settingsDiffer: boolean,
): pulumi.dynamic.DiffResult {
  const replaces = replacedFields(target, olds, news);
  const changes = replaces.length > 0 || settingsDiffer || !sameConnectionSettings(olds, news);
  return { changes, replaces, deleteBeforeReplace: false };
}
