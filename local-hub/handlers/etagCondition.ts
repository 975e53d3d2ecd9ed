import type { IncomingHttpHeaders } from "node:http";
import type { EtagCondition } from "../persistence/identityModels";

/**
 * If-Match as the store takes it. The SDK always quotes the value (`"*"` is the wildcard); a weak `W/` prefix and
 * missing quotes are accepted too. An empty header counts as absent.
 */
export function parseIfMatch(header: IncomingHttpHeaders["if-match"]): EtagCondition {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === "") return "absent";
  const unquoted = value
    .trim()
    .replace(/^W\//, "")
    .replace(/^"(.*)"$/, "$1");
  return unquoted === "*" ? "any" : { etag: unquoted };
}
