/**
 * Compares the desired properties a stack declared for a module with the desired document the module received.
 * The stack owns the keys it declares, at any depth (as the twin resources do: components/registry/
 * twinOwnership.ts); keys it did not declare belong to other writers and are fine, nested ones included. Every
 * declared leaf (and every array, as a whole) must be equal, by the same structural equality the twin resources'
 * diff uses (jsonEqual: key order does not matter).
 */

import { jsonEqual } from "../components/registry/twinOwnership";
import { isPlainObject, type TwinDocument, type TwinValue } from "../lib/iothub/twin";

export interface DesiredMismatch {
  /** Dotted path of the declared key, e.g. `telemetry.interval`. */
  key: string;
  expected: TwinValue;
  /** `undefined` when the key is missing from the module's desired document. */
  found: TwinValue | undefined;
}

/** Every declared key, at any depth, whose value differs from the received one (empty = all present and equal). */
export function compareDesired(declared: TwinDocument, received: Record<string, unknown>): DesiredMismatch[] {
  return differences("", declared, received as TwinDocument);
}

function differences(prefix: string, declared: TwinDocument, received: TwinDocument): DesiredMismatch[] {
  const mismatches: DesiredMismatch[] = [];
  for (const [key, expected] of Object.entries(declared)) {
    const path = prefix ? `${prefix}.${key}` : key;
    const found = received[key];
    if (isPlainObject(expected) && isPlainObject(found)) {
      mismatches.push(...differences(path, expected, found as TwinDocument));
    } else if (expected === null ? found !== undefined && found !== null : !jsonEqual(expected, found)) {
      // Declaring null means "absent": IoT Hub deletes a desired key that is set to null.
      mismatches.push({ key: path, expected, found });
    }
  }
  return mismatches;
}

/** One line a person can act on: `"telemetry.interval": expected 30, found 10`. */
export function describeMismatch(mismatch: DesiredMismatch): string {
  const found =
    mismatch.found === undefined ? "nothing (the key is missing)" : JSON.stringify(mismatch.found);
  return `"${mismatch.key}": expected ${JSON.stringify(mismatch.expected)}, found ${found}`;
}
