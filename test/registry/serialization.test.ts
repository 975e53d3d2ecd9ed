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

  it("serializes all four providers", () => {
    expect(run.status).toBe(0);
    expect(Object.keys(results).sort()).toEqual([
      "DeviceIdentity",
      "DeviceTwin",
      "ModuleIdentity",
      "ModuleTwin",
    ]);
    for (const result of Object.values(results)) expect(result).toMatchObject({ ok: true });
  });

  it.each(["DeviceIdentity", "ModuleIdentity", "ModuleTwin", "DeviceTwin"])(
    "%s holds no key, connection string or token",
    (name) => {
      const text = results[name]?.text ?? "";
      expect(text.length).toBeGreaterThan(0);
      expect(text).not.toMatch(/SharedAccessKey=[A-Za-z0-9+/]/);
      expect(text).not.toMatch(/sig=[A-Za-z0-9%+/]{20,}/); // a signed token
      expect(text).not.toContain(canary);
      // a padded base64 key (16, 32 or 64 bytes) as a literal
      expect(text).not.toMatch(/["'`][A-Za-z0-9+/]{22,86}={1,2}["'`]/);
      // the stub: the engine sends this text with every call, so it must stay small (see lazyProvider.ts)
      expect(text.length).toBeLessThan(8 * 1024);
      expect(text).toContain(`registry/${name[0].toLowerCase()}${name.slice(1)}Provider.ts`);
    },
  );
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
