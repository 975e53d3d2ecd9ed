import * as fs from "node:fs";
import type { Registry } from "azure-iothub";
import { addPrincipal, principalRegistry, type AddedPrincipal } from "../local-hub/entraSupport";
import { startHub, type TestHub } from "../support/hubProcess";
import {
  serializedProviders,
  startProviderServer,
  type Props,
  type ProviderServer,
} from "../support/providerServer";

/**
 * The registry providers with `auth: entra`, driven the way the engine drives them (the real dynamic-provider
 * server, the providers as the SDK serializes them), against a local hub that refuses every shared access policy
 * (`--disable-local-auth`): the real @azure/identity ClientSecretCredential gets its tokens from the hub's token
 * endpoint, and azure-iothub's token-credential Registry sends them.
 */

let hub: TestHub;
let server: ProviderServer;
let texts: Record<string, string>;
let caPem: string;
/** An admin principal's Registry (IoT Hub Data Contributor), to check what the providers did. */
let admin: Registry;
let provisioner: AddedPrincipal;

beforeAll(async () => {
  [hub, server, texts] = await Promise.all([
    startHub({ args: ["--disable-local-auth"] }),
    startProviderServer(),
    serializedProviders(),
  ]);
  caPem = fs.readFileSync(hub.info.caFile, "utf8");
  admin = principalRegistry(hub.info, await addPrincipal(hub, "admin", ["IoT Hub Data Contributor"]));
  provisioner = await addPrincipal(hub, "provisioner", [
    "IoT Hub Registry Contributor",
    "IoT Hub Twin Contributor",
  ]);
});

afterAll(async () => {
  await server?.stop();
  await hub?.stop();
});

/** The hub arguments of a resource with auth entra for `principal` (its secret as a resource input). */
function entraArgs(principal: AddedPrincipal, registry: Props = {}): Props {
  return {
    auth: "entra",
    hostName: hub.info.hostName,
    entra: {
      authorityHost: hub.info.entra!.authorityHost,
      tenantId: hub.info.entra!.tenantId,
      clientId: principal.clientId,
      clientSecret: principal.clientSecret,
    },
    caCertificate: caPem,
    gatewayHostName: `${hub.info.hostName}:${hub.info.mqttPort}`,
    registry,
  };
}

async function createResource(kind: string, inputs: Props): Promise<{ id: string; outs: Props }> {
  const checked = await server.check(texts[kind], {}, inputs);
  expect(checked.failures).toEqual([]);
  return server.create(texts[kind], checked.inputs);
}

describe("auth entra through the provider server", () => {
  it("creates a device, its module and both twins, is a no-op on a second up, and deletes them", async () => {
    const hubArgs = entraArgs(provisioner);
    const device = await createResource("DeviceIdentity", { ...hubArgs, deviceId: "entra-dev" });
    const module = await createResource("ModuleIdentity", {
      ...hubArgs,
      deviceId: "entra-dev",
      moduleId: "m1",
    });
    const twin = await createResource("DeviceTwin", {
      ...hubArgs,
      deviceId: "entra-dev",
      tags: { site: "a" },
    });
    const moduleTwinInputs = { ...hubArgs, deviceId: "entra-dev", moduleId: "m1", desired: { interval: 5 } };
    const moduleTwin = await createResource("ModuleTwin", moduleTwinInputs);

    const held = (await admin.get("entra-dev")).responseBody;
    expect(device.outs.primaryKey).toBe(held.authentication?.symmetricKey?.primaryKey);
    expect(device.outs.hostName).toBe(hub.info.hostName);
    expect(module.outs.connectionString).toBe(
      `HostName=${hub.info.hostName};DeviceId=entra-dev;ModuleId=m1;SharedAccessKey=${String(module.outs.primaryKey)};` +
        `GatewayHostName=${hub.info.hostName}:${hub.info.mqttPort}`,
    );
    expect((await admin.getTwin("entra-dev")).responseBody.tags).toEqual({ site: "a" });
    expect((await admin.getModuleTwin("entra-dev", "m1")).responseBody.properties.desired).toMatchObject({
      interval: 5,
    });
    // no policy key anywhere in what the state would hold
    for (const outs of [device.outs, module.outs, twin.outs, moduleTwin.outs]) {
      expect(outs).not.toHaveProperty("serviceConnectionString");
      expect(JSON.stringify(outs)).not.toContain("SharedAccessKeyName");
    }

    // a second up: nothing to change, and read sees no drift
    expect(
      (await server.diff(texts.ModuleTwin, moduleTwin.id, moduleTwin.outs, moduleTwinInputs)).changes,
    ).toBe("none");
    expect(
      (await server.diff(texts.DeviceIdentity, device.id, device.outs, { ...hubArgs, deviceId: "entra-dev" }))
        .changes,
    ).toBe("none");
    expect(await server.read(texts.DeviceIdentity, device.id, device.outs)).toEqual({
      id: device.id,
      props: device.outs,
    });

    // destroy, in the engine's order (dependents first), from the stored outputs only
    await server.delete(texts.ModuleTwin, moduleTwin.id, moduleTwin.outs);
    await server.delete(texts.DeviceTwin, twin.id, twin.outs);
    await server.delete(texts.ModuleIdentity, module.id, module.outs);
    await server.delete(texts.DeviceIdentity, device.id, device.outs);
    await expect(admin.get("entra-dev")).rejects.toMatchObject({ name: "DeviceNotFoundError" });
  });

  it("names the missing role when the principal lacks it, once the wait for an assignment is spent", async () => {
    const twinsOnly = await addPrincipal(hub, "twins-only", ["IoT Hub Twin Contributor"]);
    const inputs = { ...entraArgs(twinsOnly, { authorizationWaitMs: 1500 }), deviceId: "not-allowed" };
    const failure = server.create(texts.DeviceIdentity, inputs);
    await expect(failure).rejects.toMatchObject({
      message: expect.stringContaining("'IoT Hub Registry Contributor'"),
    });
    await expect(failure).rejects.toMatchObject({
      message: expect.stringContaining("Microsoft.Devices/IotHubs/devices/write"),
    });
    await expect(failure).rejects.toMatchObject({
      message: expect.stringContaining(`device "not-allowed": create failed`),
    });
    await expect(admin.get("not-allowed")).rejects.toMatchObject({ name: "DeviceNotFoundError" });
  });

  it("waits for a role assigned after its first refusal, then succeeds", async () => {
    const late = await addPrincipal(hub, "late-role");
    const inputs = { ...entraArgs(late, { authorizationWaitMs: 120_000 }), deviceId: "late-device" };
    const created = server.create(texts.DeviceIdentity, inputs);
    await hub.waitForOutput(/401 PUT \/devices\/late-device/);
    const assigned = await hub.cli("role", "assign", "late-role", "--role", "IoT Hub Registry Contributor");
    expect(assigned.code).toBe(0);
    const { outs } = await created;
    expect(outs.primaryKey).toBe(
      (await admin.get("late-device")).responseBody.authentication?.symmetricKey?.primaryKey,
    );
  });

  it("waits out a role assignment that takes effect later, as Azure's propagate", async () => {
    const propagating = await addPrincipal(hub, "propagating");
    const assigned = await hub.cli(
      "role",
      "assign",
      "propagating",
      "--role",
      "IoT Hub Registry Contributor",
      "--effective-in",
      "5",
    );
    expect(assigned.code).toBe(0);
    const inputs = {
      ...entraArgs(propagating, { authorizationWaitMs: 120_000 }),
      deviceId: "propagating-device",
    };
    const { outs } = await createResource("DeviceIdentity", inputs);
    // refused while the assignment was not yet effective, then created
    expect(hub.output()).toMatch(/401 PUT \/devices\/propagating-device/);
    expect(outs.primaryKey).toBe(
      (await admin.get("propagating-device")).responseBody.authentication?.symmetricKey?.primaryKey,
    );
  });

  it("refuses a wrong client secret at once with the credential's error, not after the role wait", async () => {
    const inputs = {
      ...entraArgs({ ...provisioner, clientSecret: "not-the-secret" }, { authorizationWaitMs: 600_000 }),
      deviceId: "wrong-secret",
    };
    const failure = server.create(texts.DeviceIdentity, inputs);
    await expect(failure).rejects.toMatchObject({
      message: expect.stringContaining("the Microsoft Entra credential got no token for IoT Hub"),
    });
    await expect(failure).rejects.toMatchObject({ message: expect.not.stringContaining("not-the-secret") });
    await expect(admin.get("wrong-secret")).rejects.toMatchObject({ name: "DeviceNotFoundError" });
  });

  it("refuses a removed principal's credential with the credential's error", async () => {
    const gone = await addPrincipal(hub, "gone", ["IoT Hub Registry Contributor"]);
    expect((await hub.cli("principal", "remove", "gone")).code).toBe(0);
    const failure = server.create(texts.DeviceIdentity, { ...entraArgs(gone), deviceId: "gone-device" });
    await expect(failure).rejects.toMatchObject({
      message: expect.stringContaining("the Microsoft Entra credential got no token for IoT Hub"),
    });
  });

  it("takes the client secret from AZURE_CLIENT_SECRET of the provider process when the inputs hold none", async () => {
    const envServer = await startProviderServer({ env: { AZURE_CLIENT_SECRET: provisioner.clientSecret } });
    try {
      const args = entraArgs(provisioner);
      const { clientSecret: _secret, ...entra } = args.entra as Props;
      const inputs = { ...args, entra, deviceId: "env-secret" };
      const checked = await envServer.check(texts.DeviceIdentity, {}, inputs);
      expect(checked.failures).toEqual([]);
      await envServer.create(texts.DeviceIdentity, checked.inputs);
      expect((await admin.get("env-secret")).responseBody.deviceId).toBe("env-secret");
      // the other server has no such variable: it says what is missing
      await expect(
        server.create(texts.DeviceIdentity, { ...inputs, deviceId: "no-secret" }),
      ).rejects.toMatchObject({
        message: expect.stringContaining("entra.clientSecret: is required with authorityHost"),
      });
    } finally {
      await envServer.stop();
    }
  });
});

describe("diff() between the auth modes", () => {
  it("moving a stack from sas to entra on the same hub is an update; another hub is a replace", async () => {
    const entraInputs: Props = { ...entraArgs(provisioner), deviceId: "migrating" };
    const { entra: _entra, auth: _auth, ...common } = entraInputs;
    const sasState = {
      ...common,
      serviceConnectionString: hub.info.connectionString,
      status: "enabled",
      authenticationType: "sas",
      etag: "e1",
      generationId: "g1",
    };
    expect(await server.diff(texts.DeviceIdentity, "migrating", sasState, entraInputs)).toMatchObject({
      changes: "some",
      replaces: [],
    });
    expect(
      await server.diff(texts.DeviceIdentity, "migrating", sasState, {
        ...entraInputs,
        hostName: "other-hub.example",
      }),
    ).toMatchObject({ changes: "some", replaces: ["hostName"] });
  });
});

describe("check() of the entra hub arguments", () => {
  async function failuresOf(inputs: Props): Promise<string[]> {
    const checked = await server.check(texts.DeviceIdentity, {}, { deviceId: "checked", ...inputs });
    return checked.failures.map((failure) => failure.reason);
  }

  it("requires hostName and refuses a service connection string beside auth entra", async () => {
    const { hostName: _host, ...withoutHost } = entraArgs(provisioner);
    expect(await failuresOf(withoutHost)).toEqual([
      expect.stringContaining("hostName: is required with auth entra"),
    ]);
    expect(
      await failuresOf({ ...entraArgs(provisioner), serviceConnectionString: hub.info.connectionString }),
    ).toEqual([expect.stringContaining("serviceConnectionString: must not be given with auth entra")]);
    expect(await failuresOf({ ...entraArgs(provisioner), hostName: "host:443" })).toEqual([
      expect.stringContaining("hostName: is required with auth entra"),
    ]);
  });

  it("refuses an unknown auth mode, unknown, oversized and malformed credential settings, never echoing them", async () => {
    const base = entraArgs(provisioner);
    const entra = base.entra as Props;
    expect(await failuresOf({ ...base, auth: "oauth" })).toEqual([
      expect.stringContaining("auth: must be one of sas, entra"),
    ]);
    const hostile = await failuresOf({
      ...base,
      entra: {
        ...entra,
        clientSecret: "s".repeat(5000),
        tenantId: "t".repeat(200),
        authorityHost: "http://attacker.example/steal?x=1",
        scope: "anything",
      },
    });
    expect(hostile).toEqual(
      expect.arrayContaining([
        expect.stringContaining("entra.clientSecret: must be a string of 1-1024 characters"),
        expect.stringContaining("entra.tenantId: must be 1-128 letters"),
        expect.stringContaining("entra.authorityHost: must be an https URL"),
        expect.stringContaining("entra.scope: is not a known key"),
      ]),
    );
    expect(hostile.join("\n")).not.toMatch(/sssss|ttttt|attacker/);
    expect(await failuresOf({ ...base, entra: "a string" })).toEqual([
      expect.stringContaining("entra: must be an object"),
    ]);
    const { tenantId: _t, clientId: _c, ...noIds } = entra;
    expect(await failuresOf({ ...base, entra: noIds })).toEqual([
      expect.stringContaining("entra.tenantId: is required with authorityHost"),
      expect.stringContaining("entra.clientId: is required with authorityHost"),
    ]);
  });

  it("keeps sas as it was: an entra setting without auth entra is refused", async () => {
    expect(
      await failuresOf({ serviceConnectionString: hub.info.connectionString, entra: { tenantId: "t" } }),
    ).toEqual([expect.stringContaining("entra: is used only with auth entra")]);
  });
});
