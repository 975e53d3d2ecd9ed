import type { IncomingMessage, ServerResponse } from "node:http";
import type { PolicyStore } from "../authentication/policyStore";
import {
  authorizeDataActions,
  isBearerHeader,
  type BearerAuthenticator,
} from "../authentication/bearerAuthentication";
import { routeDataActions } from "../authentication/routeDataActions";
import { authenticateServiceToken, authorize, authorizeScope } from "../authentication/sasAuthentication";
import type { Chaos } from "../chaos";
import { IotHubError, serviceUnavailable, throttled, unauthorized } from "../errors/iotHubError";
import type { Route } from "../handlers/route";
import { checkApiVersion } from "./apiVersion";
import { readJsonBody } from "./body";
import { parseRequestTarget } from "./requestTarget";
import { sendError, sendResponse, toIotHubError } from "./respond";
import { Router } from "./router";
import { newTrackingId } from "./trackingId";

export interface ServiceApiOptions {
  routes: readonly Route[];
  policies: PolicyStore;
  chaos: Chaos;
  /** The hub's host name: SAS tokens must be made for it. */
  hostName: string;
  /** Verifies `Authorization: Bearer` tokens of the hub's Entra tenant. */
  bearer: BearerAuthenticator;
  /** IoT Hub's disableLocalAuth: no shared access policy may reach the service API, only Entra principals. */
  disableLocalAuth?: boolean;
  log?: (line: string) => void;
}

export type RequestListener = (request: IncomingMessage, response: ServerResponse) => void;

/**
 * The service API's request pipeline, in IoT Hub's order: the request target (as sent, not normalized), api-version,
 * the caller (an Entra bearer token, or a SAS token and the path inside its scope), route, the route's right (a
 * principal: its data actions), then faults and quotas of its operation class, then the JSON body and the handler.
 * Every step refuses by throwing an IotHubError; the one error exit answers it as IoT Hub's error body.
 */
export function createServiceApi(options: ServiceApiOptions): RequestListener {
  const router = new Router(options.routes);
  const log = options.log ?? (() => undefined);

  return (request, response) => {
    const trackingId = newTrackingId();
    handle(request, response, trackingId).catch((error: unknown) => {
      const hubError = toIotHubError(error, trackingId);
      if (!response.headersSent && !response.destroyed) sendError(response, hubError, trackingId);
    });
  };

  async function handle(
    request: IncomingMessage,
    response: ServerResponse,
    trackingId: string,
  ): Promise<void> {
    const method = request.method ?? "GET";
    const { path, segments, query } = parseRequestTarget(request.url);

    const versionError = checkApiVersion(query);
    if (versionError) throw versionError;

    const refuse = (error: IotHubError, reason: string): never => {
      log(`[${trackingId}] 401 ${method} ${path}: ${reason}`);
      throw error;
    };
    const authorizeRoute = authenticate(request.headers.authorization, segments, refuse);

    const lookup = router.lookupSegments(method, segments);
    if (!lookup.found) {
      throw lookup.allowed.length > 0
        ? new IotHubError(405, "MethodNotAllowed", `${method} is not allowed on ${path}.`)
        : new IotHubError(404, "NotFound", `No operation at ${method} ${path}.`);
    }
    const { route, params } = lookup.match;

    authorizeRoute(route);

    const verdict = options.chaos.admit(route.operationClass, path);
    if (verdict.action === "throttle") throw throttled(route.operationClass);
    if (verdict.action === "fault") {
      log(`[${trackingId}] fault ${verdict.mode} on ${method} ${path}`);
      if (verdict.mode === "reset") {
        request.socket.destroy();
        return;
      }
      if (verdict.mode === "503") throw serviceUnavailable();
      // hang: not answered until the client gives up (or the hub shuts down), or `fault clear` lets it through.
      const gaveUp = new AbortController();
      response.once("close", () => gaveUp.abort());
      if (!(await options.chaos.waitForFaultsCleared(gaveUp.signal))) return;
      log(`[${trackingId}] faults cleared: ${method} ${path} goes on`);
    }

    const body = await readJsonBody(request);
    const answer = await route.handle({
      method,
      path,
      query,
      headers: request.headers,
      body,
      params,
    });
    sendResponse(response, answer, trackingId);
  }

  /**
   * Who calls, once per request: a bearer token of the hub's tenant, or (unless local auth is disabled) a SAS token
   * whose scope holds the path. Returns the check of a route against what that caller may do.
   */
  function authenticate(
    header: string | undefined,
    segments: readonly string[],
    refuse: (error: IotHubError, reason: string) => never,
  ): (route: Route) => void {
    if (isBearerHeader(header)) {
      const caller = options.bearer.authenticate(header);
      if (!caller.ok) return refuse(caller.error, caller.reason);
      return (route) => {
        const forbidden = authorizeDataActions(caller.principal, caller.roles, routeDataActions(route));
        if (forbidden) refuse(forbidden, forbidden.message);
      };
    }
    if (options.disableLocalAuth) {
      return refuse(
        unauthorized(
          "Unauthorized: local authentication is disabled on this hub (disableLocalAuth): use a Microsoft Entra token.",
        ),
        "no bearer token, and local authentication is disabled",
      );
    }
    const authentication = authenticateServiceToken(header, options.policies, options.hostName);
    if (!authentication.ok) return refuse(authentication.error, authentication.reason);
    const outOfScope = authorizeScope(authentication.scope, segments);
    if (outOfScope) return refuse(outOfScope.error, outOfScope.reason);
    return (route) => {
      const forbidden = authorize(authentication.policy, route.right);
      if (forbidden) refuse(forbidden, `policy '${authentication.policy.name}' lacks ${route.right}`);
    };
  }
}
