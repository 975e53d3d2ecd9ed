import { applyTwinContent } from "../../lib/iothub/configuration";
import { isPlainObject, type TwinProperties } from "../../lib/iothub/twin";

/**
 * Configuration content as one desired patch for a twin (applyTwinContent says what content does to a desired
 * document). Pure.
 */

/**
 * The desired patch (null deletes) that turns `current` into what `contents` make of it, applied in order (later
 * ones win); empty when the twin already holds it.
 */
export function desiredPatchFor(
  current: Readonly<TwinProperties>,
  contents: readonly TwinProperties[],
): TwinProperties {
  return differencePatch(current, contents.reduce<TwinProperties>(applyTwinContent, current));
}

/** The merge patch from `before` to `after`: changed values, nested patches for objects, null for removed keys. */
function differencePatch(before: Readonly<TwinProperties>, after: TwinProperties): TwinProperties {
  const patch: TwinProperties = {};
  for (const key of Object.keys(before)) if (!(key in after)) patch[key] = null;
  for (const [key, value] of Object.entries(after)) {
    const old = before[key];
    if (isPlainObject(old) && isPlainObject(value)) {
      const nested = differencePatch(old, value);
      if (Object.keys(nested).length > 0) patch[key] = nested;
    } else if (JSON.stringify(old) !== JSON.stringify(value)) {
      patch[key] = value;
    }
  }
  return patch;
}
