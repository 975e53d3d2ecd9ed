import type { ConfigurationKind } from "../../lib/iothub/configuration";
import {
  QuerySyntaxError,
  parseTwinQuery,
  type Condition,
  type Operand,
  type TwinQuery,
} from "../handlers/twinQuery";
import { matches } from "../handlers/twinQueryEvaluation";

/**
 * A configuration's target condition and custom metric queries, in the hub's query language (handlers/twinQuery.ts
 * parses and evaluates them, so a condition selects exactly the twins a query with it returns).
 *
 * Target conditions, as IoT Hub takes them:
 * - device configurations and edge deployments: a WHERE condition over device twins (`tags.env='prod'`); an edge
 *   deployment targets IoT Edge devices only. `*` targets every device; an empty condition targets none.
 * - module configurations: `FROM devices.modules WHERE <condition>` over module twins.
 * - the condition may read `deviceId`, `tags` and `properties.reported` (module configurations also `moduleId`).
 */

/** What a target condition selects: twins of `from` for which `where` holds (`where` undefined: all; `none`: none). */
export interface Target {
  from: "devices" | "modules";
  where?: Condition;
  none?: true;
}

/** A condition or metric query the hub cannot run; the message says what is wrong (no field prefix). */
export class TargetConditionError extends Error {}

const MODULES_PREFIX = /^\s*FROM\s+devices\.modules\s+WHERE\s+/i;

export function parseTargetCondition(text: string, kind: ConfigurationKind): Target {
  const trimmed = text.trim();
  const from = kind === "module" ? "modules" : "devices";
  if (trimmed === "") return { from, none: true };
  if (trimmed === "*") return { from };
  let condition = trimmed;
  if (kind === "module") {
    if (!MODULES_PREFIX.test(trimmed)) {
      throw new TargetConditionError(
        "a module configuration's condition must start with FROM devices.modules WHERE",
      );
    }
    condition = trimmed.replace(MODULES_PREFIX, "");
  }
  const query = parseQuery(`SELECT * FROM devices${from === "modules" ? ".modules" : ""} WHERE ${condition}`);
  const outside = pathsOf(query.where).find((path) => !targetable(path, from));
  if (outside) {
    throw new TargetConditionError(
      `'${outside.join(".")}' cannot be targeted: a condition may read deviceId, ${from === "modules" ? "moduleId, " : ""}tags and properties.reported`,
    );
  }
  return { from, where: query.where };
}

export function targets(target: Target, twin: Record<string, unknown>): boolean {
  return target.none !== true && matches(target.where, twin);
}

function targetable(path: string[], from: "devices" | "modules"): boolean {
  const [first, second] = path;
  if (path.length === 1) return first === "deviceId" || (from === "modules" && first === "moduleId");
  return first === "tags" || (first === "properties" && second === "reported" && path.length > 2);
}

function pathsOf(condition: Condition | undefined): string[][] {
  if (!condition) return [];
  const operandPaths = (operand: Operand): string[][] => (operand.kind === "path" ? [operand.path] : []);
  switch (condition.kind) {
    case "and":
    case "or":
      return condition.operands.flatMap(pathsOf);
    case "not":
      return pathsOf(condition.operand);
    case "isDefined":
      return [condition.path];
    case "in":
      return operandPaths(condition.operand);
    case "compare":
      return [...operandPaths(condition.left), ...operandPaths(condition.right)];
  }
}

/**
 * A custom metric query (`SELECT deviceId FROM devices WHERE configurations.[[id]].status='Applied'`); its result
 * is the number of twins it selects, whatever it projects: the select list is read as `*`, which selects the same
 * twins (one row each).
 */
export function parseMetricQuery(text: string): TwinQuery {
  return parseQuery(text.replace(/^\s*SELECT\s+[\s\S]+?\s+FROM\s+/i, "SELECT * FROM "));
}

function parseQuery(text: string): TwinQuery {
  try {
    return parseTwinQuery(text);
  } catch (error) {
    if (error instanceof QuerySyntaxError) throw new TargetConditionError(error.message);
    throw error;
  }
}

/**
 * `POST /configurations/testQueries` as IoT Hub answers it: each error as text, "" for a condition that parses.
 * IoT Hub's testQueries refuses `*` (which a configuration may carry): it is no condition.
 */
export function testQueries(
  targetCondition: string,
  metricQueries: Record<string, string>,
): { targetConditionError: string; customMetricQueryErrors: Record<string, string> } {
  let targetConditionError = "";
  if (targetCondition.trim() === "*") targetConditionError = "'*' is not a condition";
  else {
    const kind: ConfigurationKind = MODULES_PREFIX.test(targetCondition) ? "module" : "device";
    targetConditionError = errorOf(() => parseTargetCondition(targetCondition, kind));
  }
  const customMetricQueryErrors: Record<string, string> = {};
  for (const [name, query] of Object.entries(metricQueries)) {
    const error = errorOf(() => parseMetricQuery(query));
    if (error) customMetricQueryErrors[name] = error;
  }
  return { targetConditionError, customMetricQueryErrors };
}

function errorOf(run: () => unknown): string {
  try {
    run();
    return "";
  } catch (error) {
    if (error instanceof TargetConditionError) return error.message;
    throw error;
  }
}
