import { badRequest } from "../errors/iotHubError";
import { isPlainObject, type ServiceTwin } from "../../lib/iothub/twin";
import type { ScanKey } from "../persistence/identityModels";
import type { IdentityStore } from "../persistence/identityStore";
import { sqlPrefilter } from "../persistence/twinPrefilter";
import type { HubRequest, Route } from "./route";
import { QuerySyntaxError, matches, parseTwinQuery, type TwinQuery } from "./twinQuery";

const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;

/**
 * POST /devices/query {"query": "SELECT * FROM devices ..."}: one page of twins per call. The page size comes from
 * x-ms-max-item-count; when more twins match, x-ms-continuation carries where the next page starts (absent on the
 * last page: that is how the SDK's Query knows it is done).
 */
export function queryRoutes(store: IdentityStore): Route[] {
  return [
    {
      method: "POST",
      pattern: "/devices/query",
      right: "RegistryRead",
      operationClass: "query",
      handle: (request) => {
        const query = parseQueryBody(request.body);
        const pageSize = pageSizeOf(request);
        const after = decodeContinuation(request.headers["x-ms-continuation"]);
        const page: ServiceTwin[] = [];
        let more = false;
        for (const twin of store.scanTwins(query.from, after, sqlPrefilter(query.where, query.from))) {
          if (!matches(query.where, twin)) continue;
          if (page.length === pageSize) {
            more = true;
            break;
          }
          page.push(twin);
        }
        const headers: Record<string, string> = { "x-ms-item-type": "Twin" };
        if (more) headers["x-ms-continuation"] = encodeContinuation(page[page.length - 1]);
        return { status: 200, body: page, headers };
      },
    },
  ];
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

/** The token is the key of the last twin returned, opaque to the client. */
function encodeContinuation(twin: ServiceTwin): string {
  const key: ScanKey =
    twin.moduleId === undefined
      ? { deviceId: twin.deviceId }
      : { deviceId: twin.deviceId, moduleId: twin.moduleId };
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

function decodeContinuation(header: string | string[] | undefined): ScanKey | undefined {
  const token = Array.isArray(header) ? header[0] : header;
  if (!token) return undefined;
  try {
    const key = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as unknown;
    if (isPlainObject(key) && typeof key.deviceId === "string") {
      return {
        deviceId: key.deviceId,
        moduleId: typeof key.moduleId === "string" ? key.moduleId : undefined,
      };
    }
  } catch {
    // falls through to the 400 below
  }
  throw badRequest("x-ms-continuation: not a continuation token this hub issued");
}
