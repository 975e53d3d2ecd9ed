import { execFileSync, spawn } from "node:child_process";
import { join } from "node:path";
import { HUB_CLI, PROJECT_ROOT, startHub, SUITE_CA_DIR, type TestHub } from "../../test/support/hubProcess";

/**
 * Makes the suite CA (as `npm run jest` does) and reports whether this process already trusts it. The service SDK
 * trusts the hub's CA only through NODE_EXTRA_CA_CERTS, read once at start: when it is missing, this runs the same
 * bench again in a child process with it set, exits with the child's code, and returns false.
 */
export function ensureSuiteCa(): boolean {
  const caFile = join(SUITE_CA_DIR, "ca.pem");
  execFileSync(process.execPath, [HUB_CLI, "ca", "--state", SUITE_CA_DIR], {
    cwd: PROJECT_ROOT,
    stdio: "ignore",
  });
  if (process.env.NODE_EXTRA_CA_CERTS === caFile) return true;
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile },
  });
  child.on("exit", (code) => process.exit(code ?? 1));
  return false;
}

/**
 * Runs a bench against a local hub of its own (a test hub: fresh state dir seeded with the suite CA, own loopback
 * address), stops the hub afterwards, and exits 0, or 1 after printing the error. Open sockets of a failed run
 * never keep the process alive.
 */
export function runWithHub(bench: (hub: TestHub) => Promise<void>): void {
  if (!ensureSuiteCa()) return;
  const run = async (): Promise<void> => {
    const hub = await startHub();
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
