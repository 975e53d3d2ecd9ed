import type { EtagCondition } from "../persistence/identityModels";

/**
 * If-Match as the store takes it. The SDK always quotes the value (`"*"` is the wildcard); a weak `W/` prefix and
 * missing quotes are accepted too. An empty header counts as absent.
 */
export function parseIfMatch(value: string | undefined): EtagCondition {
  if (value === undefined || value.trim() === "") return "absent";
  const unquoted = value
    .trim()
    .replace(/^W\//, "")
    .replace(/^"(.*)"$/, "$1");
  return unquoted === "*" ? "any" : { etag: unquoted };
}
