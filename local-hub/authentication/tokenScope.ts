/**
 * What a SAS token's resource (`sr`) lets it reach, as IoT Hub scopes tokens: `sr` is this hub's host name,
 * optionally followed by a path; the token reaches that path and everything below it, compared segment by
 * segment (`<host>/devices/d1` reaches `/devices/d1` and `/devices/d1/modules/m1`, not `/devices/d10`, not
 * `/devices/d2`, not `/devices`). The host is compared case-insensitively (DNS names are), path segments exactly
 * (ids are case-sensitive).
 */
export type TokenScope = readonly string[];

/**
 * The scope of a token whose `sr` was URL-decoded once. Refused: another host, an empty segment inside the path,
 * and `.` or `..` segments (they would let a path outside the scope look like one inside it).
 */
export function parseTokenScope(
  resource: string,
  hostName: string,
): { scope: TokenScope } | { refusal: string } {
  const [host, ...path] = resource.split("/");
  if (host.toLowerCase() !== hostName.toLowerCase()) {
    return { refusal: `the token is for '${resource}', not for '${hostName}'` };
  }
  // `<host>/` is the hub itself; an empty segment anywhere else names nothing.
  if (path.length > 0 && path[path.length - 1] === "") path.pop();
  if (path.some((segment) => segment === "")) {
    return { refusal: `the token's resource '${resource}' has an empty path segment` };
  }
  if (path.some(isDotSegment)) {
    return { refusal: `the token's resource '${resource}' has a '.' or '..' segment` };
  }
  return { scope: path };
}

/** True when a request for `segments` (URL-decoded path segments) is at or below the token's scope. */
export function scopeAdmits(scope: TokenScope, segments: readonly string[]): boolean {
  return scope.length <= segments.length && scope.every((segment, index) => segments[index] === segment);
}

function isDotSegment(segment: string): boolean {
  return segment === "." || segment === "..";
}
