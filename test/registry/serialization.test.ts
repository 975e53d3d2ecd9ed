import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { serializeProgramProviders } from "../program/support/deployment";

/**
 * Each provider is serialized in its own node process, as the Pulumi SDK does it for the engine (jest's sandbox
 * confuses the serializer, so a failure there might not throw). The text must not hold key material: the
 * providers capture none, keys only ever arrive as inputs.
 */
describe("registry providers, closure-serialized", () => {
  const root = path.resolve(__dirname, "../..");
  const canary = Buffer.from("canary key material, 32 bytes!!").toString("base64");
  const script = "test/registry/serializeProviders.ts";
  const run = spawnSync(process.execPath, ["--import", "tsx", script, "--canary", canary], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  const results = JSON.parse(run.stdout || "{}") as Record<
    string,
    { ok: boolean; text?: string; error?: string }
  >;

  it("serializes all nine providers", () => {
    expect(run.status).toBe(0);
    expect(Object.keys(results).sort()).toEqual([
      "Configuration",
      "DeviceIdentity",
      "DeviceTwin",
      "EdgeDeployment",
      "EdgeDeviceModules",
      "EnrollmentGroup",
      "IndividualEnrollment",
      "ModuleIdentity",
      "ModuleTwin",
    ]);
    for (const result of Object.values(results)) expect(result).toMatchObject({ ok: true });
  });

  it.each([
    ["DeviceIdentity", "registry"],
    ["ModuleIdentity", "registry"],
    ["ModuleTwin", "registry"],
    ["DeviceTwin", "registry"],
    ["Configuration", "adm"],
    ["EdgeDeployment", "adm"],
    ["EdgeDeviceModules", "adm"],
    ["EnrollmentGroup", "dps"],
    ["IndividualEnrollment", "dps"],
  ])("%s holds no key, connection string or token", (name, folder) => {
    const text = results[name]?.text ?? "";
    expect(text.length).toBeGreaterThan(0);
    expect(text).not.toMatch(/SharedAccessKey=[A-Za-z0-9+/]/);
    expect(text).not.toMatch(/sig=[A-Za-z0-9%+/]{20,}/); // a signed token
    expect(text).not.toContain(canary);
    // a padded base64 key (16, 32 or 64 bytes) as a literal
    expect(text).not.toMatch(/["'`][A-Za-z0-9+/]{22,86}={1,2}["'`]/);
    // the stub: the engine sends this text with every call, so it must stay small (see lazyProvider.ts)
    expect(text.length).toBeLessThan(8 * 1024);
    expect(text).toContain(`${folder}/${name[0].toLowerCase()}${name.slice(1)}Provider.ts`);
  });
});

/**
 * The stub as the provider server uses it, deserialized in a plain node process in the project dir: the server
 * calls `configure` once first, which gives the stub the implementation's methods; `create` also works on a stub
 * whose configure was never called.
 */
describe("the registry stub, deserialized", () => {
  const root = path.resolve(__dirname, "../..");
  const texts = JSON.parse(
    spawnSync(process.execPath, ["--import", "tsx", "test/registry/serializeProviders.ts"], {
      cwd: root,
      encoding: "utf8",
    }).stdout,
  ) as Record<string, { text: string }>;
  /** Runs `body` (async, with `provider` = the deserialized DeviceTwin stub) and returns what it printed. */
  const withStub = (body: string): string => {
    const script =
      `const provider = require("require-from-string")(process.env.STUB).handler();` +
      `(async () => { ${body} })().catch((error) => console.log("threw: " + error.message));`;
    const run = spawnSync(process.execPath, ["-e", script], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, STUB: texts.DeviceTwin.text },
    });
    return run.stdout.trim() || run.stderr;
  };

  it("takes on the implementation's check, diff, read, update and delete in configure", () => {
    const out = withStub(
      `const before = Object.keys(provider).sort().join(",");` +
        `await provider.configure({});` +
        `const methods = ["check", "diff", "read", "update", "delete"].map((m) => typeof provider[m]).join(",");` +
        `const { failures } = await provider.check({}, { deviceId: "d" });` +
        `console.log(JSON.stringify({ before, methods, reason: failures[0].reason }));`,
    );
    expect(JSON.parse(out)).toEqual({
      before: "configure,create",
      methods: "function,function,function,function,function",
      reason: 'device twin "d": serviceConnectionString: is required',
    });
  });

  it("creates through the implementation without configure (checking the inputs first)", () => {
    expect(withStub(`await provider.create({ deviceId: "d" });`)).toBe(
      'threw: device twin "d": serviceConnectionString: is required',
    );
  });
});

/**
 * The local hub's policy resource hands Pulumi the same kind of stub, loading components/hub/localHubPolicyProvider.ts
 * in the provider process. Serialized in a plain node process, as the program does it.
 */
describe("the local hub policy provider, closure-serialized", () => {
  it("is the small stub, and holds no key, connection string or token", () => {
    const text = serializeProgramProviders().LocalHubPolicy ?? "";
    expect(text).toContain("hub/localHubPolicyProvider.ts");
    expect(text).not.toContain("iothub-local policy add"); // the implementation stays in the project
    expect(text.length).toBeLessThan(8 * 1024);
    expect(text).not.toMatch(/SharedAccessKey=[A-Za-z0-9+/]/);
    expect(text).not.toMatch(/sig=[A-Za-z0-9%+/]{20,}/);
    expect(text).not.toMatch(/["'`][A-Za-z0-9+/]{22,86}={1,2}["'`]/);
  });
});

/** The local DPS resource's stub likewise loads components/hub/localDpsProvider.ts in the provider process. */
describe("the local DPS provider, closure-serialized", () => {
  it("is the small stub, and holds no key, connection string or token", () => {
    const text = serializeProgramProviders().LocalDps ?? "";
    expect(text).toContain("hub/localDpsProvider.ts");
    expect(text).not.toContain("runs no DPS"); // the implementation stays in the project
    expect(text.length).toBeLessThan(8 * 1024);
    expect(text).not.toMatch(/SharedAccessKey=[A-Za-z0-9+/]/);
    expect(text).not.toMatch(/["'`][A-Za-z0-9+/]{22,86}={1,2}["'`]/);
  });
});
