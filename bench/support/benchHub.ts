import { execFileSync } from "node:child_process";
import {
  HUB_CLI,
  PROJECT_ROOT,
  startHub,
  SUITE_CA_DIR,
  type StartHubOptions,
  type TestHub,
} from "../../test/support/hubProcess";

/**
 * Makes the suite CA (as `npm run jest` does): every bench hub is seeded with it, and the benches' service-SDK
 * clients trust it in-process (test/support/suiteHub.ts's hubRegistry), so no NODE_EXTRA_CA_CERTS is needed.
 */
export function ensureSuiteCa(): void {
  execFileSync(process.execPath, [HUB_CLI, "ca", "--state", SUITE_CA_DIR], {
    cwd: PROJECT_ROOT,
    stdio: "ignore",
  });
}

/**
 * Runs a bench against a local hub of its own (a test hub: fresh state dir seeded with the suite CA, own loopback
 * address), stops the hub afterwards, and exits 0, or 1 after printing the error. Open sockets of a failed run
 * never keep the process alive.
 */
export function runWithHub(bench: (hub: TestHub) => Promise<void>, options: StartHubOptions = {}): void {
  ensureSuiteCa();
  const run = async (): Promise<void> => {
    const hub = await startHub(options);
    try {
      await bench(hub);
    } finally {
      await hub.stop();
    }
  };
  run().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
