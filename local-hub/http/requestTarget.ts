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

/**
 * The request line's target; 400 ArgumentInvalid for a path that is not valid percent-encoding. A `.` or `..`
 * segment stays a segment of its own: it reaches the route as an id, which IoT Hub's id rules refuse, and since
 * nothing resolves it, `/devices/d1/..` is a path below `/devices/d1` (naming no resource), never `/devices`.
 */
export function parseRequestTarget(url: string | undefined): RequestTarget {
  const raw = url ?? "/";
  const queryStart = raw.indexOf("?");
  const path = queryStart < 0 ? raw : raw.slice(0, queryStart);
  const query = new URLSearchParams(queryStart < 0 ? "" : raw.slice(queryStart + 1));
  const segments = decodePathSegments(path);
  if (!segments) throw badRequest("path: must be valid percent-encoding");
  return { path, segments, query };
}
