import type { ComparisonOperator, Condition, QuerySource } from "../query/twinQueryAst";

/**
 * A necessary condition in SQL for the store's scan: the comparisons of the top-level AND chain that SQLite can
 * test on the stored row (ids, and tags/desired/reported values through json_extract). Every twin the full
 * condition accepts passes it; the scan then tests the full condition in JS on far fewer rows.
 * `twin` is the stored twin column ({tags, desired, reported, ...}); paths and values travel as parameters.
 */
export interface SqlPrefilter {
  terms: string[];
  params: Array<string | number>;
}

const STORED_SECTIONS: Record<string, string> = {
  tags: "tags",
  "properties.desired": "desired",
  "properties.reported": "reported",
};

export function sqlPrefilter(condition: Condition | undefined, from: QuerySource): SqlPrefilter {
  const prefilter: SqlPrefilter = { terms: [], params: [] };
  for (const term of conjuncts(condition)) {
    if (term.kind !== "compare") continue;
    const [path, literal, operator] =
      term.left.kind === "path" && term.right.kind === "literal"
        ? [term.left.path, term.right.value, term.operator]
        : term.right.kind === "path" && term.left.kind === "literal"
          ? [term.right.path, term.left.value, mirror(term.operator)]
          : [undefined, undefined, undefined];
    if (!path || operator === undefined) continue;
    // Strings only for (in)equality: SQLite orders UTF-8 bytes, JS UTF-16 units; numbers order alike.
    const usable =
      typeof literal === "number" || (typeof literal === "string" && (operator === "=" || operator === "!="));
    if (!usable) continue;
    const idColumn =
      path.length === 1 && path[0] === "deviceId"
        ? "device_id"
        : path.length === 1 && path[0] === "moduleId" && from === "modules"
          ? "module_id"
          : undefined;
    if (idColumn) {
      if (operator === "=" && typeof literal === "string") {
        prefilter.terms.push(`${idColumn} = ?`);
        prefilter.params.push(literal);
      }
      continue;
    }
    const jsonPath = storedJsonPath(path);
    if (!jsonPath) continue;
    prefilter.terms.push(`json_extract(twin, ?) ${operator} ?`);
    prefilter.params.push(jsonPath, literal);
  }
  return prefilter;
}

/** The operands of the top-level AND (the parser keeps a chain as one list), or the condition itself. */
function conjuncts(condition: Condition | undefined): Condition[] {
  if (!condition) return [];
  return condition.kind === "and" ? condition.operands : [condition];
}

function mirror(operator: ComparisonOperator): ComparisonOperator {
  const mirrored: Record<ComparisonOperator, ComparisonOperator> = {
    "=": "=",
    "!=": "!=",
    "<": ">",
    ">": "<",
    "<=": ">=",
    ">=": "<=",
  };
  return mirrored[operator];
}

/** `tags.a.b` -> `$."tags"."a"."b"` in the stored twin; undefined for paths outside tags/desired/reported. */
function storedJsonPath(path: string[]): string | undefined {
  for (const [prefix, section] of Object.entries(STORED_SECTIONS)) {
    const prefixPath = prefix.split(".");
    const matchesPrefix = prefixPath.every((segment, i) => path[i] === segment);
    const rest = path.slice(prefixPath.length);
    if (!matchesPrefix || rest.length === 0) continue;
    if (rest.some((key) => /["\\]/.test(key) || key.startsWith("$"))) return undefined;
    return `$.${[section, ...rest].map((key) => `"${key}"`).join(".")}`;
  }
  return undefined;
}
