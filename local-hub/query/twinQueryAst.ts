/**
 * A parsed twin query (IoT Hub's query language), as the parser (handlers/twinQuery.ts) builds it and the
 * evaluator (handlers/twinQueryEvaluation.ts) and the store's SQL prefilter (persistence/twinPrefilter.ts) read it.
 * Types only, so the store can read a query without depending on the handlers.
 *
 * Paths are property names from the twin's root (`["tags", "site"]`, `["properties", "reported", "x"]`); a
 * `devices.` / `devices.modules.` prefix in the text is already stripped.
 */

export type Literal = string | number | boolean | null;

export type Operand = { kind: "path"; path: string[] } | { kind: "literal"; value: Literal };

export type ComparisonOperator = "=" | "!=" | "<" | ">" | "<=" | ">=";

/**
 * AND and OR hold all their operands in one list (`a OR b OR c` is one node), so a long chain is a wide node, not
 * a deep tree: the depth of a condition is its nesting of parentheses and NOT, which the parser bounds.
 */
export type Condition =
  | { kind: "and" | "or"; operands: Condition[] }
  | { kind: "not"; operand: Condition }
  | { kind: "compare"; operator: ComparisonOperator; left: Operand; right: Operand }
  | { kind: "isDefined"; path: string[] }
  | { kind: "in"; negated: boolean; operand: Operand; values: Literal[] };

/** One element of a SELECT list and the property name it gets in each result row. */
export type SelectItem = { kind: "path"; path: string[]; name: string } | { kind: "count"; name: string };

export type QuerySource = "devices" | "modules";

export interface TwinQuery {
  from: QuerySource;
  /** `*` returns whole twins; a list returns plain objects (projections, or aggregates with COUNT()). */
  select: "*" | SelectItem[];
  where?: Condition;
  /** TOP: at most this many rows in all (across pages). */
  top?: number;
  /** GROUP BY's paths; with it (or with COUNT() alone) the query returns one row per group. */
  groupBy?: string[][];
}

/** An ADM target condition: a WHERE condition, optionally preceded by `FROM devices[.modules] WHERE`. */
export interface TargetCondition {
  /** The collection the text names, if it names one. */
  from?: QuerySource;
  /** Undefined for `*` (every twin). */
  where?: Condition;
}
