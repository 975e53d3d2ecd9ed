import { chmodSync, existsSync, mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli, startHub } from "../support/hubProcess";

/** The state dir holds every policy and device key in clear: nobody but its owner may read any of it. */

const permissions = (path: string): number => statSync(path).mode & 0o777;

describe("state dir permissions", () => {
  it("a running hub's state dir is 0700 and hub.db, -wal and -shm are 0600, also after a restart loosened them", async () => {
    const hub = await startHub();
    try {
      const files = ["hub.db", "hub.db-wal", "hub.db-shm"].map((name) => join(hub.stateDir, name));
      expect(permissions(hub.stateDir)).toBe(0o700);
      for (const file of files) expect([file, permissions(file)]).toEqual([file, 0o600]);

      // A state dir made by an older version (umask 022) is tightened on the next start. kill -9 leaves -wal and
      // -shm behind (a clean stop may remove them), so the loosened ones are there when the hub opens hub.db again.
      await hub.kill();
      chmodSync(hub.stateDir, 0o755);
      for (const file of files) if (existsSync(file)) chmodSync(file, 0o644);
      expect(permissions(join(hub.stateDir, "hub.db"))).toBe(0o644);
      await hub.restart();
      expect(permissions(hub.stateDir)).toBe(0o700);
      for (const file of files) expect([file, permissions(file)]).toEqual([file, 0o600]);
    } finally {
      await hub.stop();
    }
  });

  it("the CLI creates a new state dir 0700 and its hub.db 0600", async () => {
    const stateDir = join(mkdtempSync(join(tmpdir(), "iothub-local-perm-")), "new-state");
    const added = await runCli(["policy", "add", "ops", "--rights", "RegistryRead", "--state", stateDir]);
    expect(added).toMatchObject({ code: 0 });
    expect(permissions(stateDir)).toBe(0o700);
    expect(permissions(join(stateDir, "hub.db"))).toBe(0o600);
  });
});
