import { checkConfiguration } from "../../components/adm/configurationProvider";
import { checkEdgeDeployment } from "../../components/adm/edgeDeploymentProvider";
import { checkDeploymentManifest, hasRegistryCredentials } from "../../lib/iothub/edgeManifest";
import { baseManifest, dockerModule } from "./manifests";

/**
 * The ADM resources' rules called directly, for input the engine's wire cannot carry (protobuf Structs overflow
 * the stack long before 40,000 levels) but a program can still build: the rules must answer, not overflow.
 */
const hub = {
  serviceConnectionString: "HostName=hub.example;SharedAccessKeyName=p;SharedAccessKey=" + "A".repeat(44),
};

function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

describe("ADM rules", () => {
  it("refuse content nested 40,000 levels deep by naming the first property too deep", () => {
    const deep = nested(40_000);
    const configuration = checkConfiguration({
      ...hub,
      name: "deep",
      targetCondition: "*",
      content: { deviceContent: { "properties.desired": deep } },
    });
    expect(configuration).toContainEqual({
      field: `content.deviceContent${".a".repeat(11)}`,
      rule: "must be nested at most 10 levels deep",
    });
    const deployment = checkEdgeDeployment({
      ...hub,
      name: "deep",
      targetCondition: "*",
      modulesContent: { ...baseManifest({}), sensor: { "properties.desired": deep } },
    });
    expect(deployment.map((v) => v.rule)).toContain("must be nested at most 10 levels deep");
  });

  it("read only the manifest paths they name: a deep value under a module's env is the twin rules' to refuse", () => {
    const manifest = baseManifest({
      sensor: { ...dockerModule("s:1"), env: { X: { value: nested(40_000) } } },
    });
    expect(checkDeploymentManifest(manifest, false)).toEqual([
      {
        field: "modulesContent.$edgeAgent.properties.desired.modules.sensor.env.X",
        rule: "must be {value: <string, number or boolean>}",
      },
    ]);
  });

  it("tell a manifest with registry credentials (whose content then holds passwords)", () => {
    const manifest = baseManifest({});
    expect(hasRegistryCredentials(manifest)).toBe(false);
    (
      manifest.$edgeAgent["properties.desired"] as { runtime: { settings: Record<string, unknown> } }
    ).runtime.settings.registryCredentials = {
      acr: { username: "u", password: "p", address: "acr.example" },
    };
    expect(hasRegistryCredentials(manifest)).toBe(true);
    expect(checkDeploymentManifest(manifest, false)).toEqual([]);
  });
});

describe("twin content of a path", () => {
  it("names a value too deep below its path, also when the value is 40,000 levels deep", () => {
    const violations = checkConfiguration({
      ...hub,
      name: "deep",
      targetCondition: "*",
      content: { deviceContent: { "properties.desired.config.value": nested(40_000) } },
    });
    expect(violations).toEqual([
      {
        field: `content.deviceContent.config.value${".a".repeat(10)}`,
        rule: "must be nested at most 10 levels deep",
      },
    ]);
  });
});
