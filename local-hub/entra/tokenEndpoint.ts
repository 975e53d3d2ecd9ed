import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { IOT_HUB_TOKEN_SCOPE } from "../../lib/iothub/dataPlaneRoles";
import type { PrincipalStore } from "../persistence/principalStore";
import type { RequestListener } from "../http/serviceApi";
import {
  ACCESS_TOKEN_LIFETIME_SECONDS,
  discoveryIssuerOf,
  issueAccessToken,
  type Authority,
} from "./accessToken";
import type { TokenSigningKey } from "./signingKey";

/**
 * The hub's stand-in for Microsoft Entra ID's token service, for one tenant: what `@azure/identity`'s
 * ClientSecretCredential asks of an authority with instance discovery off (docs/field-notes.md, Entra ID), answered
 * as Entra answers it.
 *
 * - `GET /{tenant}/v2.0/.well-known/openid-configuration`: the discovery document (MSAL needs its
 *   authorization_endpoint, token_endpoint, issuer and jwks_uri).
 * - `GET /{tenant}/discovery/v2.0/keys`: the JWKS, the public half of the signing key.
 * - `POST /{tenant}/oauth2/v2.0/token`: the client-credentials grant with a client secret, for IoT Hub's scope.
 *
 * Errors are Entra's JSON (`error`, `error_description` starting with the AADSTS code, `error_codes`, ...); no
 * answer quotes a secret, and none quotes client-chosen text that is long or not printable.
 */

export interface TokenEndpointOptions {
  principals: PrincipalStore;
  signingKey: TokenSigningKey;
  /** Known once the listener has its port. */
  authority: () => Authority;
  log?: (line: string) => void;
}

/** A client-credentials form is well under 1 KB; 16 KB leaves room and bounds what one request can make us keep. */
export const MAX_TOKEN_REQUEST_BYTES = 16 * 1024;

/** The scopes OpenID clients may add to any request; they ask for nothing of IoT Hub. */
const OPENID_SCOPES = new Set(["openid", "profile", "offline_access"]);

interface EntraError {
  status: number;
  error: string;
  code: number;
  description: string;
}

const entraError = (status: number, error: string, code: number, description: string): EntraError => ({
  status,
  error,
  code,
  description,
});

export function createTokenEndpoint(options: TokenEndpointOptions): RequestListener {
  const log = options.log ?? (() => undefined);

  return (request, response) => {
    handle(request, response).catch((error: unknown) => {
      log(`entra: internal error: ${error instanceof Error ? error.message : String(error)}`);
      if (!response.headersSent)
        sendError(response, entraError(500, "server_error", 0, "The local hub failed."));
    });
  };

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? "/").split("?")[0];
    const segments = path.split("/").slice(1);
    const authority = options.authority();
    const tenant = segments[0] ?? "";
    const endpoint = segments.slice(1).join("/");
    const known = ENDPOINTS.get(endpoint);
    if (!known) {
      return sendError(
        response,
        entraError(404, "invalid_request", 900561, `No endpoint at ${shown(path)}.`),
      );
    }
    if (request.method !== known.method) {
      response.setHeader("Allow", known.method);
      return sendError(
        response,
        entraError(405, "invalid_request", 900561, `The endpoint only accepts ${known.method} requests.`),
      );
    }
    if (tenant.toLowerCase() !== authority.tenantId.toLowerCase()) {
      return sendError(
        response,
        entraError(
          400,
          "invalid_request",
          90002,
          `Tenant ${shown(tenant)} not found. This local hub is the authority of tenant ${authority.tenantId} only.`,
        ),
      );
    }
    if (endpoint === "v2.0/.well-known/openid-configuration") {
      return sendJson(response, 200, discoveryDocument(authority));
    }
    if (endpoint === "discovery/v2.0/keys") {
      const jwk = options.signingKey.publicKey.export({ format: "jwk" });
      return sendJson(response, 200, {
        keys: [{ kty: "RSA", use: "sig", alg: "RS256", kid: options.signingKey.keyId, n: jwk.n, e: jwk.e }],
      });
    }
    const form = await readForm(request);
    if ("error" in form) return sendError(response, form.error);
    const outcome = grantToken(form.params, authority);
    if ("error" in outcome) {
      log(`entra: ${outcome.error.status} token request: ${outcome.reason}`);
      return sendError(response, outcome.error);
    }
    log(`entra: issued a token to principal '${outcome.name}' (appid ${outcome.clientId})`);
    sendJson(response, 200, {
      token_type: "Bearer",
      expires_in: ACCESS_TOKEN_LIFETIME_SECONDS,
      ext_expires_in: ACCESS_TOKEN_LIFETIME_SECONDS,
      access_token: outcome.token,
    });
  }

  function grantToken(
    params: Map<string, string>,
    authority: Authority,
  ): { token: string; name: string; clientId: string } | { error: EntraError; reason: string } {
    const refuse = (error: EntraError, reason = error.description) => ({ error, reason });
    const grantType = params.get("grant_type");
    if (grantType === undefined) return refuse(missingParameter("grant_type"));
    if (grantType !== "client_credentials") {
      return refuse(
        entraError(
          400,
          "unsupported_grant_type",
          70003,
          `The app requested an unsupported grant type ${shown(grantType)}. The local hub grants client_credentials only.`,
        ),
      );
    }
    const clientId = params.get("client_id");
    if (clientId === undefined) return refuse(missingParameter("client_id"));
    const scope = params.get("scope");
    if (scope === undefined) return refuse(missingParameter("scope"));
    if (params.has("client_assertion")) {
      return refuse(
        entraError(
          400,
          "invalid_request",
          7000216,
          "The local hub takes client secrets only, not client_assertion.",
        ),
      );
    }
    const secret = params.get("client_secret");
    if (secret === undefined) {
      return refuse(
        entraError(
          400,
          "invalid_client",
          7000216,
          "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
        ),
      );
    }
    const scopes = scope.split(" ").filter((item) => item !== "" && !OPENID_SCOPES.has(item.toLowerCase()));
    if (scopes.length !== 1 || scopes[0].toLowerCase() !== IOT_HUB_TOKEN_SCOPE) {
      return refuse(
        entraError(
          400,
          "invalid_scope",
          500011,
          `The resource principal named ${shown(scope)} was not found in the tenant. The local hub issues tokens for ${IOT_HUB_TOKEN_SCOPE} only.`,
        ),
      );
    }
    const client = options.principals.authenticateClient(clientId, secret);
    const who = GUID.test(clientId) ? `client ${clientId}` : "a client id that is no GUID";
    if (!client.ok && client.refusal === "unknown client") {
      return refuse(
        entraError(
          400,
          "unauthorized_client",
          700016,
          `Application with identifier ${shown(clientId)} was not found in the directory of tenant ${authority.tenantId}.`,
        ),
        `${who}: no such principal`,
      );
    }
    if (!client.ok) {
      return refuse(
        entraError(401, "invalid_client", 7000215, "Invalid client secret provided."),
        `${who}: wrong client secret`,
      );
    }
    return {
      token: issueAccessToken(client.principal, authority, options.signingKey),
      name: client.principal.name,
      clientId: client.principal.clientId,
    };
  }
}

const ENDPOINTS = new Map([
  ["v2.0/.well-known/openid-configuration", { method: "GET" }],
  ["discovery/v2.0/keys", { method: "GET" }],
  ["oauth2/v2.0/token", { method: "POST" }],
]);

const GUID = /^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$/;

export function discoveryDocument(authority: Authority): Record<string, unknown> {
  const base = `${authority.authorityHost}/${authority.tenantId}`;
  return {
    token_endpoint: `${base}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ["client_secret_post"],
    jwks_uri: `${base}/discovery/v2.0/keys`,
    response_types_supported: ["token"],
    subject_types_supported: ["pairwise"],
    id_token_signing_alg_values_supported: ["RS256"],
    issuer: discoveryIssuerOf(authority),
    // MSAL requires these two; the local hub serves no interactive sign-in, so nothing answers there.
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    tenant_region_scope: null,
    cloud_instance_name: "iothub-local",
  };
}

function missingParameter(name: string): EntraError {
  return entraError(
    400,
    "invalid_request",
    900144,
    `The request body must contain the following parameter: '${name}'.`,
  );
}

/** Client-chosen text in an answer: quoted when short and printable, else described. */
function shown(text: string): string {
  return text.length <= 128 && /^[\x21-\x7e]*$/.test(text)
    ? `'${text}'`
    : "(a value too long or not printable)";
}

/**
 * The form body of a token request: `application/x-www-form-urlencoded`, at most MAX_TOKEN_REQUEST_BYTES (413
 * past that, the rest drained unkept), each parameter once.
 */
async function readForm(
  request: IncomingMessage,
): Promise<{ params: Map<string, string> } | { error: EntraError }> {
  const tooLarge = entraError(
    413,
    "invalid_request",
    90015,
    `The request body exceeds ${MAX_TOKEN_REQUEST_BYTES} bytes.`,
  );
  const declared = request.headers["content-length"];
  if (declared !== undefined && Number(declared) > MAX_TOKEN_REQUEST_BYTES) {
    request.resume();
    return { error: tooLarge };
  }
  const body = await collect(request);
  if (body === undefined) return { error: tooLarge };
  const contentType = (request.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
  if (contentType !== "application/x-www-form-urlencoded") {
    return {
      error: entraError(
        400,
        "invalid_request",
        900144,
        "The request body must be application/x-www-form-urlencoded and contain the parameter 'grant_type'.",
      ),
    };
  }
  const params = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(body.toString("utf8"))) {
    if (params.has(name)) {
      return {
        error: entraError(
          400,
          "invalid_request",
          9000411,
          `The request is not properly formatted. The parameter ${shown(name)} is duplicated.`,
        ),
      };
    }
    params.set(name, value);
  }
  return { params };
}

/** The body, or undefined once it outgrows the limit (what follows is read and dropped). */
function collect(request: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > MAX_TOKEN_REQUEST_BYTES) {
        request.off("data", onData);
        request.resume();
        chunks.length = 0;
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    request.on("data", onData);
    request.once("end", () => resolve(Buffer.concat(chunks, size)));
    request.once("error", reject);
  });
}

function sendError(response: ServerResponse, error: EntraError): void {
  const traceId = randomUUID();
  const timestamp = new Date()
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, "Z");
  sendJson(response, error.status, {
    error: error.error,
    error_description: `AADSTS${error.code}: ${error.description} Trace ID: ${traceId} Timestamp: ${timestamp}`,
    error_codes: [error.code],
    timestamp,
    trace_id: traceId,
    correlation_id: randomUUID(),
  });
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const payload = Buffer.from(JSON.stringify(body), "utf8");
  response.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": payload.length,
    // Entra's answers are never cached: a token answer holds a bearer credential.
    "Cache-Control": "no-store, no-cache",
    Pragma: "no-cache",
  });
  response.end(payload);
}
