import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startProviderServer, type ProviderServer } from "../support/providerServer";
import { serializeProgramProviders } from "./support/deployment";
import { PROJECT_DIR } from "./support/runProgram";

/**
 * The local target's policy resource where there is no hub to put it in: its provider (served by the real
 * dynamic-provider server, as the engine runs it) must fail with how to start the hub, and create nothing.
 */
describe("the local hub policy without a running local hub", () => {
  let server: ProviderServer;
  let provider: string;
  let stateDir: string;

  beforeAll(async () => {
    server = await startProviderServer();
    provider = serializeProgramProviders().LocalHubPolicy;
  });
  afterAll(async () => server?.stop());
  beforeEach(() => {
    stateDir = mkdtempSync(path.join(os.tmpdir(), "program-nohub-"));
  });
  afterEach(() => rmSync(stateDir, { recursive: true, force: true }));

  const inputs = () => ({
    stateDir,
    policyName: "provisioner",
    rights: "RegistryWrite,ServiceConnect",
    hubCli: path.join(PROJECT_DIR, "bin", "iothub-local.js"),
  });

  function policyList(): string {
    return spawnSync(process.execPath, ["bin/iothub-local.js", "policy", "list", "--state", stateDir], {
      cwd: PROJECT_DIR,
      encoding: "utf8",
    }).stdout;
  }

  it("fails when the state dir has no hub.json, naming the command that starts the hub", async () => {
    await expect(server.create(provider, inputs())).rejects.toThrow(
      `The local IoT Hub is not running: ${path.join(stateDir, "hub.json")} does not exist. ` +
        `Start it with \`npm run hub -- --state ${stateDir}\``,
    );
  });

  it("fails when hub.json names a process that has exited (a hub that died), and adds no policy", async () => {
    const child = spawn(process.execPath, ["-e", ""]);
    const deadPid = child.pid!;
    await new Promise((resolve) => child.once("exit", resolve));
    writeFileSync(
      path.join(stateDir, "hub.json"),
      JSON.stringify({
        hostName: "localhost",
        caFile: path.join(stateDir, "ca.pem"),
        mqttPort: 8883,
        pid: deadPid,
      }),
    );
    await expect(server.create(provider, inputs())).rejects.toThrow(
      `names process ${deadPid}, which has exited. Start it with \`npm run hub -- --state ${stateDir}\``,
    );
    expect(policyList()).not.toContain("provisioner");
  });
});
