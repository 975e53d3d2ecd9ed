import type { Route } from "../handlers/route";
import { decodePathSegments } from "./requestTarget";

export interface RouteMatch {
  route: Route;
  params: Record<string, string>;
}

export type RouteLookup =
  | { found: true; match: RouteMatch }
  /** The path exists with other methods (405), or not at all (404). */
  | { found: false; allowed: string[] };

interface CompiledRoute {
  route: Route;
  segments: string[];
}

/**
 * Matches `method` + path against route patterns (`/devices/:id/modules/:moduleId`). Literal segments win over
 * parameters, so `/devices/query` never reaches `/devices/:id`. A trailing slash is ignored (the SDK's list() asks
 * for `/devices/`). Segments are URL-decoded once before matching: ids may hold characters the SDK percent-encodes.
 */
export class Router {
  private readonly routes: CompiledRoute[];

  constructor(routes: readonly Route[]) {
    this.routes = routes
      .map((route) => ({ route, segments: splitPattern(route.pattern) }))
      .sort((a, b) => specificity(b.segments) - specificity(a.segments));
  }

  lookup(method: string, path: string): RouteLookup {
    const segments = decodePathSegments(path);
    return segments ? this.lookupSegments(method, segments) : { found: false, allowed: [] };
  }

  /** The same, for a path already split and decoded once (the request pipeline's parseRequestTarget). */
  lookupSegments(method: string, segments: readonly string[]): RouteLookup {
    const allowed: string[] = [];
    for (const compiled of this.routes) {
      const params = matchSegments(compiled.segments, segments);
      if (!params) continue;
      if (compiled.route.method === method) return { found: true, match: { route: compiled.route, params } };
      allowed.push(compiled.route.method);
    }
    return { found: false, allowed };
  }
}

function splitPattern(pattern: string): string[] {
  return pattern.split("/").filter((segment) => segment.length > 0);
}

/** More literal segments first, then longer patterns. */
function specificity(segments: string[]): number {
  return segments.reduce((score, segment) => score + (segment.startsWith(":") ? 1 : 1000), 0);
}

function matchSegments(
  pattern: readonly string[],
  path: readonly string[],
): Record<string, string> | undefined {
  if (pattern.length !== path.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i].startsWith(":")) params[pattern[i].slice(1)] = path[i];
    else if (pattern[i] !== path[i]) return undefined;
  }
  return params;
}
