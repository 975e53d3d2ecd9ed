import type { IncomingHttpHeaders } from "node:http";
import { checkEnrollmentGroupId, checkRegistrationId } from "../../lib/dps/rules";
import { isPlainObject } from "../../lib/iothub/twin";
import { dpsBadRequest } from "../errors/dpsError";
import type { Page } from "../persistence/dpsStore";
import type { HubResponse } from "./route";

/**
 * DPS's query operations (`POST /enrollmentGroups/query`, `/enrollments/query`, `/registrations/{group}/query`):
 * a body `{query}`, the page size in `x-ms-max-item-count`, the next page by the `x-ms-continuation` the previous
 * answer carried. DPS's query language selects whole collections: the local DPS takes `*` and
 * `SELECT * FROM <collection>` and refuses the rest by name, rather than answering a filter it did not apply.
 */

export type QueryCollection = "enrollmentGroups" | "enrollments" | "registrations";

const ITEM_TYPES: Record<QueryCollection, string> = {
  enrollmentGroups: "Enrollment",
  enrollments: "Enrollment",
  registrations: "DeviceRegistration",
};

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;
const MAX_QUERY_CHARS = 1024;

export interface PageRequest {
  /** Ids after this one (key order); "" = from the start. */
  after: string;
  limit: number;
}

export function parseQueryRequest(
  body: unknown,
  headers: IncomingHttpHeaders,
  collection: QueryCollection,
): PageRequest {
  if (!isPlainObject(body) || typeof body.query !== "string") {
    throw dpsBadRequest("query: the body must be a query specification {query: string}");
  }
  const text = body.query.trim();
  if (text.length > MAX_QUERY_CHARS)
    throw dpsBadRequest(`query: must be at most ${MAX_QUERY_CHARS} characters`);
  const selectAll = new RegExp(`^select\\s+\\*\\s+from\\s+${collection}$`, "i");
  if (text !== "*" && !selectAll.test(text)) {
    throw dpsBadRequest(
      `query: the local DPS answers '*' or 'SELECT * FROM ${collection}' only (no filters)`,
    );
  }
  return {
    after: parseContinuation(headers["x-ms-continuation"], collection),
    limit: parsePageSize(headers),
  };
}

function parsePageSize(headers: IncomingHttpHeaders): number {
  const value = headers["x-ms-max-item-count"];
  if (value === undefined) return DEFAULT_PAGE_SIZE;
  if (Array.isArray(value) || !/^[1-9][0-9]{0,5}$/.test(value) || Number(value) > MAX_PAGE_SIZE) {
    throw dpsBadRequest(`x-ms-max-item-count: must be a whole number from 1 to ${MAX_PAGE_SIZE}`);
  }
  return Number(value);
}

/** The token is `<collection>:<last id>` in base64url: opaque to clients, checked like any input here. */
function parseContinuation(value: string | string[] | undefined, collection: QueryCollection): string {
  if (value === undefined || value === "") return "";
  const refuse = () => dpsBadRequest("x-ms-continuation: must be a token this DPS returned for this query");
  if (Array.isArray(value) || value.length > 400 || !/^[A-Za-z0-9_-]+$/.test(value)) throw refuse();
  const decoded = Buffer.from(value, "base64url").toString("utf8");
  const prefix = `${collection}:`;
  if (!decoded.startsWith(prefix)) throw refuse();
  const after = decoded.slice(prefix.length);
  const check = collection === "enrollmentGroups" ? checkEnrollmentGroupId : checkRegistrationId;
  if (check(after).length > 0) throw refuse();
  return after;
}

/** A page as DPS answers it: the items, `x-ms-item-type`, and `x-ms-continuation` when more follow. */
export function pageResponse<T>(
  page: Page<T>,
  collection: QueryCollection,
  item: (record: T) => unknown,
): HubResponse {
  const headers: Record<string, string> = { "x-ms-item-type": ITEM_TYPES[collection] };
  if (page.next !== undefined) {
    headers["x-ms-continuation"] = Buffer.from(`${collection}:${page.next}`, "utf8").toString("base64url");
  }
  return { status: 200, body: page.items.map(item), headers };
}
