import type { TokenCredential } from "@azure/core-auth";
import { createHash } from "node:crypto";
import { Agent } from "node:https";
import { createSecureContext, type SecureContext } from "node:tls";
import { Amqp, Client, Registry, SharedAccessSignature } from "azure-iothub";
import { RestApiClient } from "azure-iothub/dist/common-http/rest_api_client";
import { defaultTrustPlus, readableCertificates } from "./caCertificates";
import { IOT_HUB_TOKEN_SCOPE } from "./dataPlaneRoles";
import { entraCredential, type EntraCredentialSettings } from "./entraCredential";
import { describeViolations } from "./rules";
import { checkServiceConnectionString, parseConnectionString } from "./sas";

/**
 * Service-SDK (azure-iothub) clients that trust a given CA in this process, without NODE_EXTRA_CA_CERTS.
 *
 * The SDK has no CA option: its Registry and Client constructors install an https.Agent of their own, which trusts
 * only Node's roots plus NODE_EXTRA_CA_CERTS (read once at process start; the engine's provider process does not
 * even inherit it from the program). So each client is built on the SDK's own RestApiClient, and after
 * construction that client is given an agent whose secure context trusts Node's roots, NODE_EXTRA_CA_CERTS and
 * `caCertificate`. TLS verification stays on; the extra CA applies only to this hub's connections. What this
 * relies on in azure-iothub is pinned by test/lib/serviceClient.test.ts.
 *
 * Tokens: the SharedAccessSignature is handed to the SDK as an object (not a string), so the SDK signs every
 * request afresh with an expiry one hour after it is sent: a long-lived client never sends an expired token.
 */

/** An hour, as the SDK's own renewal uses: the lifetime of the first token, before any request renews it. */
const TOKEN_LIFETIME_SECONDS = 3600;
/** Connections kept open per hub: enough for the providers' paced bursts and verify's --concurrency. */
const MAX_SOCKETS = 64;

/**
 * The clients of each hub, connection string and CA in this process, keyed by a digest (the key is never held in
 * clear as a map key). Module state: one module graph serves every provider of a provider process (the stubs load
 * the implementation through one tsx namespace), so all resources of a hub share one agent.
 */
const cache = new Map<string, ServiceClients>();

/** The REST-backed service clients of one hub, connection string and CA; made on first use. */
interface ServiceClients {
  agent: Agent;
  config: ServiceConfig;
  registry?: Registry;
  client?: Client;
}

/** What both Registry and Client (and its AMQP transport) take. */
type ServiceConfig = Client.TransportConfigOptions & { host: string };

/**
 * The Registry for a hub (one per connection string and CA in the process, so one keep-alive agent per hub).
 * Throws an Error naming `serviceConnectionString` or `caCertificate` and the rule when either is unusable.
 */
export function serviceRegistry(serviceConnectionString: string, caCertificate?: string): Registry {
  const clients = serviceClientsFor(serviceConnectionString, caCertificate);
  if (!clients.registry) {
    const restApiClient = restApiClientOf(clients);
    clients.registry = new Registry(clients.config, restApiClient);
    trustOnlyThrough(restApiClient, clients.agent);
  }
  return clients.registry;
}

/**
 * The service Client for a hub, for its REST calls (direct methods: `invokeDeviceMethod`), on the same agent as
 * the hub's Registry. Its AMQP calls (`send`, feedback) do not go through that agent and trust only Node's CAs.
 */
export function serviceClient(serviceConnectionString: string, caCertificate?: string): Client {
  const clients = serviceClientsFor(serviceConnectionString, caCertificate);
  if (!clients.client) {
    const restApiClient = restApiClientOf(clients);
    clients.client = new Client(new Amqp(clients.config), restApiClient);
    trustOnlyThrough(restApiClient, clients.agent);
  }
  return clients.client;
}

/**
 * The Registry for a hub reached with a Microsoft Entra credential instead of a policy key: what
 * `Registry.fromTokenCredential(hostName, credential)` builds (the SDK asks the credential for IoT Hub's scope and
 * sends `Authorization: Bearer`), on an agent that trusts `caCertificate` too. One per credential, host name and CA
 * in the process. The credential's own requests (to its authority) are its own: trust the authority's CA there.
 */
export function tokenCredentialRegistry(
  hostName: string,
  credential: TokenCredential,
  caCertificate?: string,
): Registry {
  let registries = credentialRegistries.get(credential);
  if (!registries) {
    registries = new Map();
    credentialRegistries.set(credential, registries);
  }
  const cacheKey = `${hostName}\n${caCertificate ?? ""}`;
  let registry = registries.get(cacheKey);
  if (!registry) {
    const config = { host: hostName, tokenCredential: credential, tokenScope: IOT_HUB_TOKEN_SCOPE };
    const restApiClient = new RestApiClient(config, "iothub-provisioner");
    registry = new Registry(config, restApiClient);
    trustOnlyThrough(
      restApiClient,
      new Agent({ keepAlive: true, maxSockets: MAX_SOCKETS, secureContext: secureContextFor(caCertificate) }),
    );
    registries.set(cacheKey, registry);
  }
  return registry;
}

const credentialRegistries = new WeakMap<TokenCredential, Map<string, Registry>>();

/** How a client reaches the service API: with a policy key (`sas`) or with a Microsoft Entra credential. */
export type HubAuthMode = "sas" | "entra";
export const HUB_AUTH_MODES: readonly HubAuthMode[] = ["sas", "entra"];

/** What a client needs to authenticate to one hub, by auth mode. */
export type HubAccess =
  | { auth: "sas"; serviceConnectionString: string }
  | { auth: "entra"; hostName: string; entra?: EntraCredentialSettings };

/**
 * The one factory of a hub's Registry for both auth modes: serviceRegistry for a policy key, tokenCredentialRegistry
 * on entraCredential's credential (the same CA trusted for the hub and for a local authority) for Entra.
 */
export function hubAccessRegistry(access: HubAccess, caCertificate?: string): Registry {
  if (access.auth === "sas") return serviceRegistry(access.serviceConnectionString, caCertificate);
  return tokenCredentialRegistry(
    access.hostName,
    entraCredential(access.entra, caCertificate),
    caCertificate,
  );
}

function serviceClientsFor(
  serviceConnectionString: string,
  caCertificate: string | undefined,
): ServiceClients {
  const cacheKey = createHash("sha256")
    .update(`${serviceConnectionString}\n${caCertificate ?? ""}`)
    .digest("hex");
  let clients = cache.get(cacheKey);
  if (!clients) {
    clients = {
      config: serviceConfig(serviceConnectionString),
      // One secure context for all connections: a `ca` option per request would re-parse every root
      // certificate per connection, which under load bunches paced calls into bursts the hub then throttles.
      agent: new Agent({
        keepAlive: true,
        maxSockets: MAX_SOCKETS,
        secureContext: secureContextFor(caCertificate),
      }),
    };
    cache.set(cacheKey, clients);
  }
  return clients;
}

function serviceConfig(serviceConnectionString: string): ServiceConfig {
  const violations = checkServiceConnectionString(serviceConnectionString);
  if (violations.length > 0) throw new Error(describeViolations(violations));
  const fields = parseConnectionString(serviceConnectionString);
  const expiry = Math.ceil(Date.now() / 1000) + TOKEN_LIFETIME_SECONDS;
  return {
    host: fields.HostName,
    keyName: fields.SharedAccessKeyName,
    sharedAccessSignature: SharedAccessSignature.create(
      fields.HostName,
      fields.SharedAccessKeyName,
      fields.SharedAccessKey,
      expiry,
    ),
  };
}

function secureContextFor(caCertificate: string | undefined): SecureContext | undefined {
  if (caCertificate === undefined) return undefined;
  return createSecureContext({ ca: defaultTrustPlus(readableCertificates(caCertificate, "caCertificate")) });
}

function restApiClientOf(clients: ServiceClients): RestApiClient {
  return new RestApiClient(clients.config, "iothub-provisioner");
}

/** After the SDK's constructor installed its own agent: every request of this client goes through `agent`. */
function trustOnlyThrough(restApiClient: RestApiClient, agent: Agent): void {
  restApiClient.setOptions({ http: { agent } });
}

/**
 * IoT Hub's own explanation of a failed service-SDK call: the `Message` of the error body the SDK keeps as
 * `responseBody` (`ErrorCode:<Code>;<text>`), or undefined when the hub sent no such body (a network error, a
 * timeout, a body that is not IoT Hub's JSON).
 */
export function hubErrorBodyMessage(error: unknown): string | undefined {
  const body = (error as { responseBody?: unknown } | undefined)?.responseBody;
  if (typeof body !== "string" || body.length === 0) return undefined;
  try {
    const parsed = JSON.parse(body) as { Message?: unknown; message?: unknown };
    const message = parsed.Message ?? parsed.message;
    return typeof message === "string" && message.length > 0 ? message : undefined;
  } catch {
    return undefined;
  }
}
