import { z } from "zod";
import type { RuleViolation } from "../../lib/iothub/rules";
import { generateKey } from "../../lib/iothub/sas";
import { isPlainObject } from "../../lib/iothub/twin";
import { schemaViolations } from "../schemaViolations";

/**
 * Key rotation of a SAS identity (`rotation: N`). Which of its two keys is active follows from N alone (even: the
 * primary key, odd: the secondary), so config and state decide it. Raising N by one makes the other slot active
 * with a new key (generated here for hub-generated keys, declared by the user otherwise) and keeps the key that
 * was active until then: a device still on it keeps working until the next rotation replaces it.
 */

export type KeySlot = "primaryKey" | "secondaryKey";

export interface SymmetricKeys {
  primaryKey: string;
  secondaryKey: string;
}

/** The one definition of the `rotation` value (the stack config embeds it, check() applies it). */
export const rotationSchema = z
  .number({ invalid_type_error: "must be a whole number (0 or more)" })
  .int("must be a whole number (0 or more)")
  .min(0, "must be a whole number (0 or more)");

/** The slot whose key the identity's connection string carries at rotation N. */
export function activeKeySlot(rotation: number | undefined): KeySlot {
  return (rotation ?? 0) % 2 === 0 ? "primaryKey" : "secondaryKey";
}

/** The slot holding the key that was active before the last rotation (still valid until the next one). */
export function previousKeySlot(rotation: number | undefined): KeySlot {
  return activeKeySlot(rotation) === "primaryKey" ? "secondaryKey" : "primaryKey";
}

/** The authentication types whose keys a rotation can replace: SAS only (absent = SAS). */
function isSas(authentication: unknown): boolean {
  return !isPlainObject(authentication) || (authentication.type ?? "sas") === "sas";
}

/** True when the declaration gives both SAS keys itself (otherwise the hub generated them). */
export function declaresKeys(authentication: unknown): boolean {
  return (
    isPlainObject(authentication) &&
    (authentication.type ?? "sas") === "sas" &&
    typeof authentication.primaryKey === "string" &&
    typeof authentication.secondaryKey === "string"
  );
}

/**
 * The rules of one declaration: `rotation` a whole number >= 0, and above 0 only on a SAS identity (X.509
 * identities rotate through their two thumbprints instead).
 */
export function checkRotation(
  rotation: unknown,
  authentication: unknown,
  field = "rotation",
): RuleViolation[] {
  if (rotation === undefined || rotation === null) return [];
  const violations = schemaViolations(rotationSchema, rotation, () => field);
  if (violations.length === 0 && (rotation as number) > 0 && !isSas(authentication)) {
    violations.push({
      field,
      rule:
        "applies to SAS identities only (an X.509 identity rotates by replacing one of its two thumbprints " +
        "at a time)",
    });
  }
  return violations;
}

/** What a rotation step is checked against: the rotation in the state and, where known, the keys it holds. */
export interface RotationState {
  rotation?: unknown;
  keys?: Partial<SymmetricKeys>;
}

/** What a rotation step goes to: the new declaration. */
export interface RotationDeclaration {
  rotation?: unknown;
  authentication?: unknown;
}

const rotationOf = (value: unknown): number | undefined =>
  typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : undefined;

/** True when the new declaration raises the stored rotation by one: the step that replaces a key. */
export function isRotationStep(state: RotationState, next: RotationDeclaration): boolean {
  const before = rotationOf(state.rotation ?? 0);
  const after = rotationOf(next.rotation ?? 0);
  return before !== undefined && after === before + 1;
}

/**
 * The rules between the state and the new declaration: `rotation` is never lowered and rises by one at a time
 * (two steps at once would replace the key devices in the field still use). With declared keys, a step changes
 * exactly the slot that becomes active: the key that was active stays, since devices still use it.
 */
export function checkRotationStep(state: RotationState, next: RotationDeclaration): RuleViolation[] {
  const before = rotationOf(state.rotation ?? 0);
  const after = rotationOf(next.rotation ?? 0);
  if (before === undefined || after === undefined) return [];
  if (after < before) {
    return [
      {
        field: "rotation",
        rule:
          `must not be lowered (the state is at rotation ${before}, the declaration at ${after}): ` +
          "a rotation is not undone, rotate forward instead",
      },
    ];
  }
  if (after > before + 1) {
    return [
      {
        field: "rotation",
        rule:
          `must rise by one at a time (the state is at rotation ${before}, the declaration at ${after}): ` +
          "a second step in one go would replace the key devices still use",
      },
    ];
  }
  if (after === before || !declaresKeys(next.authentication) || !state.keys) return [];
  const declared = next.authentication as SymmetricKeys;
  const kept = activeKeySlot(before);
  const replaced = activeKeySlot(after);
  const violations: RuleViolation[] = [];
  if (state.keys[kept] !== undefined && declared[kept] !== state.keys[kept]) {
    violations.push({
      field: `authentication.${kept}`,
      rule: "must stay as it was when rotation is raised: it becomes the previous key, which devices still use",
    });
  }
  if (state.keys[replaced] !== undefined && declared[replaced] === state.keys[replaced]) {
    violations.push({
      field: `authentication.${replaced}`,
      rule: "must be a new key when rotation is raised: it becomes the active key",
    });
  }
  return violations;
}

/** The keys after the step to rotation N: a new key in the slot that becomes active, the other one kept. */
export function rotatedKeys(current: SymmetricKeys, rotation: number): SymmetricKeys {
  return { ...current, [activeKeySlot(rotation)]: generateKey() };
}
