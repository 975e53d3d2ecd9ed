import { readFileSync } from "node:fs";
import type { Client, Registry } from "azure-iothub";
import { serviceClient, serviceRegistry } from "../../lib/iothub/serviceClient";
import { startHub, type StartHubOptions, type TestHub } from "./hubProcess";

/** The names of a test hub's shared access policies, as `iothub-local policy list -o json` prints them. */
export async function policyNames(hub: TestHub): Promise<string[]> {
  const listed = await hub.cli("policy", "list", "-o", "json");
  if (listed.code !== 0) throw new Error(`iothub-local policy list exited ${listed.code}: ${listed.stderr}`);
  return (JSON.parse(listed.stdout) as Array<{ name: string }>).map((policy) => policy.name);
}

/** One hub for a suite (or a describe block) and a service-SDK registry on it, filled in by beforeAll. */
export interface SuiteHub {
  hub: TestHub;
  registry: Registry;
}

/** What a service client needs of a test hub: hub.json's owner connection string and CA file. */
export interface HubAccess {
  connectionString: string;
  caFile: string;
}

/**
 * The service SDK's Registry on a test hub, trusting the hub's CA in this process (no NODE_EXTRA_CA_CERTS), as the
 * providers and verify do. `connectionString` picks another policy of the same hub (default: the owner's).
 */
export function hubRegistry(hub: HubAccess, connectionString = hub.connectionString): Registry {
  return serviceRegistry(connectionString, readFileSync(hub.caFile, "utf8"));
}

/** The service SDK's Client on a test hub (direct methods), trusting the hub's CA in this process. */
export function hubServiceClient(hub: HubAccess): Client {
  return serviceClient(hub.connectionString, readFileSync(hub.caFile, "utf8"));
}

/**
 * Starts a hub before the tests of the calling suite or describe block and stops it after them. Read `hub` and
 * `registry` inside tests and hooks (they are set once beforeAll has run).
 */
export function useSuiteHub(options: StartHubOptions = {}): SuiteHub {
  const suite = {} as SuiteHub;
  beforeAll(async () => {
    suite.hub = await startHub(options);
    suite.registry = hubRegistry(suite.hub.info);
  });
  afterAll(async () => {
    await suite.hub?.stop();
  });
  return suite;
}

/** Whether the hub has the device (e.g. none after a refused registration). */
export async function deviceExists(registry: Registry, deviceId: string): Promise<boolean> {
  try {
    await registry.get(deviceId);
    return true;
  } catch (error) {
    if ((error as Error).name === "DeviceNotFoundError") return false;
    throw error;
  }
}
