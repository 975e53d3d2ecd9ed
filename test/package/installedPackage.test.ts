import { execFile, spawn, type ChildProcess } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  watch,
  writeFileSync,
} from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { connect as tlsConnect } from "node:tls";
import { EXIT_PORT_IN_USE } from "../../local-hub/errors/startError";
import { EXIT_WITH_STDIN_ENV, HUB_INFO_FILE, type HubInfo } from "../../local-hub/stateDir";
import { hubRegistry } from "../support/suiteHub";

/**
 * The local hub as its users get it: `npm pack` of the iothub-local workspace, installed with `npm install
 * <tarball>` into an empty project that has nothing else, then run there with `npx iothub-local`. The install
 * compiles better-sqlite3 from source where no prebuilt binary can be downloaded (1-2 minutes on 2 cores): the
 * suite packs and installs once, and every test uses that one install.
 */

const PROJECT_ROOT = resolve(__dirname, "../..");
const PACKAGE_DIR = join(PROJECT_ROOT, "local-hub");
const INSTALL_TIMEOUT_MS = 15 * 60 * 1000;

/** What only the provisioner needs: none of it may come with the hub. */
const PROVISIONER_ONLY = ["tsx", "typescript", "@pulumi", "pulumi", "ts-jest", "jest", "zod", "js-yaml"];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment of a user's shell: without the npm_* settings and node_modules/.bin entries that `npm run jest`
 * adds for this checkout (they would let the child find the checkout's packages and settings).
 */
function userEnvironment(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key) && key !== "INIT_CWD" && key !== "NODE_OPTIONS") env[key] = value;
  }
  env.PATH = (process.env.PATH ?? "")
    .split(delimiter)
    .filter((entry) => !entry.includes("node_modules"))
    .join(delimiter);
  return { ...env, ...extra };
}

function run(command: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((resolveRun) => {
    execFile(
      command,
      args,
      { cwd, env: userEnvironment(), maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolveRun({ code, stdout, stderr });
      },
    );
  });
}

async function runOk(command: string, args: string[], cwd: string): Promise<string> {
  const result = await run(command, args, cwd);
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} exited ${result.code}:\n${result.stderr}\n${result.stdout}`,
    );
  }
  return result.stdout;
}

let workDir: string;
let appDir: string;
let tarballFiles: string[];

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), "iothub-local-package-"));
  appDir = join(workDir, "app");
  mkdirSync(appDir);
  writeFileSync(
    join(appDir, "package.json"),
    JSON.stringify({ name: "app", version: "1.0.0", private: true }),
  );
  // prepack builds dist/ (tsc) first; --json names the tarball and lists what it holds.
  const packed = JSON.parse(
    await runOk("npm", ["pack", "--json", "--pack-destination", workDir], PACKAGE_DIR),
  ) as { filename: string; files: { path: string }[] }[];
  tarballFiles = packed[0].files.map((file) => file.path);
  await runOk(
    "npm",
    ["install", join(workDir, packed[0].filename), "--prefer-offline", "--no-audit", "--no-fund"],
    appDir,
  );
}, INSTALL_TIMEOUT_MS);

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

const npx = (...args: string[]): Promise<Run> =>
  run("npx", ["--no-install", "iothub-local", ...args], appDir);

describe("the iothub-local package", () => {
  it("holds the compiled hub and the lib/iothub and lib/dps code it imports, in the checkout's layout, and no TypeScript", () => {
    expect(tarballFiles).toContain("dist/bin/iothub-local.js");
    expect(tarballFiles).toContain("dist/local-hub/cli.js");
    expect(tarballFiles).toContain("dist/lib/iothub/sas.js");
    expect(tarballFiles).toContain("dist/lib/dps/deviceKey.js");
    // lib/dps/serviceClient.ts needs azure-iot-provisioning-service, which the hub neither imports nor depends on.
    expect(tarballFiles).not.toContain("dist/lib/dps/serviceClient.js");
    const outside = tarballFiles.filter(
      (file) =>
        !/^dist\/(bin|local-hub|lib\/iothub|lib\/dps)\/.+\.js$/.test(file) &&
        !["package.json", "README.md"].includes(file),
    );
    expect(outside).toEqual([]);
  });

  it("installs into an empty project with the hub's own dependencies only: no Pulumi, TypeScript or tsx", () => {
    const installed = readdirSync(join(appDir, "node_modules"));
    expect(installed).toContain("iothub-local");
    expect(installed).toContain("better-sqlite3");
    expect(PROVISIONER_ONLY.filter((name) => installed.includes(name))).toEqual([]);
  });

  it("resolves every package the compiled hub requires from the install", async () => {
    const root = join(appDir, "node_modules", "iothub-local");
    const required = new Set<string>();
    // The bin's one bare require (tsx) is on its checkout-only branch; the --version test runs the bin itself.
    const modules = tarballFiles.filter((path) => path.endsWith(".js") && !path.startsWith("dist/bin/"));
    for (const file of modules) {
      const text = readFileSync(join(root, file), "utf8");
      for (const match of text.matchAll(/require\("([^".][^"]*)"\)/g)) {
        if (!match[1].startsWith("node:")) required.add(match[1]);
      }
    }
    expect(required.size).toBeGreaterThan(0);
    const script = `for (const name of ${JSON.stringify([...required])}) require.resolve(name, { paths: [${JSON.stringify(root)}] });`;
    const resolved = await run(process.execPath, ["-e", script], appDir);
    expect(resolved.stderr).toBe("");
    expect(resolved.code).toBe(0);
  });

  it("npx iothub-local --version prints the package's version", async () => {
    const { version } = JSON.parse(readFileSync(join(PACKAGE_DIR, "package.json"), "utf8")) as {
      version: string;
    };
    const result = await npx("--version");
    expect(result).toMatchObject({ code: 0, stdout: `${version}\n` });
  });
});

/** A hub started with the installed package's `npx iothub-local start`, attached (its stdin closing stops it). */
interface InstalledHub {
  child: ChildProcess;
  info: HubInfo;
  exited: Promise<number | null>;
}

function startInstalledHub(stateDir: string, host: string): Promise<InstalledHub | "address in use"> {
  const child = spawn(
    "npx",
    ["--no-install", "iothub-local", "start", "--state", stateDir, "--host", host, "--mqtt-port", "0"],
    { cwd: appDir, env: userEnvironment({ [EXIT_WITH_STDIN_ENV]: "1" }), stdio: ["pipe", "pipe", "pipe"] },
  );
  const output: string[] = [];
  const exited = new Promise<number | null>((resolveExit) => child.once("exit", resolveExit));
  child.stderr!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  return new Promise((resolveStart, rejectStart) => {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      output.push(line);
      // The hub prints its ready line, then writes hub.json: wait for the file once the line is there.
      if (!/\bready\b/.test(line)) return;
      void hubInfoWritten(stateDir).then((info) => resolveStart({ child, info, exited }), rejectStart);
    });
    void exited.then((code) => {
      if (code === EXIT_PORT_IN_USE) resolveStart("address in use");
      else rejectStart(new Error(`npx iothub-local start exited ${code}:\n${output.join("\n")}`));
    });
  });
}

/** hub.json of `stateDir`, as soon as it has been written (it is written atomically: renamed into place). */
function hubInfoWritten(stateDir: string): Promise<HubInfo> {
  const file = join(stateDir, HUB_INFO_FILE);
  return new Promise((resolveInfo, rejectInfo) => {
    const watcher = watch(stateDir);
    const look = (): void => {
      if (!existsSync(file)) return;
      watcher.close();
      try {
        resolveInfo(JSON.parse(readFileSync(file, "utf8")) as HubInfo);
      } catch (error) {
        rejectInfo(error);
      }
    };
    watcher.on("change", look);
    look();
  });
}

describe("npx iothub-local start, in the project the package was installed into", () => {
  let stateDir: string;
  let hub: InstalledHub;

  beforeAll(async () => {
    stateDir = join(workDir, "state");
    for (let attempt = 0; attempt < 20 && !hub; attempt++) {
      const host = `127.0.0.${2 + Math.floor(Math.random() * 252)}`;
      const started = await startInstalledHub(stateDir, host);
      if (started !== "address in use") hub = started;
    }
    if (!hub) throw new Error("no free loopback address for the installed hub in 20 tries");
  }, 120_000);

  afterAll(async () => {
    if (hub && hub.child.exitCode === null) {
      hub.child.stdin!.end();
      await hub.exited;
    }
  });

  it("makes a CA of its own and serves HTTPS with a certificate that CA signed", async () => {
    const ca = readFileSync(hub.info.caFile, "utf8");
    expect(hub.info.caFile).toBe(join(stateDir, "ca.pem"));
    const status = await new Promise<number | undefined>((resolveStatus, rejectStatus) => {
      const req = request(
        {
          host: hub.info.host,
          port: hub.info.httpsPort,
          servername: hub.info.hostName,
          path: "/devices/?api-version=2021-04-12",
          ca,
        },
        (res) => {
          res.resume();
          resolveStatus(res.statusCode);
        },
      );
      req.once("error", rejectStatus);
      req.end();
    });
    // Trusted and answered: a request without a SAS token is IoT Hub's 401, not a TLS failure.
    expect(status).toBe(401);
  });

  it("serves MQTT over TLS with the same CA", async () => {
    const ca = readFileSync(hub.info.caFile, "utf8");
    const authorized = await new Promise<boolean>((resolveTls, rejectTls) => {
      const socket = tlsConnect({
        host: hub.info.host,
        port: hub.info.mqttPort,
        servername: hub.info.hostName,
        ca,
      });
      socket.once("secureConnect", () => {
        resolveTls(socket.authorized);
        socket.destroy();
      });
      socket.once("error", rejectTls);
    });
    expect(authorized).toBe(true);
  });

  it("creates and reads a device through the service SDK with hub.json's connection string", async () => {
    const registry = hubRegistry(hub.info);
    await registry.create({ deviceId: "packaged-device" });
    const { responseBody } = await registry.get("packaged-device");
    expect(responseBody.deviceId).toBe("packaged-device");
    expect(responseBody.authentication?.symmetricKey?.primaryKey).toBeTruthy();
  });

  it("runs the CLI's policy commands against the running hub", async () => {
    const added = await npx("policy", "add", "packaged", "--rights", "RegistryRead", "--state", stateDir);
    expect(added.code).toBe(0);
    const registry = hubRegistry(hub.info, added.stdout.trim());
    const { responseBody } = await registry.get("packaged-device");
    expect(responseBody.deviceId).toBe("packaged-device");
    const listed = await npx("policy", "list", "--state", stateDir);
    expect(listed.stdout).toContain("packaged\tRegistryRead");
  });

  it("npx iothub-local stop stops it: the hub exits 0 and removes hub.json", async () => {
    const stopped = await npx("stop", "--state", stateDir);
    expect(stopped).toMatchObject({ code: 0, stdout: "stopped\n" });
    expect(await hub.exited).toBe(0);
    expect(existsSync(join(stateDir, HUB_INFO_FILE))).toBe(false);
  });
});
