import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startProviderServer, type ProviderServer } from "../support/providerServer";
import { serializeProgramProviders } from "./support/deployment";
import { PROJECT_DIR } from "./support/runProgram";

/**
 * The local target's policy resource where there is no hub to put it in: its provider (served by the real
 * dynamic-provider server, as the engine runs it) must fail with how to start the hub, and create nothing.
 */
describe("the local hub policy resource, through the real provider server", () => {
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

  it("with a hub's state: adds the policy, refuses to take over an existing one, reads it back, and deletes idempotently", async () => {
    // hub.json as a running hub writes it (this test process stands in for the hub's pid); the CLI's policy
    // commands write hub.db directly, so no hub process is needed to see what the provider does to the policies.
    const caFile = path.join(PROJECT_DIR, ".iothub-local-test", "ca.pem");
    writeFileSync(
      path.join(stateDir, "hub.json"),
      JSON.stringify({ hostName: "127.0.0.9", caFile, mqttPort: 18883, pid: process.pid }),
    );
    const created = await server.create(provider, inputs());
    expect(created.id).toBe(`${stateDir}#provisioner`);
    expect(created.outs).toMatchObject({
      hostName: "127.0.0.9",
      caFile,
      caCertificate: readFileSync(caFile, "utf8"),
      gatewayHostName: "127.0.0.9:18883",
    });
    expect(String(created.outs.serviceConnectionString)).toMatch(
      /^HostName=127\.0\.0\.9;SharedAccessKeyName=provisioner;SharedAccessKey=[A-Za-z0-9+/]{43}=$/,
    );
    expect(policyList()).toMatch(/^provisioner\s+RegistryWrite,ServiceConnect$/m);

    await expect(server.create(provider, inputs())).rejects.toThrow(
      "iothub-local policy add provisioner failed: iothub-local: policy 'provisioner' already exists. Remove it with",
    );

    expect(await server.read(provider, created.id, created.outs)).toEqual({
      id: created.id,
      props: created.outs,
    });

    await server.delete(provider, created.id, created.outs);
    expect(policyList()).not.toContain("provisioner");
    // refresh after the policy is gone (a wiped or replaced hub): the resource is reported gone
    expect((await server.read(provider, created.id, created.outs)).id).toBe("");
    await expect(server.delete(provider, created.id, created.outs)).resolves.toBeUndefined();
  });

  it("asks for a replacement when the state dir, policy name or rights change, not when the CLI moved", async () => {
    const olds = {
      ...inputs(),
      hostName: "h",
      serviceConnectionString: "x",
      caFile: "c",
      caCertificate: "p",
    };
    expect(await server.diff(provider, "id", olds, { ...inputs(), policyName: "other" })).toMatchObject({
      changes: "some",
      replaces: ["policyName"],
      deleteBeforeReplace: true,
    });
    expect(
      await server.diff(provider, "id", olds, { ...inputs(), hubCli: "/elsewhere/bin/iothub-local.js" }),
    ).toMatchObject({
      changes: "some",
      replaces: [],
    });
    expect(await server.diff(provider, "id", olds, inputs())).toMatchObject({
      changes: "none",
      replaces: [],
    });
  });
});
