import { badRequest } from "../errors/iotHubError";

/**
 * A request's target as the client sent it: the path is not normalized (WHATWG URL parsing would resolve `.`,
 * `..`, `%2e%2e` and `\`, so what the router and the token scope see would differ from what was sent). Each path
 * segment is URL-decoded once; empty segments are dropped (the SDK's list() asks for `/devices/`).
 */
export interface RequestTarget {
  /** The path as sent, without the query string (logs and fault `--match` see this). */
  path: string;
  /** The path's segments, each URL-decoded once: `/devices/a%23b` -> `["devices", "a#b"]`. */
  segments: string[];
  query: URLSearchParams;
}

/** Splits and decodes a path; undefined when a segment is not valid percent-encoding. */
export function decodePathSegments(path: string): string[] | undefined {
  const segments: string[] = [];
  for (const segment of path.split("/")) {
    if (segment.length === 0) continue;
    try {
      segments.push(decodeURIComponent(segment));
    } catch {
      return undefined;
    }
  }
  return segments;
}

/** `.` and `..` name no resource of IoT Hub (no id may be one), and a path holding them could escape a token's scope. */
export function isDotSegment(segment: string): boolean {
  return segment === "." || segment === "..";
}

/** The request line's target; 400 ArgumentInvalid for a path that is badly encoded or has a `.`/`..` segment. */
export function parseRequestTarget(url: string | undefined): RequestTarget {
  const raw = url ?? "/";
  const queryStart = raw.indexOf("?");
  const path = queryStart < 0 ? raw : raw.slice(0, queryStart);
  const query = new URLSearchParams(queryStart < 0 ? "" : raw.slice(queryStart + 1));
  const segments = decodePathSegments(path);
  if (!segments) throw badRequest("path: must be valid percent-encoding");
  if (segments.some(isDotSegment)) {
    throw badRequest("path: must not contain '.' or '..' segments");
  }
  return { path, segments, query };
}
