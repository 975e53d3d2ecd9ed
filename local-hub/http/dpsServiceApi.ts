import type { IncomingMessage, ServerResponse } from "node:http";
import type { DpsRight } from "../../lib/dps/rules";
import { dpsGrants } from "../authentication/dpsPolicies";
import type { PolicyStore, SharedAccessPolicy } from "../authentication/policyStore";
import { verifySasToken } from "../authentication/sasToken";
import type { Chaos } from "../chaos";
import { DPS_ERROR_CODES, DpsError, dpsUnauthorized } from "../errors/dpsError";
import { IotHubError } from "../errors/iotHubError";
import type { DpsRoute } from "../handlers/route";
import { readJsonBody } from "./body";
import type { RequestListener } from "./serviceApi";
import { sendResponse } from "./respond";
import { parseRequestTarget } from "./requestTarget";
import { Router } from "./router";
import { newTrackingId } from "./trackingId";

/**
 * The api-versions of DPS's service API that Microsoft's SDKs send: 2021-10-01 (azure-iot-provisioning-service for
 * Node, the C# and Python service SDKs), 2019-03-31 and 2021-06-01 (earlier releases). One behaviour serves them.
 */
export const DPS_SERVICE_API_VERSIONS: ReadonlySet<string> = new Set([
  "2019-03-31",
  "2021-06-01",
  "2021-10-01",
]);

export interface DpsServiceApiOptions {
  routes: readonly DpsRoute[];
  policies: PolicyStore<DpsRight>;
  chaos: Chaos;
  /** The DPS's service host name: SAS tokens must be made for it (`sr` = the host, nothing below it). */
  hostName: string;
  log?: (line: string) => void;
}

/**
 * The local DPS's service API, in the hub's order (http/serviceApi.ts) with DPS's answers: the request target as
 * sent, api-version, the SAS token of a DPS policy for this DPS's host, route, the route's right, faults and
 * quotas of its operation class, the JSON body (256 KB), the handler. Every refusal is a DpsError, answered as
 * DPS's error body; what the shared steps throw as IoT Hub errors keeps its status and gets DPS's code.
 */
export function createDpsServiceApi(options: DpsServiceApiOptions): RequestListener {
  // DPS's SDK writes `/enrollmentgroups/{id}/attestationmechanism` and `/enrollmentGroups/{id}` alike.
  const router = new Router<DpsRoute>(options.routes, { caseInsensitiveLiterals: true });
  const log = options.log ?? (() => undefined);

  return (request, response) => {
    const trackingId = newTrackingId();
    handle(request, response, trackingId).catch((error: unknown) => {
      const dpsError = toDpsError(error, trackingId);
      if (response.headersSent || response.destroyed) return;
      sendResponse(response, { status: dpsError.status, body: dpsError.toBody(trackingId) }, trackingId);
    });
  };

  async function handle(
    request: IncomingMessage,
    response: ServerResponse,
    trackingId: string,
  ): Promise<void> {
    const method = request.method ?? "GET";
    const { path, segments, query } = parseRequestTarget(request.url);

    const versions = query.getAll("api-version");
    if (versions.length !== 1 || !DPS_SERVICE_API_VERSIONS.has(versions[0])) {
      throw new DpsError(
        400,
        DPS_ERROR_CODES.invalidApiVersion,
        `api-version: must be given once, one of ${[...DPS_SERVICE_API_VERSIONS].join(", ")}.`,
      );
    }

    const authenticated = authenticate(request.headers.authorization);
    if ("refusal" in authenticated) {
      log(`[${trackingId}] dps 401 ${method} ${path}: ${authenticated.refusal}`);
      throw authenticated.error;
    }
    const policy = authenticated.policy;

    const lookup = router.lookupSegments(method, segments);
    if (!lookup.found) {
      throw lookup.allowed.length > 0
        ? new DpsError(405, DPS_ERROR_CODES.methodNotAllowed, `${method} is not allowed on ${path}.`)
        : new DpsError(404, DPS_ERROR_CODES.routeNotFound, `No operation at ${method} ${path}.`);
    }
    const { route, params } = lookup.match;
    if (!dpsGrants(policy.rights, route.right)) {
      log(`[${trackingId}] dps 401 ${method} ${path}: policy '${policy.name}' lacks ${route.right}`);
      throw dpsUnauthorized(`Unauthorized: the policy '${policy.name}' does not grant ${route.right}.`);
    }

    const verdict = options.chaos.admit(route.operationClass, path);
    if (verdict.action === "throttle") {
      throw new DpsError(
        429,
        DPS_ERROR_CODES.throttled,
        `Throttled: the ${route.operationClass} quota is used up; retry later.`,
      );
    }
    if (verdict.action === "fault") {
      log(`[${trackingId}] dps fault ${verdict.mode} on ${method} ${path}`);
      if (verdict.mode === "reset") {
        request.socket.destroy();
        return;
      }
      if (verdict.mode === "503") {
        throw new DpsError(
          503,
          DPS_ERROR_CODES.unavailable,
          "The service is temporarily unavailable (injected fault).",
        );
      }
      const gaveUp = new AbortController();
      response.once("close", () => gaveUp.abort());
      if (!(await options.chaos.waitForFaultsCleared(gaveUp.signal))) return;
    }

    const body = await readJsonBody(request);
    const answer = await route.handle({ method, path, query, headers: request.headers, body, params });
    sendResponse(response, answer, trackingId);
  }

  /**
   * DPS's service tokens: `sr` is the DPS's host name itself (DPS scopes service tokens to the instance), `skn` a
   * DPS policy, signed with one of its keys, not expired. The reason of a refusal goes to the log only.
   */
  function authenticate(
    header: string | undefined,
  ): { policy: SharedAccessPolicy<DpsRight> } | { refusal: string; error: DpsError } {
    const refuse = (refusal: string, expired = false) => ({
      refusal,
      error: dpsUnauthorized(
        expired ? "Unauthorized: the SAS token has expired." : "Unauthorized: invalid SAS token.",
      ),
    });
    if (!header) return refuse("no Authorization header");
    const verdict = verifySasToken<SharedAccessPolicy<DpsRight>>(
      header,
      {
        hostName: options.hostName,
        checkScope: (scope) =>
          scope.length === 0 ? undefined : "a DPS service token is for the DPS host itself",
        signer: (token) => {
          if (!token.skn) return { refusal: "the token names no policy (skn)" };
          const policy = options.policies.get(token.skn);
          if (!policy) return { refusal: `no DPS policy named '${token.skn}'` };
          return { signer: policy, keys: [policy.primaryKey, policy.secondaryKey] };
        },
      },
      Date.now(),
    );
    if (!verdict.ok) return refuse(verdict.reason, verdict.expired);
    return { policy: verdict.signer };
  }
}

/** Errors of the shared steps (target, body) keep their status; anything else is a bug: 500, logged. */
function toDpsError(error: unknown, trackingId: string): DpsError {
  if (error instanceof DpsError) return error;
  if (error instanceof IotHubError) {
    const code = error.status === 413 ? DPS_ERROR_CODES.tooLarge : DPS_ERROR_CODES.badRequest;
    return new DpsError(error.status, code, error.message);
  }
  console.error(`[${trackingId}] internal error:`, error);
  return new DpsError(
    500,
    DPS_ERROR_CODES.internal,
    "The local DPS failed to process the request (see its log).",
  );
}
