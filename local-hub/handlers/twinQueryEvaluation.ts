import type { ComparisonOperator, Condition, Operand, SelectItem, TwinQuery } from "../query/twinQueryAst";

/**
 * Running a parsed twin query on twin documents (the JSON a twin GET returns, so a query sees exactly what a GET
 * shows): conditions, projections and groups. Pure; the query route pages over the store's scan with it, and the
 * ADM engine evaluates target conditions and metric queries with it.
 */

type TwinDocument = Record<string, unknown>;

/** One result of a query: a whole twin for `SELECT *`, otherwise a plain object (a projection or a group). */
export type QueryRow = Record<string, unknown>;

/**
 * The twin's own top-level names are matched without regard to case, as IoT Hub does (its documentation's
 * `SELECT DeviceId, LastActivityTime` answers `deviceId` and `lastActivityTime`); below them names are exact.
 */
function rootKey(document: TwinDocument, name: string): string {
  if (Object.hasOwn(document, name)) return name;
  const lower = name.toLowerCase();
  return Object.keys(document).find((key) => key.toLowerCase() === lower) ?? name;
}

/** Do two paths name the same property (the first name compared as rootKey compares it)? */
export function samePath(a: string[], b: string[]): boolean {
  return (
    a.length === b.length &&
    a.every((segment, i) => (i === 0 ? segment.toLowerCase() === b[0].toLowerCase() : segment === b[i]))
  );
}

function resolve(document: TwinDocument, path: string[]): unknown {
  let value: unknown = document;
  for (let i = 0; i < path.length; i++) {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
    const object = value as TwinDocument;
    const key = i === 0 ? rootKey(object, path[0]) : path[i];
    // Own properties only: `tags.constructor` names nothing in a twin.
    value = Object.hasOwn(object, key) ? object[key] : undefined;
  }
  return value;
}

function operandValue(document: TwinDocument, operand: Operand): unknown {
  return operand.kind === "literal" ? operand.value : resolve(document, operand.path);
}

/**
 * IoT Hub's comparison semantics (three-valued, as in Cosmos DB's SQL): comparing a missing property, or values of
 * different types, is undefined, and so is NOT of undefined; a twin is returned only when the condition is true.
 * Only strings and numbers are ordered.
 */
function compare(operator: ComparisonOperator, left: unknown, right: unknown): boolean | undefined {
  if (left === undefined || right === undefined) return undefined;
  const sameType = typeof left === typeof right && (left === null) === (right === null);
  if (!sameType) return undefined;
  if (operator === "=" || operator === "!=") {
    const equal = JSON.stringify(left) === JSON.stringify(right);
    return operator === "=" ? equal : !equal;
  }
  if (typeof left !== "number" && typeof left !== "string") return undefined;
  const a = left;
  const b = right as number | string;
  switch (operator) {
    case "<":
      return a < b;
    case ">":
      return a > b;
    case "<=":
      return a <= b;
    case ">=":
      return a >= b;
  }
}

/** Recurses once per level of parentheses and NOT only (AND/OR chains are lists), which the parser bounds. */
function evaluate(condition: Condition, document: TwinDocument): boolean | undefined {
  switch (condition.kind) {
    case "and":
    case "or": {
      // AND: false wins, else undefined wins; OR: true wins, else undefined wins.
      const decisive = condition.kind === "or";
      let undecided = false;
      for (const operand of condition.operands) {
        const value = evaluate(operand, document);
        if (value === decisive) return decisive;
        if (value === undefined) undecided = true;
      }
      return undecided ? undefined : !decisive;
    }
    case "not": {
      const operand = evaluate(condition.operand, document);
      return operand === undefined ? undefined : !operand;
    }
    case "isDefined":
      return resolve(document, condition.path) !== undefined;
    case "in": {
      // A missing property is undefined either way; otherwise a value of another type is simply not in the list.
      const value = operandValue(document, condition.operand);
      if (value === undefined) return undefined;
      const found = condition.values.some((candidate) => compare("=", value, candidate) === true);
      return found !== condition.negated;
    }
    case "compare":
      return compare(
        condition.operator,
        operandValue(document, condition.left),
        operandValue(document, condition.right),
      );
  }
}

/** Does this twin satisfy the WHERE condition (no condition: every twin does)? */
export function matches(condition: Condition | undefined, document: TwinDocument): boolean {
  return condition === undefined || evaluate(condition, document) === true;
}

/** A query whose rows are groups (GROUP BY, or COUNT() over all matching twins) rather than one row per twin. */
export function isAggregateQuery(query: TwinQuery): boolean {
  return (
    query.select !== "*" && (query.groupBy !== undefined || query.select.some((i) => i.kind === "count"))
  );
}

/** The row of one matching twin in a query that is not an aggregate. A path the twin lacks is left out. */
export function projectTwin(select: TwinQuery["select"], twin: TwinDocument): QueryRow {
  if (select === "*") return twin;
  const row: QueryRow = {};
  for (const item of select) {
    if (item.kind !== "path") continue;
    const value = resolve(twin, item.path);
    if (value === undefined) continue;
    // An unaliased top-level name comes out as the twin spells it (`DeviceId` -> `deviceId`).
    const name = item.path.length === 1 && item.name === item.path[0] ? rootKey(twin, item.name) : item.name;
    row[name] = value;
  }
  return row;
}

/**
 * The rows of an aggregate query over the twins that matched: one per distinct combination of the GROUP BY values
 * (twins lacking a grouped property form their own group, whose row leaves it out), in the order the groups were
 * first met; without GROUP BY, one row for all of them (COUNT() of none is 0).
 */
export function groupTwins(query: TwinQuery, matchingTwins: Iterable<TwinDocument>): QueryRow[] {
  const groupPaths = query.groupBy ?? [];
  const groups = new Map<string, { values: unknown[]; count: number }>();
  if (groupPaths.length === 0) groups.set("", { values: [], count: 0 });
  for (const twin of matchingTwins) {
    const values = groupPaths.map((path) => resolve(twin, path));
    // JSON text never holds a raw NUL, so joining with one keeps distinct value lists distinct.
    const key = values.map((v) => (v === undefined ? "" : JSON.stringify(v))).join("\u0000");
    const group = groups.get(key) ?? { values, count: 0 };
    group.count++;
    groups.set(key, group);
  }
  const select = query.select === "*" ? [] : query.select;
  return [...groups.values()].map((group) => groupRow(select, groupPaths, group));
}

function groupRow(
  select: SelectItem[],
  groupPaths: string[][],
  group: { values: unknown[]; count: number },
): QueryRow {
  const row: QueryRow = {};
  for (const item of select) {
    if (item.kind === "count") {
      row[item.name] = group.count;
      continue;
    }
    const value = group.values[groupPaths.findIndex((path) => samePath(path, item.path))];
    if (value !== undefined) row[item.name] = value;
  }
  return row;
}

/**
 * Every row of a query over these twins, unpaged: what IoT Hub would return across all pages, for a caller that
 * holds the twins already. The query route pages over the store instead, and the ADM engine counts the twins a
 * metric query's FROM and WHERE select (scanTwins + matches), not its rows.
 */
export function runTwinQuery(query: TwinQuery, twins: Iterable<TwinDocument>): QueryRow[] {
  const matching = [...twins].filter((twin) => matches(query.where, twin));
  const rows = isAggregateQuery(query)
    ? groupTwins(query, matching)
    : matching.map((twin) => projectTwin(query.select, twin));
  return rows.slice(0, query.top);
}
