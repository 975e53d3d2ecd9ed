/**
 * Compares the desired properties a stack declared for a module with the desired document the module received.
 * Keys the stack did not declare are fine (other writers may own them); each declared key must be deeply equal.
 */

export type TwinValue = null | boolean | number | string | TwinValue[] | { [key: string]: TwinValue };
export type TwinDocument = { [key: string]: TwinValue };

export interface DesiredMismatch {
  /** Dotted path of the first difference, e.g. `telemetry.interval`. */
  key: string;
  expected: TwinValue | undefined;
  /** `undefined` when the key is missing from the module's desired document. */
  found: TwinValue | undefined;
}

/** Every declared top-level key whose value differs from the received one (empty = all present and equal). */
export function compareDesired(declared: TwinDocument, received: Record<string, unknown>): DesiredMismatch[] {
  const mismatches: DesiredMismatch[] = [];
  for (const [key, expected] of Object.entries(declared)) {
    const difference = firstDifference(key, expected, received[key] as TwinValue | undefined);
    if (difference) mismatches.push(difference);
  }
  return mismatches;
}

/** Deep equality that names where two values part ways, so the report can point at the nested key. */
function firstDifference(
  path: string,
  expected: TwinValue | undefined,
  found: TwinValue | undefined,
): DesiredMismatch | undefined {
  if (isPlainObject(expected) && isPlainObject(found)) {
    const keys = new Set([...Object.keys(expected), ...Object.keys(found)]);
    for (const key of keys) {
      const difference = firstDifference(`${path}.${key}`, expected[key], found[key]);
      if (difference) return difference;
    }
    return undefined;
  }
  if (Array.isArray(expected) && Array.isArray(found)) {
    if (expected.length !== found.length) return { key: path, expected, found };
    for (let index = 0; index < expected.length; index++) {
      if (firstDifference(`${path}[${index}]`, expected[index], found[index]))
        return { key: path, expected, found };
    }
    return undefined;
  }
  return expected === found ? undefined : { key: path, expected, found };
}

function isPlainObject(value: unknown): value is { [key: string]: TwinValue } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** One line a person can act on: `"telemetry.interval": expected 30, found 10`. */
export function describeMismatch(mismatch: DesiredMismatch): string {
  const found =
    mismatch.found === undefined ? "nothing (the key is missing)" : JSON.stringify(mismatch.found);
  const expected = mismatch.expected === undefined ? "no such key" : JSON.stringify(mismatch.expected);
  return `"${mismatch.key}": expected ${expected}, found ${found}`;
}
