import { Registry } from "azure-iothub";
import { startHub, type StartHubOptions, type TestHub } from "./hubProcess";

/** One hub for a suite (or a describe block) and a service-SDK registry on it, filled in by beforeAll. */
export interface SuiteHub {
  hub: TestHub;
  registry: Registry;
}

/**
 * Starts a hub before the tests of the calling suite or describe block and stops it after them. Read `hub` and
 * `registry` inside tests and hooks (they are set once beforeAll has run).
 */
export function useSuiteHub(options: StartHubOptions = {}): SuiteHub {
  const suite = {} as SuiteHub;
  beforeAll(async () => {
    suite.hub = await startHub(options);
    suite.registry = Registry.fromConnectionString(suite.hub.info.connectionString);
  });
  afterAll(async () => {
    await suite.hub?.stop();
  });
  return suite;
}
