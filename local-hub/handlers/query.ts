import { DATA_ACTIONS } from "../../lib/iothub/dataPlaneRoles";
import { badRequest } from "../errors/iotHubError";
import { isPlainObject, type ServiceTwin } from "../../lib/iothub/twin";
import type { ScanKey } from "../persistence/identityModels";
import type { IdentityStore } from "../persistence/identityStore";
import { sqlPrefilter } from "../persistence/twinPrefilter";
import type { HubRequest, Route } from "./route";
import { QuerySyntaxError, parseTwinQuery, type TwinQuery } from "./twinQuery";
import { groupTwins, isAggregateQuery, matches, projectTwin, type QueryRow } from "./twinQueryEvaluation";

const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;

interface QueryPage {
  rows: QueryRow[];
  /** Where the next page starts; undefined on the last page. */
  continuation?: Continuation;
}

/**
 * Where a page ends, opaque to the client: for queries with a row per twin, the key of the last twin read (the
 * next page scans on from there) and how many rows were returned so far (for TOP); for aggregates, the number of
 * rows already returned (the groups are recomputed per page).
 */
type Continuation = { after: ScanKey; returned: number } | { offset: number };

/**
 * POST /devices/query {"query": "SELECT ... FROM devices ..."}: one page of rows per call. Rows are whole twins for
 * `SELECT *` (x-ms-item-type Twin), plain objects for projections and aggregates (x-ms-item-type raw). The page
 * size comes from x-ms-max-item-count; when more rows follow, x-ms-continuation carries where the next page starts
 * (absent on the last page: that is how the SDK's Query knows it is done).
 */
export function queryRoutes(store: IdentityStore): Route[] {
  return [
    {
      method: "POST",
      pattern: "/devices/query",
      right: "RegistryRead",
      // It answers twins (docs/field-notes.md, Entra ID: the query's data action).
      dataActions: [DATA_ACTIONS.twinsRead],
      operationClass: "query",
      handle: (request) => {
        const query = parseQueryBody(request.body);
        const pageSize = pageSizeOf(request);
        const continuation = decodeContinuation(request.headers["x-ms-continuation"]);
        const page = isAggregateQuery(query)
          ? aggregatePage(store, query, pageSize, continuation)
          : twinPage(store, query, pageSize, continuation);
        const headers: Record<string, string> = { "x-ms-item-type": query.select === "*" ? "Twin" : "raw" };
        if (page.continuation) headers["x-ms-continuation"] = encodeContinuation(page.continuation);
        return { status: 200, body: page.rows, headers };
      },
    },
  ];
}

/** The twins the query's WHERE accepts, in key order after `after`, read lazily through the SQL prefilter. */
function* matchingTwins(store: IdentityStore, query: TwinQuery, after?: ScanKey): Generator<ServiceTwin> {
  for (const twin of store.scanTwins(query.from, after, sqlPrefilter(query.where, query.from))) {
    if (matches(query.where, twin)) yield twin;
  }
}

/** A row per matching twin, read lazily from the store until the page is full and one more twin is known. */
function twinPage(
  store: IdentityStore,
  query: TwinQuery,
  pageSize: number,
  continuation: Continuation | undefined,
): QueryPage {
  if (continuation && !("after" in continuation)) throw foreignContinuation();
  const returned = continuation?.returned ?? 0;
  const left = query.top === undefined ? Infinity : query.top - returned;
  const rows: QueryRow[] = [];
  let last: ServiceTwin | undefined;
  for (const twin of matchingTwins(store, query, continuation?.after)) {
    if (rows.length === left) break;
    if (rows.length === pageSize) {
      return { rows, continuation: { after: scanKeyOf(last!), returned: returned + rows.length } };
    }
    rows.push(projectTwin(query.select, twin));
    last = twin;
  }
  return { rows };
}

/** The groups of every matching twin, of which this page returns the next `pageSize`. */
function aggregatePage(
  store: IdentityStore,
  query: TwinQuery,
  pageSize: number,
  continuation: Continuation | undefined,
): QueryPage {
  if (continuation && !("offset" in continuation)) throw foreignContinuation();
  const offset = continuation?.offset ?? 0;
  const groups = groupTwins(query, matchingTwins(store, query)).slice(0, query.top);
  const end = offset + pageSize;
  return { rows: groups.slice(offset, end), continuation: end < groups.length ? { offset: end } : undefined };
}

function scanKeyOf(twin: ServiceTwin): ScanKey {
  return twin.moduleId === undefined
    ? { deviceId: twin.deviceId }
    : { deviceId: twin.deviceId, moduleId: twin.moduleId };
}

function parseQueryBody(body: unknown): TwinQuery {
  if (!isPlainObject(body) || typeof body.query !== "string") {
    throw badRequest('The request body must be {"query": "<query text>"}.');
  }
  try {
    return parseTwinQuery(body.query);
  } catch (error) {
    if (error instanceof QuerySyntaxError) throw badRequest(`query: ${error.message}`);
    throw error;
  }
}

function pageSizeOf(request: HubRequest): number {
  const header = request.headers["x-ms-max-item-count"];
  if (header === undefined) return DEFAULT_PAGE_SIZE;
  const size = Number(Array.isArray(header) ? header[0] : header);
  if (!Number.isInteger(size) || size < 1)
    throw badRequest("x-ms-max-item-count: must be a positive integer");
  return Math.min(size, MAX_PAGE_SIZE);
}

function encodeContinuation(continuation: Continuation): string {
  return Buffer.from(JSON.stringify(continuation)).toString("base64url");
}

function foreignContinuation() {
  return badRequest("x-ms-continuation: not a continuation token this hub issued");
}

function decodeContinuation(header: string | string[] | undefined): Continuation | undefined {
  const token = Array.isArray(header) ? header[0] : header;
  if (!token) return undefined;
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw foreignContinuation();
  }
  if (isPlainObject(decoded) && isCount(decoded.offset) && decoded.offset > 0)
    return { offset: decoded.offset };
  const after = isPlainObject(decoded) ? decoded.after : undefined;
  const returned = isPlainObject(decoded) ? decoded.returned : undefined;
  if (isPlainObject(after) && typeof after.deviceId === "string" && isCount(returned)) {
    if (after.moduleId !== undefined && typeof after.moduleId !== "string") throw foreignContinuation();
    return { after: { deviceId: after.deviceId, moduleId: after.moduleId }, returned };
  }
  throw foreignContinuation();
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}
