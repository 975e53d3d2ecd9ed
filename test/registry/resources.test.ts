import * as pulumi from "@pulumi/pulumi";
import { DeviceIdentity, DeviceTwin, ModuleIdentity, ModuleTwin } from "../../components/registry";

/**
 * The resource classes as a program uses them: every output holding key material is registered as an additional
 * secret output (the engine stores it encrypted even when the input it came from was plain), and the resource
 * types route to the dynamic provider (`pulumi-nodejs:dynamic*`).
 */
const registeredTypes: string[] = [];

beforeAll(() => {
  pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        registeredTypes.push(args.type);
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: () => ({}),
    },
    "project",
    "stack",
    false,
  );
});

const capture =
  (into: string[]): pulumi.ResourceTransformation =>
  (args) => {
    into.push(...((args.opts as pulumi.CustomResourceOptions).additionalSecretOutputs ?? []));
    return undefined;
  };

it.each([
  [
    "DeviceIdentity",
    [
      "serviceConnectionString",
      "entra",
      "authentication",
      "primaryKey",
      "secondaryKey",
      "connectionString",
      "previousConnectionString",
    ],
  ],
  [
    "ModuleIdentity",
    [
      "serviceConnectionString",
      "entra",
      "authentication",
      "primaryKey",
      "secondaryKey",
      "connectionString",
      "previousConnectionString",
    ],
  ],
  ["ModuleTwin", ["serviceConnectionString", "entra"]],
  ["DeviceTwin", ["serviceConnectionString", "entra"]],
])("%s registers %j as secret outputs", async (kind, secrets) => {
  const seen: string[] = [];
  const hub = { serviceConnectionString: "HostName=h;SharedAccessKeyName=p;SharedAccessKey=a2V5" };
  const opts = { transformations: [capture(seen)] };
  const ids = { deviceId: "d", moduleId: "m" };
  const resource =
    kind === "DeviceIdentity"
      ? new DeviceIdentity("x", { ...hub, deviceId: "d" }, opts)
      : kind === "ModuleIdentity"
        ? new ModuleIdentity("x", { ...hub, ...ids }, opts)
        : kind === "ModuleTwin"
          ? new ModuleTwin("x", { ...hub, ...ids, desired: { a: 1 } }, opts)
          : new DeviceTwin("x", { ...hub, deviceId: "d", tags: { a: 1 } }, opts);
  await new Promise<void>((resolve) => resource.urn.apply(() => resolve()));
  expect(seen.sort()).toEqual([...secrets].sort());
  expect(registeredTypes).toContain(`pulumi-nodejs:dynamic/iothub:${kind}`);
});
