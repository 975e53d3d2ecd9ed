import type { IncomingMessage, ServerResponse } from "node:http";
import type { PolicyStore } from "../authentication/policyStore";
import { authenticateServiceToken, authorize, authorizeScope } from "../authentication/sasAuthentication";
import type { Chaos } from "../chaos";
import { IotHubError, serviceUnavailable, throttled } from "../errors/iotHubError";
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
  log?: (line: string) => void;
}

export type RequestListener = (request: IncomingMessage, response: ServerResponse) => void;

/**
 * The service API's request pipeline, in IoT Hub's order: the request target (as sent, not normalized), api-version,
 * SAS token, the path inside the token's scope, route, the route's right, then faults and quotas of its operation
 * class, then the JSON body and the handler. Every step refuses by throwing an IotHubError; the one error exit
 * answers it as IoT Hub's error body.
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

    const authentication = authenticateServiceToken(
      request.headers.authorization,
      options.policies,
      options.hostName,
    );
    if (!authentication.ok) {
      log(`[${trackingId}] 401 ${method} ${path}: ${authentication.reason}`);
      throw authentication.error;
    }
    const outOfScope = authorizeScope(authentication.scope, segments);
    if (outOfScope) {
      log(`[${trackingId}] 401 ${method} ${path}: ${outOfScope.reason}`);
      throw outOfScope.error;
    }

    const lookup = router.lookupSegments(method, segments);
    if (!lookup.found) {
      throw lookup.allowed.length > 0
        ? new IotHubError(405, "MethodNotAllowed", `${method} is not allowed on ${path}.`)
        : new IotHubError(404, "NotFound", `No operation at ${method} ${path}.`);
    }
    const { route, params } = lookup.match;

    const forbidden = authorize(authentication.policy, route.right);
    if (forbidden) {
      log(
        `[${trackingId}] 401 ${method} ${path}: policy '${authentication.policy.name}' lacks ${route.right}`,
      );
      throw forbidden;
    }

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
}
