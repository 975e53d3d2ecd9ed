import { z } from "zod";
import type { RuleViolation } from "../lib/iothub/rules";

/**
 * zod schemas as the project reports problems: RuleViolations that name the field and the rule, and never echo
 * a value (keys and connection strings pass through these schemas). The stack config (components/config.ts) and
 * the registry providers' options (components/registry/options.ts) are checked with the same helpers, so both
 * word a problem the same way and only the field names differ (`iothub-provisioner:registry.burst` in the
 * config, `registry.burst` in a provider's check()).
 */

export type SchemaPath = ReadonlyArray<string | number>;

/** `["devices", 0, "modules", 1, "moduleId"]` -> `devices[0].modules[1].moduleId`. */
export function dottedPath(path: SchemaPath): string {
  let text = "";
  for (const part of path) text += typeof part === "number" ? `[${part}]` : text ? `.${part}` : part;
  return text;
}

/** `value` parsed by `schema`, or every problem found, each field named by `fieldOf(path)`. */
export function parseOrViolations<Schema extends z.ZodTypeAny>(
  schema: Schema,
  value: unknown,
  fieldOf: (path: SchemaPath) => string,
): { data: z.output<Schema>; violations?: undefined } | { violations: RuleViolation[] } {
  const parsed = schema.safeParse(value);
  if (parsed.success) return { data: parsed.data };
  return { violations: parsed.error.issues.flatMap((issue) => issueViolations(issue, fieldOf)) };
}

/** Every problem of `value` against `schema` (see parseOrViolations); empty when it is valid. */
export function schemaViolations(
  schema: z.ZodTypeAny,
  value: unknown,
  fieldOf: (path: SchemaPath) => string,
): RuleViolation[] {
  return parseOrViolations(schema, value, fieldOf).violations ?? [];
}

/**
 * A refinement that reports a rule function (`check(value, field)`, as in lib/iothub/rules.ts) as issues at the
 * refined field. The rule is called with the field `""`, so what it returns in `field` is the part below the
 * refined value (`.primaryKey`, `.a.b`, `[0]`), kept in the issue and appended to the field's path when reported.
 * Used as `.superRefine(ruleRefinement(check))`; zod runs it only on values of the right shape, so a missing or
 * mistyped value is reported once, by the schema. Returns whether the value keeps the rule.
 */
export function ruleRefinement<T>(
  check: (value: T, field: string) => RuleViolation[],
): (value: T, context: z.RefinementCtx) => boolean {
  return (value, context) => {
    const violations = check(value, "");
    for (const violation of violations) {
      context.addIssue({
        code: z.ZodIssueCode.custom,
        message: violation.rule,
        params: { below: violation.field },
      });
    }
    return violations.length === 0;
  };
}

export interface ClosedObjectRules {
  /** The rule for a key known to belong elsewhere, by key (a module's key written at device level). */
  misplaced?: Readonly<Record<string, string>>;
  /** The rule when the object itself is missing (default "is required"). */
  required?: string;
}

/**
 * A strict object (unknown keys are problems) whose unknown keys are each reported at their own path, with the
 * closest known key as a suggestion, or with where the key belongs (`rules.misplaced`).
 */
export function closedObject<Shape extends z.ZodRawShape>(
  shape: Shape,
  rules: ClosedObjectRules = {},
): z.ZodObject<Shape, "strict"> {
  const known = Object.keys(shape);
  const errorMap: z.ZodErrorMap = (issue, context) => {
    if (issue.code === z.ZodIssueCode.unrecognized_keys) {
      const keyRules = issue.keys.map((key) => unknownKeyRule(key, known, rules.misplaced));
      return { message: keyRules.join(KEY_RULE_SEPARATOR) };
    }
    if (issue.code === z.ZodIssueCode.invalid_type && issue.received === "undefined" && rules.required) {
      return { message: rules.required };
    }
    return { message: context.defaultError };
  };
  return z.object(shape, { errorMap }).strict();
}

// closedObject's error map hands one rule per unknown key to issueViolations through the issue's message.
const KEY_RULE_SEPARATOR = "\u001f";

/** The rule for one unknown key: a suggestion where a known key is close, the known keys where none is. */
function unknownKeyRule(
  key: string,
  known: readonly string[],
  misplaced: Readonly<Record<string, string>> = {},
): string {
  const where = misplaced[key];
  if (where !== undefined) return where;
  const suggestion = closestKey(key, known);
  if (suggestion !== undefined) return `is not a known key (did you mean ${suggestion}?)`;
  return `is not a known key (known keys: ${known.join(", ")})`;
}

/**
 * The known key closest to `key` by edit distance (case-insensitive, so `policyname` finds `policyName`), when it
 * is close enough to be a typo: at most 2 edits, and fewer than half of the key's length.
 */
function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (!best || distance < best.distance) best = { key: candidate, distance };
  }
  return best && best.distance <= 2 && best.distance * 2 < key.length ? best.key : undefined;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours cost 1. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) rows[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      rows[i][j] = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        rows[i][j] = Math.min(rows[i][j], rows[i - 2][j - 2] + 1);
      }
    }
  }
  return rows[a.length][b.length];
}

function issueViolations(issue: z.ZodIssue, fieldOf: (path: SchemaPath) => string): RuleViolation[] {
  switch (issue.code) {
    case z.ZodIssueCode.unrecognized_keys: {
      const rules = issue.message.split(KEY_RULE_SEPARATOR);
      return issue.keys.map((key, index) => ({
        field: fieldOf([...issue.path, key]),
        rule: rules.length === issue.keys.length ? rules[index] : "is not a known key",
      }));
    }
    case z.ZodIssueCode.invalid_union: {
      // The variant whose type the value has (an object given where a number or an object is accepted) says
      // more than "none matched": report its problems.
      const typed = issue.unionErrors.filter(
        (error) =>
          !error.issues.some(
            (inner) =>
              inner.code === z.ZodIssueCode.invalid_type && dottedPath(inner.path) === dottedPath(issue.path),
          ),
      );
      if (typed.length === 1) return typed[0].issues.flatMap((inner) => issueViolations(inner, fieldOf));
      break;
    }
    case z.ZodIssueCode.custom: {
      const below = typeof issue.params?.below === "string" ? issue.params.below : "";
      return [{ field: fieldOf(issue.path) + below, rule: issue.message }];
    }
  }
  return [{ field: fieldOf(issue.path), rule: ruleOf(issue) }];
}

/**
 * A message the schema words itself (`.regex(pattern, "must be ...")`, `required_error`) is the rule. zod's own
 * messages are replaced where they may echo the value (enums: a key written in the wrong place would be printed)
 * or read as zod rather than as a rule.
 */
function ruleOf(issue: z.ZodIssue): string {
  const zodDefault = z.defaultErrorMap(issue, { data: undefined, defaultError: "" }).message;
  if (issue.message !== zodDefault) return issue.message;
  switch (issue.code) {
    case z.ZodIssueCode.invalid_type:
      return issue.received === "undefined" ? "is required" : `must be ${article(issue.expected)}`;
    case z.ZodIssueCode.invalid_enum_value:
      return `must be one of ${issue.options.join(", ")}`;
    case z.ZodIssueCode.invalid_union_discriminator:
      return `must be one of ${issue.options.map(String).join(", ")}`;
    case z.ZodIssueCode.invalid_literal:
      return `must be ${JSON.stringify(issue.expected)}`;
    default:
      return issue.message;
  }
}

function article(expected: string): string {
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}
