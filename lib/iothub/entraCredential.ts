import type { TokenCredential } from "@azure/core-auth";
import { ClientSecretCredential, DefaultAzureCredential } from "@azure/identity";
import { createHash } from "node:crypto";
import { defaultTrustPlus, readableCertificates } from "./caCertificates";
import { describeViolations, type RuleViolation } from "./rules";

/**
 * Which Microsoft Entra credential a client of IoT Hub's service API uses, and the credential itself.
 *
 * On Azure no setting is needed: DefaultAzureCredential finds the deploying principal (`az login`, workload
 * identity / OIDC in CI, a managed identity, AZURE_CLIENT_ID/AZURE_CLIENT_SECRET). An authority that is not one of
 * Azure's clouds (the local hub's token endpoint) is named with `authorityHost`: then a ClientSecretCredential of
 * `clientId` in `tenantId`, with instance discovery off (the authority is not Microsoft's, so there is nothing to
 * discover) and the authority's CA trusted besides Node's roots. Its secret is `clientSecret` (kept as a Pulumi
 * secret by the caller) or else AZURE_CLIENT_SECRET of this process.
 */
export interface EntraCredentialSettings {
  /** `https://host[:port]` of an authority that is not Azure's (the local hub's `entra.authorityHost`). */
  authorityHost?: string;
  /** The tenant (directory) id: required with `authorityHost`, else the one DefaultAzureCredential uses. */
  tenantId?: string;
  /** The application (client) id of the principal: required with `authorityHost`. */
  clientId?: string;
  /** The client secret: a secret; absent = AZURE_CLIENT_SECRET of the process that makes the credential. */
  clientSecret?: string;
}

/** The environment variable @azure/identity's EnvironmentCredential reads for a client secret. */
export const CLIENT_SECRET_VARIABLE = "AZURE_CLIENT_SECRET";

const SETTING_KEYS = ["authorityHost", "tenantId", "clientId", "clientSecret"] as const;
// Tenant and client ids are GUIDs on Azure (a tenant may also be named by a domain): one word, bounded.
const ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;
const MAX_AUTHORITY_LENGTH = 2048;
const MAX_SECRET_LENGTH = 1024;

/** Violations of the settings, each naming `<field>.<key>` and the rule; never quotes a value. */
export function checkEntraCredentialSettings(value: unknown, field = "entra"): RuleViolation[] {
  if (value === undefined || value === null) return [];
  if (typeof value !== "object" || Array.isArray(value)) return [{ field, rule: "must be an object" }];
  const settings = value as Record<string, unknown>;
  const violations: RuleViolation[] = [];
  for (const key of Object.keys(settings)) {
    if (!(SETTING_KEYS as readonly string[]).includes(key)) {
      violations.push({
        field: `${field}.${key}`,
        rule: `is not a known key (use ${SETTING_KEYS.join(", ")})`,
      });
    }
  }
  for (const key of ["tenantId", "clientId"] as const) {
    const id = settings[key];
    if (id !== undefined && (typeof id !== "string" || !ID_PATTERN.test(id))) {
      violations.push({ field: `${field}.${key}`, rule: "must be 1-128 letters, digits, '.', '_' or '-'" });
    }
  }
  const secret = settings.clientSecret;
  if (
    secret !== undefined &&
    (typeof secret !== "string" || secret.length === 0 || secret.length > MAX_SECRET_LENGTH)
  ) {
    violations.push({
      field: `${field}.clientSecret`,
      rule: `must be a string of 1-${MAX_SECRET_LENGTH} characters`,
    });
  }
  const authority = settings.authorityHost;
  if (authority !== undefined) {
    if (!isAuthorityHost(authority)) {
      violations.push({
        field: `${field}.authorityHost`,
        rule: "must be an https URL of a host and optional port, without path, query or credentials",
      });
    }
    for (const key of ["tenantId", "clientId"] as const) {
      if (settings[key] === undefined) {
        violations.push({ field: `${field}.${key}`, rule: "is required with authorityHost" });
      }
    }
  } else if (secret !== undefined) {
    violations.push({
      field: `${field}.clientSecret`,
      rule: "is used only with authorityHost (on Azure, DefaultAzureCredential reads AZURE_CLIENT_SECRET)",
    });
  }
  return violations;
}

function isAuthorityHost(value: unknown): value is string {
  if (typeof value !== "string" || value.length > MAX_AUTHORITY_LENGTH) return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (
    url.protocol === "https:" &&
    url.username === "" &&
    url.password === "" &&
    (url.pathname === "/" || url.pathname === "") &&
    url.search === "" &&
    url.hash === "" &&
    !value.endsWith("/")
  );
}

/**
 * The credentials of this process by settings and CA, keyed by a digest (a client secret is never held in clear
 * as a map key): one credential per principal keeps @azure/identity's token cache, so the providers of a provider
 * process ask the authority once per token lifetime, not once per resource.
 */
const credentials = new Map<string, TokenCredential>();

/**
 * The credential for the settings (see EntraCredentialSettings). Throws an Error naming the field and the rule
 * when the settings are unusable, or when no client secret is given nor in AZURE_CLIENT_SECRET.
 */
export function entraCredential(
  settings: EntraCredentialSettings | undefined,
  caCertificate?: string,
  environment: NodeJS.ProcessEnv = process.env,
): TokenCredential {
  const given = settings ?? {};
  const violations = checkEntraCredentialSettings(given);
  if (violations.length > 0) throw new Error(describeViolations(violations));
  const clientSecret = given.authorityHost
    ? (given.clientSecret ?? environment[CLIENT_SECRET_VARIABLE])
    : undefined;
  if (given.authorityHost && !clientSecret) {
    throw new Error(
      `entra.clientSecret: is required with authorityHost (a Pulumi secret), unless ${CLIENT_SECRET_VARIABLE} ` +
        "is set in the environment",
    );
  }
  const cacheKey = createHash("sha256")
    .update(
      JSON.stringify([given.authorityHost, given.tenantId, given.clientId, clientSecret, caCertificate]),
    )
    .digest("hex");
  let credential = credentials.get(cacheKey);
  if (!credential) {
    credential = given.authorityHost
      ? new ClientSecretCredential(given.tenantId!, given.clientId!, clientSecret!, {
          authorityHost: given.authorityHost,
          disableInstanceDiscovery: true,
          ...(caCertificate === undefined
            ? {}
            : { tlsOptions: { ca: defaultTrustPlus(readableCertificates(caCertificate, "caCertificate")) } }),
        })
      : new DefaultAzureCredential(given.tenantId ? { tenantId: given.tenantId } : {});
    credentials.set(cacheKey, credential);
  }
  return credential;
}

/** @azure/identity's error names for a credential that got no token (wrong secret, unknown client, no login). */
const CREDENTIAL_ERROR_NAMES = [
  "AuthenticationError",
  "AggregateAuthenticationError",
  "CredentialUnavailableError",
  "AuthenticationRequiredError",
];

/** True when `error` is the credential's own failure to get a token, not an answer of the hub. */
export function isCredentialError(error: unknown): boolean {
  return CREDENTIAL_ERROR_NAMES.includes((error as { name?: unknown } | undefined)?.name as string);
}

/**
 * The first line of a credential error's message: @azure/identity appends troubleshooting links and, for an
 * authority's answer, its JSON; the first line names the cause (e.g. `invalid_client`).
 */
export function credentialErrorMessage(error: unknown): string {
  const message = String((error as { message?: unknown } | undefined)?.message ?? error);
  return message.split("\n")[0].slice(0, 500);
}
