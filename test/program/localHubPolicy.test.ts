import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { LocalHubPolicy } from "../../components/hub/localHubPolicy";
import { startHub } from "../support/hubProcess";
import { startProviderServer, type ProviderServer } from "../support/providerServer";
import { serializeProgramProviders } from "./support/deployment";
import { PROJECT_DIR } from "./support/runProgram";

/**
 * The local target's policy resource, its provider served by the real dynamic-provider server as the engine runs
 * it: where no hub runs it must fail with how to start one and create nothing; on a running hub it manages the
 * policy with the hub's CLI.
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
    return spawnSync(
      process.execPath,
      ["bin/iothub-local.js", "policy", "list", "-o", "tsv", "--state", stateDir],
      {
        cwd: PROJECT_DIR,
        encoding: "utf8",
      },
    ).stdout;
  }

  /** hub.json as a hub writes it, naming `pid`. */
  function hubJsonNaming(pid: number): string {
    return JSON.stringify({
      hostName: "localhost",
      connectionString: "HostName=localhost;SharedAccessKeyName=iothubowner;SharedAccessKey=x",
      caFile: path.join(stateDir, "ca.pem"),
      httpsPort: 443,
      mqttPort: 8883,
      host: "127.0.0.1",
      pid,
      stateDir,
    });
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
    writeFileSync(path.join(stateDir, "hub.json"), hubJsonNaming(deadPid));
    await expect(server.create(provider, inputs())).rejects.toThrow(
      `names process ${deadPid}, which has exited. Start it with \`npm run hub -- --state ${stateDir}\``,
    );
    expect(policyList()).not.toContain("provisioner");
  });

  it("names a hub.json whose pid is alive but no iothub-local hub (a dead hub's pid taken), and adds no policy", async () => {
    // This test process: alive, and not a hub.
    writeFileSync(path.join(stateDir, "hub.json"), hubJsonNaming(process.pid));
    await expect(server.create(provider, inputs())).rejects.toThrow(
      `The local IoT Hub is not running: ${path.join(stateDir, "hub.json")} names process ${process.pid}, ` +
        `which is not an iothub-local hub. Start it with`,
    );
    expect(readdirSync(stateDir)).toEqual(["hub.json"]); // no hub.db, no policy
  });

  it("refuses a hub.json no hub wrote, naming the field and rule, and adds no policy", async () => {
    writeFileSync(path.join(stateDir, "hub.json"), hubJsonNaming(0));
    await expect(server.create(provider, inputs())).rejects.toThrow(
      `${path.join(stateDir, "hub.json")} is not a valid hub.json (pid: must be a positive whole number)`,
    );
    expect(readdirSync(stateDir)).toEqual(["hub.json"]); // no hub.db, no policy
  });

  it("with a running hub: adds the policy, refuses to take over an existing one, reads it back, and deletes idempotently", async () => {
    const hub = await startHub();
    try {
      stateDir = hub.stateDir;
      const created = await server.create(provider, inputs());
      expect(created.id).toBe(`${stateDir}#provisioner`);
      expect(created.outs).toMatchObject({
        hostName: hub.host,
        caFile: hub.info.caFile,
        caCertificate: readFileSync(hub.info.caFile, "utf8"),
        gatewayHostName: `${hub.host}:${hub.info.mqttPort}`,
      });
      expect(String(created.outs.serviceConnectionString)).toMatch(
        new RegExp(
          `^HostName=${hub.host.replace(/\./g, "\\.")};SharedAccessKeyName=provisioner;SharedAccessKey=[A-Za-z0-9+/]{43}=$`,
        ),
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
    } finally {
      await hub.stop();
    }
  });

  it("refresh reports the hub's new key when the policy was removed and added again out of band", async () => {
    const hub = await startHub();
    try {
      stateDir = hub.stateDir;
      const created = await server.create(provider, inputs());
      const hubCli = (...args: string[]) =>
        spawnSync(process.execPath, ["bin/iothub-local.js", ...args, "--state", stateDir], {
          cwd: PROJECT_DIR,
          encoding: "utf8",
        });
      expect(hubCli("policy", "remove", "provisioner").status).toBe(0);
      const readded = hubCli("policy", "add", "provisioner", "--rights", "RegistryWrite,ServiceConnect");
      expect(readded.status).toBe(0);
      const newConnectionString = readded.stdout.trim();
      expect(newConnectionString).not.toBe(created.outs.serviceConnectionString);
      // `policy show` prints the same connection string as `policy add` did, and names a policy that is not there
      expect(hubCli("policy", "show", "provisioner").stdout.trim()).toBe(newConnectionString);
      expect(hubCli("policy", "show", "no-such-policy")).toMatchObject({
        status: 1,
        stdout: "",
        stderr: expect.stringContaining("policy 'no-such-policy' does not exist"),
      });

      const refreshed = await server.read(provider, created.id, created.outs);
      expect(refreshed).toEqual({
        id: created.id,
        props: { ...created.outs, serviceConnectionString: newConnectionString },
      });
      // the refreshed state is current: reading it again changes nothing
      expect(await server.read(provider, created.id, refreshed.props)).toEqual(refreshed);
    } finally {
      await hub.stop();
    }
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

/** The resource as the program declares it, under mocks: what it asks the engine to keep secret. */
describe("the local hub policy resource's registration", () => {
  beforeAll(() => {
    pulumi.runtime.setMocks(
      {
        newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }),
        call: () => ({}),
      },
      "project",
      "stack",
      false,
    );
  });

  it("keeps the secret outputs a caller asks for, besides its own serviceConnectionString", async () => {
    const seen: string[] = [];
    const policy = new LocalHubPolicy(
      "hub-policy",
      {
        stateDir: "/nowhere",
        policyName: "provisioner",
        rights: "RegistryWrite,ServiceConnect",
        hubCli: path.join(PROJECT_DIR, "bin", "iothub-local.js"),
      },
      {
        additionalSecretOutputs: ["caCertificate"],
        transformations: [
          (args) => {
            seen.push(...((args.opts as pulumi.CustomResourceOptions).additionalSecretOutputs ?? []));
            return undefined;
          },
        ],
      },
    );
    await new Promise<void>((resolve) => policy.urn.apply(() => resolve()));
    expect(seen.sort()).toEqual(["caCertificate", "serviceConnectionString"]);
  });
});
