import { spawn } from "node:child_process";
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { collectOutput, HUB_CLI, hubStartArgs, PROJECT_ROOT, runCli, startHub } from "../support/hubProcess";

/**
 * The privileged-port error as a user without privilege meets it, on any machine the suite runs on. A contributor
 * runs the suite with a node that may bind 443 (`setcap cap_net_bind_service=+ep`, the README's setup) or as root;
 * the hub under test runs from a copy of that node, which carries no file capability (copying drops them), as this
 * user, or as nobody when this user is root (root binds any port). Where `ip_unprivileged_port_start` is at most
 * 443, every process may bind 443: then the check is that the hub starts that way.
 */
const unprivilegedPortStart = Number(
  readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8").trim(),
);
const unprivilegedMayBind443 = unprivilegedPortStart <= 443;
const NOBODY = 65534;
const runsAsRoot = process.getuid?.() === 0;
const unprivilegedUser = runsAsRoot ? "as nobody" : "as this user";

/** A copy of this node in a directory of its own (readable by nobody), without the original's capabilities. */
function capabilityFreeNode(): { path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "iothub-local-node-"));
  chmodSync(dir, 0o755);
  const path = join(dir, "node");
  copyFileSync(process.execPath, path);
  chmodSync(path, 0o755);
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Runs `node args` without privilege (see capabilityFreeNode). A hub that starts is stopped at its ready line;
 * resolves with the exit code, stderr and whether the ready line was printed.
 */
function runUnprivileged(
  node: string,
  args: string[],
): Promise<{ code: number | null; stderr: string; readyLine: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(node, args, {
      cwd: PROJECT_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      ...(runsAsRoot ? { uid: NOBODY, gid: NOBODY } : {}),
    });
    let stderr = "";
    let readyLine = false;
    child.stdout.on("data", (chunk: Buffer) => {
      if (!readyLine && /\bready\b/.test(chunk.toString())) {
        readyLine = true;
        child.kill("SIGTERM");
      }
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stderr, readyLine }));
  });
}

/** `iothub-local start`/`stop`: hub.json's contract, clean shutdown, and the errors a user can act on. */
describe("iothub-local start and stop", () => {
  it("writes hub.json with the contract's keys, and SIGTERM removes it and exits 0", async () => {
    const hub = await startHub();
    try {
      expect(Object.keys(hub.info).slice(0, 5)).toEqual([
        "hostName",
        "connectionString",
        "caFile",
        "httpsPort",
        "mqttPort",
      ]);
      expect(hub.info).toMatchObject({
        hostName: hub.host,
        httpsPort: 443,
        host: hub.host,
        stateDir: hub.stateDir,
      });
      expect(hub.info.connectionString).toMatch(
        new RegExp(
          `^HostName=${hub.host.replace(/\./g, "\\.")};SharedAccessKeyName=iothubowner;SharedAccessKey=.+=$`,
        ),
      );
      expect(hub.info.mqttPort).toBeGreaterThan(0);
      expect(hub.output()).toMatch(/ready/);
    } finally {
      expect(await hub.stop()).toBe(0);
    }
    expect(existsSync(join(hub.stateDir, "hub.json"))).toBe(false);
  });

  it("`iothub-local stop` stops the hub of a state dir and waits for its exit", async () => {
    const hub = await startHub();
    const stopped = await hub.cli("stop");
    expect(stopped).toMatchObject({ code: 0, stdout: "stopped\n" });
    expect(existsSync(join(hub.stateDir, "hub.json"))).toBe(false);
    expect(await hub.stop()).toBe(0); // already exited: resolves with its exit code
    expect(await hub.cli("stop")).toMatchObject({ code: 0, stdout: "no hub running for this state dir\n" });
  });

  it("exits 3 with a clear error when the address is already in use", async () => {
    const hub = await startHub();
    try {
      const stateDir = mkdtempSync(join(tmpdir(), "iothub-local-busy-"));
      const second = await runCli(["start", "--state", stateDir, "--host", hub.host, "--mqtt-port", "0"]);
      expect(second.code).toBe(3);
      expect(second.stderr).toMatch(
        new RegExp(`${hub.host.replace(/\./g, "\\.")}:443: the address is in use`),
      );
      expect(existsSync(join(stateDir, "hub.json"))).toBe(false);
    } finally {
      await hub.stop();
    }
  });

  it("refuses a second hub on a state dir in use; after kill -9, stop finds no hub and start works again", async () => {
    const hub = await startHub();
    try {
      const second = await hub.cli("start", "--host", "127.0.0.1", "--mqtt-port", "0", "--https-port", "0");
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(new RegExp(`a hub \\(pid ${hub.info.pid}\\) already runs on`));

      await hub.kill();
      expect(existsSync(join(hub.stateDir, "hub.json"))).toBe(true); // a crash leaves it behind
      expect(await hub.cli("stop")).toMatchObject({ code: 0, stdout: "no hub running for this state dir\n" });
      await hub.restart();
    } finally {
      await hub.stop();
    }
  });

  it(`${unprivilegedMayBind443 ? "binds 443" : "exits 2 naming the three fixes"} when node holds no privilege (${unprivilegedUser}, ip_unprivileged_port_start=${unprivilegedPortStart})`, async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "iothub-local-unprivileged-"));
    // The hub refuses a state dir that is not its user's own and private (0700): nobody gets one of its own.
    if (runsAsRoot) chownSync(stateDir, NOBODY, NOBODY);
    const node = capabilityFreeNode();
    try {
      const host = `127.0.0.${2 + Math.floor(Math.random() * 252)}`; // where a started hub disturbs no other
      const result = await runUnprivileged(node.path, [HUB_CLI, ...hubStartArgs(stateDir, host)]);
      if (unprivilegedMayBind443) {
        // The third fix is in place on this machine: the hub starts without any privilege.
        expect(result).toMatchObject({ code: 0, readyLine: true });
      } else {
        expect(result.code).toBe(2);
        expect(result.stderr).toMatch(/run the hub as root/);
        expect(result.stderr).toMatch(/setcap cap_net_bind_service=\+ep/);
        expect(result.stderr).toMatch(/sysctl net\.ipv4\.ip_unprivileged_port_start=443/);
      }
      expect(existsSync(join(stateDir, "hub.json"))).toBe(false);
    } finally {
      node.remove();
    }
  });

  it("rejects bad flags with an error naming the flag", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "iothub-local-flags-"));
    const badPort = await runCli(["start", "--state", stateDir, "--https-port", "http"]);
    expect(badPort.code).not.toBe(0);
    expect(badPort.stderr).toMatch(/--https-port: 'http' must be a port number/);
    const badQuota = await runCli(["start", "--state", stateDir, "--quota", "S9"]);
    expect(badQuota.stderr).toMatch(/quota: 'S9'/);
    const badFault = await runCli(["start", "--state", stateDir, "--fault", "registry"]);
    expect(badFault.stderr).toMatch(/KIND:MODE/);
  });
});

/**
 * hub.json decides which process `stop` signals. A hub killed with -9 leaves it behind and its pid may be taken
 * by anything; a hub.json no hub wrote must not name a process (group) to signal.
 */
describe("iothub-local and a hub.json no running hub wrote", () => {
  const freshStateDir = (): string => mkdtempSync(join(tmpdir(), "iothub-local-stale-"));

  function hubJson(stateDir: string, fields: Record<string, unknown>): string {
    const text = JSON.stringify({
      hostName: "localhost",
      connectionString: "HostName=localhost;SharedAccessKeyName=iothubowner;SharedAccessKey=x",
      caFile: join(stateDir, "ca.pem"),
      httpsPort: 443,
      mqttPort: 8883,
      host: "127.0.0.1",
      pid: 1,
      stateDir,
      ...fields,
    });
    writeFileSync(join(stateDir, "hub.json"), text, { mode: 0o600 });
    return text;
  }

  /**
   * The CLI in a process group of its own: were a hub.json's pid 0 ever signalled, only that group would get it. A
   * hub started by mistake exits at once (its stdin is closed).
   */
  function runInOwnProcessGroup(
    args: string[],
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return collectOutput(
      spawn(process.execPath, [HUB_CLI, ...args], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, IOTHUB_LOCAL_EXIT_WITH_STDIN: "1" },
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
      }),
    );
  }

  it("stop never signals a live process whose command line only mentions iothub-local (e.g. tail -f of hub.log)", async () => {
    const stateDir = freshStateDir();
    // What could hold a dead hub's pid: a process whose arguments name the state dir's files.
    const bystander = spawn(process.execPath, [
      "-e",
      "setInterval(() => {}, 1 << 30)",
      join(stateDir, "hub.log"),
    ]);
    const died = new Promise<NodeJS.Signals | null>((resolve) =>
      bystander.once("exit", (_code, signal) => resolve(signal)),
    );
    await new Promise((resolve) => bystander.once("spawn", resolve));
    hubJson(stateDir, { pid: bystander.pid });

    expect(await runCli(["stop", "--state", stateDir])).toMatchObject({
      code: 0,
      stdout: "no hub running for this state dir\n",
    });
    bystander.kill("SIGKILL");
    expect(await died).toBe("SIGKILL"); // not the SIGTERM a stop would have sent
  });

  it.each([
    // (-1, every process this user may signal, is the same rule: not risked on a shared machine)
    ["pid 0 (the process group)", { pid: 0 }, "pid: must be a positive whole number"],
    ["a pid in a string", { pid: "4242" }, "pid: must be a positive whole number"],
    ["a port out of range", { mqttPort: 70000 }, "mqttPort: must be a port number (1-65535)"],
    [
      "an Entra authority that is not https",
      { entra: { authorityHost: "http://localhost:8080", tenantId: "t" } },
      "entra.authorityHost: must be an https URL of a host (and port)",
    ],
    [
      "a disableLocalAuth that is no boolean",
      { disableLocalAuth: "yes" },
      "disableLocalAuth: must be true or false",
    ],
  ])(
    "stop and start refuse hub.json with %s, naming the field and rule, and change nothing",
    async (_, fields, rule) => {
      const stateDir = freshStateDir();
      const written = hubJson(stateDir, fields);
      const commands = [["stop"], ["start", "--host", "127.0.0.1", "--https-port", "0", "--mqtt-port", "0"]];
      for (const [command, ...flags] of commands) {
        const result = await runInOwnProcessGroup([command, "--state", stateDir, ...flags]);
        expect([command, result.code, result.stdout]).toEqual([command, 1, ""]);
        expect(result.stderr).toContain(
          `iothub-local: ${join(stateDir, "hub.json")} is not a valid hub.json (${rule}); if no hub runs on ${stateDir}, remove it`,
        );
        expect(readFileSync(join(stateDir, "hub.json"), "utf8")).toBe(written);
      }
    },
  );

  it("refuses hub.json that is not JSON the same way", async () => {
    const stateDir = freshStateDir();
    writeFileSync(join(stateDir, "hub.json"), "{ not json", { mode: 0o600 });
    const result = await runCli(["stop", "--state", stateDir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("is not a valid hub.json (hub.json: must be a JSON object)");
  });
});
