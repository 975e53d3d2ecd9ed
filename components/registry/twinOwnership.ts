import { isPlainObject, type TwinProperties } from "../../lib/iothub/twin";

/**
 * Twins are shared: the program owns the desired keys (and tags) it declares, the device and other tools own the
 * rest. These functions compute patches and drift over the owned keys only.
 */

/**
 * The patch that moves the twin from what this resource owned (`previous`) to what the program declares now:
 * every declared key, and null (delete) for each key owned before and no longer declared, at any depth. Keys this
 * resource never owned are not in the patch, so IoT Hub's merge leaves them alone.
 */
export function ownedPatch(previous: TwinProperties | undefined, declared: TwinProperties): TwinProperties {
  const patch: TwinProperties = {};
  for (const [key, value] of Object.entries(declared)) {
    const before = previous?.[key];
    patch[key] = isPlainObject(value) && isPlainObject(before) ? ownedPatch(before, value) : value;
  }
  for (const key of Object.keys(previous ?? {})) {
    if (!(key in declared)) patch[key] = null;
  }
  return patch;
}

/** The part of `actual` (the twin's section now) that covers the keys of `owned`: what read() reports. */
export function ownedView(actual: TwinProperties | undefined, owned: TwinProperties): TwinProperties {
  const view: TwinProperties = {};
  for (const [key, value] of Object.entries(owned)) {
    if (!actual || !(key in actual)) continue;
    const now = actual[key];
    view[key] = isPlainObject(value) && isPlainObject(now) ? ownedView(now, value) : now;
  }
  return view;
}

/** Structural equality of JSON values (object key order does not matter). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) &&
      Array.isArray(b) &&
      a.length === b.length &&
      a.every((item, i) => jsonEqual(item, b[i]))
    );
  }
  if (!isPlainObject(a) || !isPlainObject(b)) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  return keysA.length === keysB.length && keysA.every((key) => key in b && jsonEqual(a[key], b[key]));
}
