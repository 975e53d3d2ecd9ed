import { createDecipheriv, randomBytes } from "node:crypto";
import {
  SECRET_SIGNATURE,
  SIGNATURE_KEY,
  componentState,
  customResourceState,
  exportedDeployment,
  exportedText,
  passphraseEncrypter,
  projectSourcePosition,
  resourceUrn,
  stackResources,
  type RegisteredResource,
  type StackIdentity,
} from "../../bench/support/checkpoint";

/**
 * The checkpoint the DPS benchmark sizes must be what `pulumi stack export` prints. The reference is Pulumi's own
 * definition of that output (pulumi/pulumi sdk/go/common/apitype: core.go's UntypedDeployment, DeploymentV3,
 * ResourceV3 and SecretV1, and the JSON schemas deployments.json and resources.json), and how the CLI writes it
 * (pkg/cmd/pulumi/stack/stack_export.go: json.Encoder, four-space indent) and encrypts secrets
 * (sdk/go/common/resource/config/crypt.go: AES-256-GCM, `v1:<nonce>:<ciphertext>`).
 */

/** deployments.json: the top level takes exactly these; `deployment` these (manifest required). */
const UNTYPED_DEPLOYMENT_KEYS = ["version", "deployment", "features"];
const DEPLOYMENT_V3_KEYS = [
  "manifest",
  "secrets_providers",
  "resources",
  "pending_operations",
  "metadata",
  "snippets",
];
const MANIFEST_KEYS = ["time", "magic", "version", "plugins"];
/** ResourceV3's JSON names (core.go); resources.json requires `urn`. */
const RESOURCE_V3_KEYS = [
  "urn",
  "custom",
  "delete",
  "id",
  "type",
  "inputs",
  "outputs",
  "parent",
  "protect",
  "taint",
  "external",
  "dependencies",
  "initErrors",
  "provider",
  "propertyDependencies",
  "pendingReplacement",
  "additionalSecretOutputs",
  "aliases",
  "customTimeouts",
  "importID",
  "retainOnDelete",
  "deletedWith",
  "replaceWith",
  "created",
  "modified",
  "sourcePosition",
  "stackTrace",
  "ignoreChanges",
  "hideDiff",
  "replaceOnChanges",
  "replacementTrigger",
  "refreshBeforeUpdate",
  "viewOf",
  "resourceHooks",
  "extensionRef",
  "snippetID",
];

const stack: StackIdentity = {
  stack: "local",
  project: "iothub-provisioner",
  projectRoot: "/home/me/iothub-provisioner",
  providerId: "0b3c0a7e-6f3e-4b6e-9d2a-2f1f5b0c9a11",
};
const at = (file: string, line: number, column: number) => ({
  uri: `file:///home/me/iothub-provisioner/${file}`,
  line,
  column,
});
const fleet: RegisteredResource = {
  type: "iothub-provisioner:fleet:Fleet",
  name: "fleet",
  parent: "",
  dependencies: [],
  propertyDependencies: {},
  additionalSecretOutputs: [],
  secretInputs: [],
  sourcePosition: at("index.ts", 52, 15),
  stackTrace: [at("index.ts", 52, 15)],
};
const fleetUrn = "urn:pulumi:local::iothub-provisioner::iothub-provisioner:fleet:Fleet::fleet";
const device: RegisteredResource = {
  type: "pulumi-nodejs:dynamic/iothub:DeviceIdentity",
  name: "fleet-device-d1",
  parent: fleetUrn,
  dependencies: [],
  propertyDependencies: { deviceId: [], serviceConnectionString: [] },
  additionalSecretOutputs: ["serviceConnectionString", "primaryKey", "connectionString"],
  secretInputs: ["serviceConnectionString"],
  sourcePosition: at("components/registry/registryResource.ts", 71, 5),
  stackTrace: [
    at("components/registry/registryResource.ts", 71, 5),
    undefined,
    at("components/fleet.ts", 204, 24),
  ],
};
const CONNECTION_STRING =
  "HostName=h.example;SharedAccessKeyName=provisioner;SharedAccessKey=c2VjcmV0LWtleQ==";
const PRIMARY_KEY = "cHJpbWFyeS1rZXktb2YtZDE=";
const step = {
  id: "d1",
  inputs: { deviceId: "d1", serviceConnectionString: CONNECTION_STRING, __provider: "exports.handler = x;" },
  outputs: {
    deviceId: "d1",
    serviceConnectionString: CONNECTION_STRING,
    primaryKey: PRIMARY_KEY,
    connectionString: `HostName=h.example;DeviceId=d1;SharedAccessKey=${PRIMARY_KEY}`,
    etag: "AAAA",
    __provider: "exports.handler = x;",
  },
};

function build(key = randomBytes(32)) {
  const encrypter = passphraseEncrypter(key);
  const time = "2026-12-02T18:00:00.000Z";
  const resources = [
    ...stackResources(stack, time),
    componentState(stack, fleet, time),
    customResourceState(stack, device, step, encrypter, time),
  ];
  return exportedDeployment(resources, encrypter, { version: "v3.248.0", time: new Date(time) });
}

/** crypt.go's DecryptValue: `v1:<base64 nonce>:<base64 ciphertext with the GCM tag>`. */
function decrypt(ciphertext: string, key: Buffer): string {
  const [version, nonce, sealed] = ciphertext.split(":");
  expect(version).toBe("v1");
  const bytes = Buffer.from(sealed, "base64");
  const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(nonce, "base64"));
  decipher.setAuthTag(bytes.subarray(bytes.length - 16));
  return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]).toString(
    "utf8",
  );
}

describe("the checkpoint of bench:dps", () => {
  it("has the shape of `pulumi stack export`: version 3, a deployment with a manifest, secrets provider and resources", () => {
    const exported = build();
    expect(exported.version).toBe(3);
    expect(UNTYPED_DEPLOYMENT_KEYS).toEqual(expect.arrayContaining(Object.keys(exported)));
    expect(DEPLOYMENT_V3_KEYS).toEqual(expect.arrayContaining(Object.keys(exported.deployment)));
    expect(Object.keys(exported.deployment.manifest)).toEqual(["time", "magic", "version"]);
    expect(MANIFEST_KEYS).toEqual(expect.arrayContaining(Object.keys(exported.deployment.manifest)));
    expect(exported.deployment.manifest.magic).toMatch(/^[0-9a-f]{64}$/);
    expect(exported.deployment.secrets_providers).toEqual({
      type: "passphrase",
      state: { salt: expect.stringMatching(/^v1:[A-Za-z0-9+/=]+:v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/) },
    });
    for (const resource of exported.deployment.resources) {
      expect(RESOURCE_V3_KEYS).toEqual(expect.arrayContaining(Object.keys(resource)));
      expect(typeof resource.urn).toBe("string");
    }
  });

  it("names resources as the engine does: the stack, the default dynamic provider, a component, its child", () => {
    const urns = build().deployment.resources.map((resource) => [resource.type, resource.urn]);
    expect(urns).toEqual([
      [
        "pulumi:pulumi:Stack",
        "urn:pulumi:local::iothub-provisioner::pulumi:pulumi:Stack::iothub-provisioner-local",
      ],
      [
        "pulumi:providers:pulumi-nodejs",
        "urn:pulumi:local::iothub-provisioner::pulumi:providers:pulumi-nodejs::default",
      ],
      ["iothub-provisioner:fleet:Fleet", fleetUrn],
      [
        "pulumi-nodejs:dynamic/iothub:DeviceIdentity",
        "urn:pulumi:local::iothub-provisioner::iothub-provisioner:fleet:Fleet$pulumi-nodejs:dynamic/iothub:DeviceIdentity::fleet-device-d1",
      ],
    ]);
    expect(resourceUrn("s", "p", undefined, "t:m:T", "n")).toBe("urn:pulumi:s::p::t:m:T::n");
  });

  it("holds a custom resource's id, parent, provider reference, dependencies and where the program made it", () => {
    const resource = build().deployment.resources[3];
    expect(resource).toMatchObject({
      custom: true,
      id: "d1",
      parent: fleetUrn,
      provider: `urn:pulumi:local::iothub-provisioner::pulumi:providers:pulumi-nodejs::default::${stack.providerId}`,
      propertyDependencies: { deviceId: [], serviceConnectionString: [] },
      additionalSecretOutputs: ["serviceConnectionString", "primaryKey", "connectionString"],
      sourcePosition: "project:///components/registry/registryResource.ts#71,5",
      stackTrace: [
        { sourcePosition: "project:///components/registry/registryResource.ts#71,5" },
        {},
        { sourcePosition: "project:///components/fleet.ts#204,24" },
      ],
    });
    expect(build().deployment.resources[2]).not.toHaveProperty("provider");
  });

  it("stores secret inputs and secret outputs as SecretV1, whose ciphertext decrypts to the value's JSON", () => {
    const key = randomBytes(32);
    const resource = build(key).deployment.resources[3];
    const secret = resource.outputs!.primaryKey as Record<string, string>;
    expect(Object.keys(secret)).toEqual([SIGNATURE_KEY, "ciphertext"]);
    expect(secret[SIGNATURE_KEY]).toBe(SECRET_SIGNATURE);
    expect(decrypt(secret.ciphertext, key)).toBe(JSON.stringify(PRIMARY_KEY));
    const input = resource.inputs!.serviceConnectionString as Record<string, string>;
    expect(decrypt(input.ciphertext, key)).toBe(JSON.stringify(CONNECTION_STRING));
    // Outputs named in additionalSecretOutputs, or whose input was secret, are secret; the rest are plain.
    expect(resource.outputs!.connectionString).toHaveProperty(SIGNATURE_KEY, SECRET_SIGNATURE);
    expect(resource.outputs!.serviceConnectionString).toHaveProperty(SIGNATURE_KEY, SECRET_SIGNATURE);
    expect(resource.outputs!.etag).toBe("AAAA");
    expect(resource.inputs!.deviceId).toBe("d1");
  });

  it("never holds a secret in clear text", () => {
    const text = exportedText(build());
    for (const secret of [CONNECTION_STRING, PRIMARY_KEY, "c2VjcmV0LWtleQ=="])
      expect(text).not.toContain(secret);
  });

  it("is written as the CLI writes it: four-space indent, Go's HTML escaping, a final newline", () => {
    const exported = build();
    const text = exportedText(exported);
    expect(text.startsWith('{\n    "version": 3,\n    "deployment": {\n        "manifest": {')).toBe(true);
    expect(text.endsWith("}\n")).toBe(true);
    expect(text).not.toMatch(/[<>&]/);
    expect(
      exportedText({ ...exported, deployment: { ...exported.deployment, resources: [] } }),
    ).not.toContain("\\u");
    const withMarkup = {
      ...exported,
      deployment: { ...exported.deployment, manifest: { ...exported.deployment.manifest, version: "a<b>&" } },
    };
    expect(exportedText(withMarkup)).toContain('"version": "a\\u003cb\\u003e\\u0026"');
    expect(JSON.parse(exportedText(withMarkup))).toEqual(withMarkup);
  });

  it("stores source positions relative to the project, and none for a position outside a file", () => {
    expect(projectSourcePosition("/p", { uri: "file:///p/components/fleet.ts", line: 3, column: 7 })).toBe(
      "project:///components/fleet.ts#3,7",
    );
    expect(projectSourcePosition("/p", { uri: "file:///p/index.ts", line: 3, column: 0 })).toBe(
      "project:///index.ts#3",
    );
    expect(projectSourcePosition("/p", { uri: "node:internal/x", line: 1, column: 1 })).toBeUndefined();
    expect(projectSourcePosition("/p", undefined)).toBeUndefined();
  });
});
