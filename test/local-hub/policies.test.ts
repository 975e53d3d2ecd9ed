import { parseConnectionString } from "../../lib/iothub/sas";
import { hubRegistry, useSuiteHub } from "../support/suiteHub";

/** Shared access policies: Azure's defaults, rights enforced per operation, and CLI changes seen by a running hub. */
describe("shared access policies", () => {
  const suite = useSuiteHub();

  async function addPolicy(name: string, rights: string): Promise<string> {
    const result = await suite.hub.cli("policy", "add", name, "--rights", rights);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    return result.stdout.trim();
  }

  it("starts with Azure's five default policies and their rights", async () => {
    const result = await suite.hub.cli("policy", "list", "-o", "tsv");
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split("\n");
    expect(lines).toEqual([
      "iothubowner\tRegistryRead,RegistryWrite,ServiceConnect,DeviceConnect",
      "service\tServiceConnect",
      "device\tDeviceConnect",
      "registryRead\tRegistryRead",
      "registryReadWrite\tRegistryRead,RegistryWrite",
    ]);
    expect(result.stdout).not.toMatch(/=/); // list never prints keys
  });

  it("lists policies as JSON off a terminal, as a table or tsv with -o, never with keys; refuses another format", async () => {
    const json = await suite.hub.cli("policy", "list");
    expect(JSON.parse(json.stdout)).toContainEqual({ name: "service", rights: ["ServiceConnect"] });
    expect(json.stdout).not.toMatch(/[Kk]ey/);
    const table = (await suite.hub.cli("policy", "list", "-o", "table")).stdout.split("\n");
    expect(table[0]).toMatch(/^name +rights$/);
    expect(table).toContainEqual(expect.stringMatching(/^service +ServiceConnect$/));
    const refused = await suite.hub.cli("policy", "list", "-o", "yaml");
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/yaml.*json, table, tsv|json, table, tsv.*yaml/);
  });

  it("prints a connection string for this hub, with a 32-byte key, that works at once on the running hub", async () => {
    const connectionString = await addPolicy("provisioner", "RegistryWrite,ServiceConnect");
    const fields = parseConnectionString(connectionString);
    expect(fields).toMatchObject({ HostName: suite.hub.info.hostName, SharedAccessKeyName: "provisioner" });
    expect(Buffer.from(fields.SharedAccessKey, "base64")).toHaveLength(32);

    const registry = hubRegistry(suite.hub.info, connectionString);
    await registry.create({ deviceId: "made-by-provisioner" });
    const twin = await registry.getTwin("made-by-provisioner");
    expect(twin.responseBody.deviceId).toBe("made-by-provisioner");
  });

  it("refuses a create with UnauthorizedError when the policy lacks RegistryWrite, but lets it read", async () => {
    const registry = hubRegistry(suite.hub.info, await addPolicy("reader", "RegistryRead"));
    await expect(registry.create({ deviceId: "not-allowed" })).rejects.toMatchObject({
      name: "UnauthorizedError",
    });
    const device = await registry.get("made-by-provisioner");
    expect(device.responseBody.deviceId).toBe("made-by-provisioner");
  });

  it("refuses twin operations with UnauthorizedError when the policy lacks ServiceConnect", async () => {
    const registry = hubRegistry(suite.hub.info, await addPolicy("writer", "RegistryWrite"));
    await expect(registry.getTwin("made-by-provisioner")).rejects.toMatchObject({
      name: "UnauthorizedError",
    });
  });

  it("honours a removed policy at once: its tokens get 401 on the next request", async () => {
    const registry = hubRegistry(suite.hub.info, await addPolicy("shortlived", "RegistryRead"));
    await registry.get("made-by-provisioner");
    expect(await suite.hub.cli("policy", "remove", "shortlived")).toMatchObject({ code: 0 });
    await expect(registry.get("made-by-provisioner")).rejects.toMatchObject({ name: "UnauthorizedError" });
  });

  it("rejects bad input with an error naming the field, and changes nothing", async () => {
    const badRight = await suite.hub.cli("policy", "add", "bad", "--rights", "RegistryRead,Everything");
    expect(badRight.code).not.toBe(0);
    expect(badRight.stderr).toMatch(/rights: 'Everything' is not a right/);
    const duplicate = await suite.hub.cli("policy", "add", "service", "--rights", "ServiceConnect");
    expect(duplicate.code).not.toBe(0);
    expect(duplicate.stderr).toMatch(/already exists/);
    const badName = await suite.hub.cli("policy", "add", "no spaces", "--rights", "ServiceConnect");
    expect(badName.stderr).toMatch(/policy name/);
    const missing = await suite.hub.cli("policy", "remove", "nosuchpolicy");
    expect(missing.code).not.toBe(0);
    expect((await suite.hub.cli("policy", "list", "-o", "tsv")).stdout).not.toMatch(/^bad\t/m);
  });
});
