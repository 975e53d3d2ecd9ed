import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { TelemetryTap, telemetryTapPath } from "../../local-hub/mqtt/telemetryTap";
import { PrivateDirectoryError } from "../../local-hub/privateDirectory";
import { hubInfoPath, launchHub, writeHubInfo, type HubInfo } from "../../local-hub/stateDir";
import { hubStartArgs, runCli, startHub } from "../support/hubProcess";

/**
 * The state dir holds every policy and device key in clear: nobody but its owner may read any of it, nor plant
 * anything in it. A state dir that belongs to someone else or is open to group/other is refused, temp files are
 * created exclusively under random names, and the telemetry tap's socket is its owner's only.
 */

// The module object itself (an ES import is a frozen namespace copy): writeFileAtomic reads randomBytes from it.
const nodeCrypto = require("node:crypto") as typeof import("node:crypto");
const permissions = (path: string): number => statSync(path).mode & 0o777;
const NOBODY = 65534;
const runsAsRoot = process.getuid?.() === 0;
const scratchDir = (): string => mkdtempSync(join(tmpdir(), "iothub-local-perm-"));
/** A loopback address of this test's own: a hub started by mistake collides with nothing. */
const someHost = (): string => `127.0.0.${2 + Math.floor(Math.random() * 252)}`;

describe("state dir permissions", () => {
  it("a running hub's state dir is 0700, hub.db, -wal and -shm 0600 (also after a restart loosened them), the tap socket 0600", async () => {
    const hub = await startHub();
    try {
      const files = ["hub.db", "hub.db-wal", "hub.db-shm"].map((name) => join(hub.stateDir, name));
      expect(permissions(hub.stateDir)).toBe(0o700);
      for (const file of files) expect([file, permissions(file)]).toEqual([file, 0o600]);
      expect(permissions(telemetryTapPath(hub.stateDir))).toBe(0o600);

      // Files made by an older version (umask 022) are tightened on the next start. kill -9 leaves -wal and -shm
      // behind (a clean stop may remove them), so the loosened ones are there when the hub opens hub.db again.
      await hub.kill();
      for (const file of files) if (existsSync(file)) chmodSync(file, 0o644);
      expect(permissions(join(hub.stateDir, "hub.db"))).toBe(0o644);
      await hub.restart();
      for (const file of files) expect([file, permissions(file)]).toEqual([file, 0o600]);
    } finally {
      await hub.stop();
    }
  });

  it("the CLI creates a new state dir 0700 and its hub.db 0600", async () => {
    const stateDir = join(scratchDir(), "new-state");
    const added = await runCli(["policy", "add", "ops", "--rights", "RegistryRead", "--state", stateDir]);
    expect(added).toMatchObject({ code: 0 });
    expect(permissions(stateDir)).toBe(0o700);
    expect(permissions(join(stateDir, "hub.db"))).toBe(0o600);
  });

  it.each([
    ["0750", 0o750],
    ["0705", 0o705],
    ["0777", 0o777],
  ])(
    "refuses at start a state dir of mode %s (open to group/other): names the dir, its mode and chmod 700; changes nothing",
    async (octal, mode) => {
      const stateDir = scratchDir();
      chmodSync(stateDir, mode);
      const started = await runCli(hubStartArgs(stateDir, someHost()));
      expect(started.code).toBe(1);
      expect(started.stderr).toContain(`state dir ${stateDir} is refused`);
      expect(started.stderr).toContain(`its mode ${octal} opens it to group/other`);
      expect(started.stderr).toContain(`chmod 700 ${stateDir}`);
      expect(readdirSync(stateDir)).toEqual([]); // no CA, no hub.db, no hub.json
      expect(permissions(stateDir)).toBe(mode); // refused, not silently tightened
    },
  );

  it("refuses such a state dir for the other commands and for launchHub (npm run local) alike", async () => {
    const stateDir = scratchDir();
    chmodSync(stateDir, 0o755);
    const added = await runCli(["policy", "add", "ops", "--rights", "RegistryRead", "--state", stateDir]);
    expect(added.code).toBe(1);
    expect(added.stderr).toContain(`chmod 700 ${stateDir}`);
    expect(() => launchHub({ stateDir, detached: true })).toThrow(PrivateDirectoryError);
    expect(readdirSync(stateDir)).toEqual([]); // not even hub.log
  });

  it(`refuses at start a state dir owned by another user (${runsAsRoot ? "as root: one chowned to nobody" : "needs root to chown one; as this user: /, which root owns"})`, async () => {
    let stateDir = "/";
    let owner = 0;
    if (runsAsRoot) {
      stateDir = scratchDir();
      chownSync(stateDir, NOBODY, NOBODY);
      owner = NOBODY;
    }
    const started = await runCli(hubStartArgs(stateDir, someHost()));
    expect(started.code).toBe(1);
    expect(started.stderr).toContain(`state dir ${stateDir} is refused`);
    expect(started.stderr).toContain(
      `it belongs to uid ${owner}, not to this user (uid ${process.getuid!()})`,
    );
    if (runsAsRoot) expect(readdirSync(stateDir)).toEqual([]);
  });
});

describe("hub.json is written through an exclusive temp file with a random name", () => {
  const info: HubInfo = {
    hostName: "localhost",
    connectionString: "HostName=localhost;SharedAccessKeyName=iothubowner;SharedAccessKey=a2V5",
    caFile: "/state/ca.pem",
    httpsPort: 443,
    mqttPort: 8883,
    host: "127.0.0.1",
    pid: 4242,
    stateDir: "/state",
  };
  /** A state dir with a file someone wants overwritten, and hub.json's path in it. */
  function plantedStateDir(): { stateDir: string; victim: string; hubJson: string } {
    const stateDir = scratchDir();
    const victim = join(scratchDir(), "victim");
    writeFileSync(victim, "untouched\n");
    return { stateDir, victim, hubJson: hubInfoPath(stateDir) };
  }
  afterEach(() => jest.restoreAllMocks());

  it("does not write through a symlink planted at the old predictable temp name (<file>.<pid>.tmp)", () => {
    const { stateDir, victim, hubJson } = plantedStateDir();
    symlinkSync(victim, `${hubJson}.${process.pid}.tmp`);
    writeHubInfo(stateDir, info);
    expect(readFileSync(victim, "utf8")).toBe("untouched\n");
    expect(JSON.parse(readFileSync(hubJson, "utf8"))).toEqual(info);
    expect(permissions(hubJson)).toBe(0o600);
    expect(readlinkSync(`${hubJson}.${process.pid}.tmp`)).toBe(victim); // still the planted link, not hub.json
  });

  it("refuses, changing nothing, when something is planted at the very temp path it drew (O_EXCL, not followed)", () => {
    const { stateDir, victim, hubJson } = plantedStateDir();
    writeHubInfo(stateDir, info);
    // Draw a known name once, as if it had been guessed: 96 random bits make that impossible otherwise.
    const drawn = Buffer.alloc(12, 0xab);
    jest.spyOn(nodeCrypto, "randomBytes").mockImplementationOnce(() => drawn);
    const planted = `${hubJson}.${drawn.toString("hex")}.tmp`;
    symlinkSync(victim, planted);
    expect(() => writeHubInfo(stateDir, { ...info, pid: 99 })).toThrow(/EEXIST/);
    expect(readFileSync(victim, "utf8")).toBe("untouched\n");
    expect(JSON.parse(readFileSync(hubJson, "utf8"))).toEqual(info);
    expect(readlinkSync(planted)).toBe(victim);
  });

  it("draws a new temp name for every write and leaves none behind", () => {
    const { stateDir, hubJson } = plantedStateDir();
    const names: string[] = [];
    const randomBytes = jest.spyOn(nodeCrypto, "randomBytes");
    for (let pid = 1; pid <= 3; pid++) writeHubInfo(stateDir, { ...info, pid });
    for (const result of randomBytes.mock.results) names.push((result.value as Buffer).toString("hex"));
    expect(new Set(names).size).toBe(3);
    expect(readdirSync(stateDir)).toEqual(["hub.json"]);
    expect(JSON.parse(readFileSync(hubJson, "utf8"))).toMatchObject({ pid: 3 });
  });
});

describe("the telemetry tap's socket", () => {
  it("is 0600 in a private dir of its own under the temp dir when the state dir's path is too long", async () => {
    const stateDir = join(scratchDir(), "a-state-dir-whose-path-is-too-long-for-a-unix-socket".repeat(2));
    const path = telemetryTapPath(stateDir);
    expect(path.startsWith(tmpdir())).toBe(true);
    const tap = await TelemetryTap.open(path);
    try {
      expect(permissions(path)).toBe(0o600);
      expect(permissions(dirname(path))).toBe(0o700);
    } finally {
      await tap.close();
    }
  });

  it("refuses a tap dir under the temp dir that is open to group/other (planted ahead of the hub)", async () => {
    const stateDir = join(
      scratchDir(),
      "another-state-dir-whose-path-is-too-long-for-a-unix-socket".repeat(2),
    );
    const path = telemetryTapPath(stateDir);
    mkdirSync(dirname(path), { mode: 0o700 });
    chmodSync(dirname(path), 0o777);
    await expect(TelemetryTap.open(path)).rejects.toThrow(
      `the telemetry tap's directory ${dirname(path)} is refused`,
    );
    expect(readdirSync(dirname(path))).toEqual([]);
  });
});
