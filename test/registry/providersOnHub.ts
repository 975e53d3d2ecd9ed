import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Registry } from "azure-iothub";
import { startHub, type StartHubOptions, type TestHub } from "../support/hubProcess";
import {
  serializedProviders,
  startProviderServer,
  type Props,
  type ProviderServer,
} from "../support/providerServer";
import { hubRegistry } from "../support/suiteHub";

/**
 * The registry providers driven the way the engine drives them (the real dynamic-provider server, the providers
 * as the SDK serializes them) against a local hub of the suite's own; filled in by beforeAll.
 */
export interface ProvidersOnHub {
  hub: TestHub;
  server: ProviderServer;
  /** The serialized provider of each resource kind, as the engine passes it. */
  texts: Record<string, string>;
  /** The hub's CA (PEM), which every resource is given as caCertificate. */
  caPem: string;
  /** The service SDK on the same hub, to check what the providers did. */
  registry: Registry;
  /** The inputs every resource takes to reach the hub: serviceConnectionString and caCertificate. */
  hubArgs: Props;
  /** Registry calls the providers made so far, by kind (the server's stats file; {} before the first call). */
  providerCalls(): Record<string, number>;
}

/** Starts a hub (with `hubOptions`) and a provider server before the calling suite's tests; stops both after. */
export function useProvidersOnHub(hubOptions: StartHubOptions = {}): ProvidersOnHub {
  const statsFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "registry-stats-")), "calls.json");
  const suite = {
    providerCalls: () =>
      fs.existsSync(statsFile)
        ? (JSON.parse(fs.readFileSync(statsFile, "utf8")) as Record<string, number>)
        : {},
  } as ProvidersOnHub;
  beforeAll(async () => {
    [suite.hub, suite.server, suite.texts] = await Promise.all([
      startHub(hubOptions),
      startProviderServer({ env: { IOTHUB_PROVISIONER_STATS_FILE: statsFile } }),
      serializedProviders(),
    ]);
    suite.caPem = fs.readFileSync(suite.hub.info.caFile, "utf8");
    suite.registry = hubRegistry(suite.hub.info);
    suite.hubArgs = { serviceConnectionString: suite.hub.info.connectionString, caCertificate: suite.caPem };
  });
  afterAll(async () => {
    await suite.server?.stop();
    await suite.hub?.stop();
  });
  return suite;
}
