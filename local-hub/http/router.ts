import type { Route } from "../handlers/route";
import { decodePathSegments } from "./requestTarget";

/** What the router needs of a route: the hub's `Route` and the local DPS's `DpsRoute` both have it. */
export interface RoutePattern {
  method: string;
  pattern: string;
}

export interface RouteMatch<R extends RoutePattern = Route> {
  route: R;
  params: Record<string, string>;
}

export type RouteLookup<R extends RoutePattern = Route> =
  | { found: true; match: RouteMatch<R> }
  /** The path exists with other methods (405), or not at all (404). */
  | { found: false; allowed: string[] };

interface CompiledRoute<R extends RoutePattern> {
  route: R;
  segments: string[];
}

/**
 * Matches `method` + path against route patterns (`/devices/:id/modules/:moduleId`). Literal segments win over
 * parameters, so `/devices/query` never reaches `/devices/:id`. A trailing slash is ignored (the SDK's list() asks
 * for `/devices/`). Segments are URL-decoded once before matching: ids may hold characters the SDK percent-encodes.
 */
export class Router<R extends RoutePattern = Route> {
  private readonly routes: CompiledRoute<R>[];

  /**
   * `caseInsensitiveLiterals`: literal segments match in any case (DPS's service API: its SDK asks for
   * `/enrollmentgroups/...` and `/enrollmentGroups/...` alike); parameters always keep the case sent.
   */
  constructor(
    routes: readonly R[],
    private readonly options: { caseInsensitiveLiterals?: boolean } = {},
  ) {
    this.routes = routes
      .map((route) => ({ route, segments: splitPattern(route.pattern) }))
      .sort((a, b) => specificity(b.segments) - specificity(a.segments));
  }

  lookup(method: string, path: string): RouteLookup<R> {
    const segments = decodePathSegments(path);
    return segments ? this.lookupSegments(method, segments) : { found: false, allowed: [] };
  }

  /** The same, for a path already split and decoded once (the request pipeline's parseRequestTarget). */
  lookupSegments(method: string, segments: readonly string[]): RouteLookup<R> {
    const allowed: string[] = [];
    for (const compiled of this.routes) {
      const params = matchSegments(
        compiled.segments,
        segments,
        this.options.caseInsensitiveLiterals === true,
      );
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
  caseInsensitiveLiterals: boolean,
): Record<string, string> | undefined {
  if (pattern.length !== path.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i].startsWith(":")) params[pattern[i].slice(1)] = path[i];
    else if (
      caseInsensitiveLiterals ? pattern[i].toLowerCase() !== path[i].toLowerCase() : pattern[i] !== path[i]
    ) {
      return undefined;
    }
  }
  return params;
}
