/**
 * A local hub for the program's end-to-end test: in a child process, on a fresh state dir seeded with the suite
 * CA (so the service SDK, trusting NODE_EXTRA_CA_CERTS, trusts it), on a loopback address of its own with MQTT on
 * a free port. Resolves when hub.json is written.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, watch } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROJECT_DIR } from "./runProgram";

export interface TestHub {
  stateDir: string;
  hostName: string;
  /** The owner policy's connection string (hub.json): the test's own view of the registry. */
  connectionString: string;
  stop(): Promise<void>;
}

const HUB_CLI = path.join(PROJECT_DIR, "bin", "iothub-local.js");

function hubJson(stateDir: string): { hostName: string; connectionString: string; pid: number } | undefined {
  const file = path.join(stateDir, "hub.json");
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
}

function startOnce(host: string): Promise<{ child: ChildProcess; stateDir: string } | "address-in-use"> {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), "program-e2e-hub-"));
  const suiteCa = path.join(PROJECT_DIR, ".iothub-local-test");
  copyFileSync(path.join(suiteCa, "ca.pem"), path.join(stateDir, "ca.pem"));
  copyFileSync(path.join(suiteCa, "ca-key.pem"), path.join(stateDir, "ca-key.pem"));
  const child = spawn(
    process.execPath,
    [HUB_CLI, "start", "--state", stateDir, "--host", host, "--mqtt-port", "0"],
    {
      cwd: PROJECT_DIR,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  return new Promise((resolve, reject) => {
    const watcher = watch(stateDir, () => ready());
    function ready(): void {
      const info = hubJson(stateDir);
      if (info && info.pid === child.pid) {
        watcher.close();
        child.removeAllListeners("exit");
        resolve({ child, stateDir });
      }
    }
    child.once("exit", (code) => {
      watcher.close();
      rmSync(stateDir, { recursive: true, force: true });
      if (code === 3) resolve("address-in-use");
      else reject(new Error(`local hub exited with ${code}: ${output}`));
    });
    ready();
  });
}

export async function startTestHub(): Promise<TestHub> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const host = `127.0.0.${2 + Math.floor(Math.random() * 250)}`;
    const started = await startOnce(host);
    if (started === "address-in-use") continue;
    const { child, stateDir } = started;
    const info = hubJson(stateDir)!;
    return {
      stateDir,
      hostName: info.hostName,
      connectionString: info.connectionString,
      async stop() {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((resolve) => child.once("exit", resolve));
          child.kill("SIGTERM");
          await exited;
        }
        rmSync(stateDir, { recursive: true, force: true });
      },
    };
  }
  throw new Error("no free loopback address for a test hub");
}
