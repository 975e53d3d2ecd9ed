import type { IncomingHttpHeaders } from "node:http";
import type { DataAction } from "../../lib/iothub/dataPlaneRoles";
import type { DpsRight } from "../../lib/dps/rules";
import type { Right } from "../authentication/rights";
import type { OperationClass } from "../chaos/operationClass";

/** A parsed service-API request, as handlers see it: authentication, rights and chaos are already applied. */
export interface HubRequest {
  method: string;
  /** Path without the query string, e.g. `/devices/d1/modules/m1`. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body, or undefined when there was none. */
  body: unknown;
  /** Path parameters, URL-decoded, named as in the route pattern. */
  params: Record<string, string>;
}

export interface HubResponse {
  status: number;
  /** Serialised as JSON with Content-Type application/json (the SDK parses bodies only then). */
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * One operation of the service API. The server matches `method` + `pattern` (segments `:name` are parameters),
 * checks the SAS token (or the Entra bearer token), requires `right` (of a principal: the route's data actions),
 * counts the call against `operationClass` quotas and faults, then calls `handle`. A handler throws IotHubError for
 * every answer IoT Hub gives as an error.
 */
export interface Route {
  method: "GET" | "PUT" | "PATCH" | "POST" | "DELETE";
  pattern: string;
  right: Right;
  /**
   * What an Entra principal needs for it, when `right` and the method do not say (routeDataActions in
   * authentication/routeDataActions.ts has the default).
   */
  dataActions?: readonly DataAction[];
  operationClass: OperationClass;
  handle(request: HubRequest): HubResponse | Promise<HubResponse>;
}

/**
 * One operation of the local DPS's service API: as a `Route`, with DPS's rights. The DPS pipeline
 * (http/dpsServiceApi.ts) authenticates, authorizes, applies chaos and parses the body; a handler throws DpsError.
 */
export interface DpsRoute {
  method: Route["method"];
  pattern: string;
  right: DpsRight;
  operationClass: OperationClass;
  handle(request: HubRequest): HubResponse | Promise<HubResponse>;
}
