import { ClientSecretCredential } from "@azure/identity";
import type { Registry } from "azure-iothub";
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { tokenCredentialRegistry } from "../../lib/iothub/serviceClient";
import type { HubInfo } from "../../local-hub/stateDir";
import type { TestHub } from "../support/hubProcess";

/**
 * Entra ID against a test hub: principals made with the CLI, the real @azure/identity ClientSecretCredential
 * pointed at the hub's authority (hub.json's `entra`), and the service SDK's Registry on that credential.
 */

export interface AddedPrincipal {
  name: string;
  clientId: string;
  tenantId: string;
  objectId: string;
  clientSecret: string;
}

/** `iothub-local principal add NAME` (and `role assign` for each role) on the hub's state dir. */
export async function addPrincipal(
  hub: TestHub,
  name: string,
  roles: string[] = [],
): Promise<AddedPrincipal> {
  const added = await hub.cli("principal", "add", name, "-o", "json");
  if (added.code !== 0) throw new Error(`principal add exited ${added.code}: ${added.stderr}`);
  for (const role of roles) {
    const assigned = await hub.cli("role", "assign", name, "--role", role);
    if (assigned.code !== 0) throw new Error(`role assign exited ${assigned.code}: ${assigned.stderr}`);
  }
  return JSON.parse(added.stdout) as AddedPrincipal;
}

/** hub.json's Entra authority; a hub without one fails the test here. */
export function authorityOf(info: HubInfo): { authorityHost: string; tenantId: string } {
  if (!info.entra) throw new Error("hub.json names no entra authority");
  return info.entra;
}

/**
 * The real ClientSecretCredential on the hub's authority: instance discovery off (the authority is not one of
 * Microsoft's clouds), and the hub's CA given as the credential's TLS trust (docs/field-notes.md, Entra ID).
 */
export function hubCredential(info: HubInfo, clientId: string, clientSecret: string): ClientSecretCredential {
  const { authorityHost, tenantId } = authorityOf(info);
  return new ClientSecretCredential(tenantId, clientId, clientSecret, {
    authorityHost,
    disableInstanceDiscovery: true,
    tlsOptions: { ca: readFileSync(info.caFile, "utf8") },
  });
}

/** The service SDK's Registry for a principal, as `Registry.fromTokenCredential` makes it, trusting the hub's CA. */
export function principalRegistry(info: HubInfo, principal: AddedPrincipal): Registry {
  return tokenCredentialRegistry(
    info.hostName,
    hubCredential(info, principal.clientId, principal.clientSecret),
    readFileSync(info.caFile, "utf8"),
  );
}

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One raw HTTPS request to any of the hub's listeners (`url` absolute), trusting only the hub's CA. */
export function rawRequest(
  info: HubInfo,
  method: string,
  url: string,
  headers: Record<string, string | number> = {},
  body?: string | Buffer | ((write: (chunk: Buffer) => boolean) => void),
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const call = request(url, { method, headers, ca: readFileSync(info.caFile, "utf8") }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          text: Buffer.concat(chunks).toString("utf8"),
        }),
      );
    });
    call.on("error", reject);
    if (typeof body === "function") {
      body((chunk) => call.write(chunk));
      call.end();
    } else {
      call.end(body);
    }
  });
}

/** A service-API request with `Authorization: Bearer <token>` (raw: for tokens no credential would hand out). */
export function bearerRequest(
  info: HubInfo,
  method: string,
  path: string,
  token: string,
): Promise<RawAnswer> {
  return rawRequest(info, method, `https://${info.hostName}${path}?api-version=2021-04-12`, {
    authorization: `Bearer ${token}`,
  });
}
