import { readStackOutputs } from "../../lib/iothub/stackOutputs";
import {
  FAKE_CA_PEM,
  FAKE_DPS_ID_SCOPE,
  FAKE_DPS_KEY,
  FAKE_LOCAL_HOST,
  FAKE_POLICY_KEY,
  fakeCloud,
} from "./support/fakeCloud";
import {
  appearsInClear,
  isSecretInput,
  onlyRegistration,
  plainInputs,
  runProgram,
} from "./support/runProgram";

/**
 * The stack config's `dps` on the azure target, under mocks (azure-native cannot reach Azure here): a DPS resource
 * in the hub's resource group linked to the hub through a hub policy of its own, its two policies with exactly
 * their rights, the enrollment groups on its connection string, the DPS stack outputs of both targets, and every
 * refusal (named by its config path, nothing created).
 */

const azureHub = { name: "my-hub", resourceGroupName: "my-rg", location: "westeurope" };
const group = {
  enrollmentGroupId: "fleet-a",
  attestation: { type: "symmetricKey" },
  initialTwin: { properties: { desired: { interval: 10 } } },
};
const azureDpsConfig = {
  target: "azure",
  hub: azureHub,
  dps: { name: "my-dps" },
  enrollmentGroups: [group],
};

const DPS_TYPE = "azure-native:deviceprovisioningservices:IotDpsResource";
const DPS_KEYS = "azure-native:deviceprovisioningservices:listIotDpsResourceKeysForKeyName";

const only = onlyRegistration;

describe("dps on the azure target", () => {
  it("makes a DPS in the hub's resource group, linked to the hub through the DPS link's policy", async () => {
    const cloud = fakeCloud();
    const run = await runProgram({ stack: "dev", config: azureDpsConfig, engine: cloud });

    const hub = only(run.registrations, "azure-native:iothub:IotHubResource");
    // Microsoft's docs: a linked hub's policy needs RegistryWrite and ServiceConnect
    expect((hub.inputs.properties as Record<string, unknown>).authorizationPolicies).toEqual([
      { keyName: "provisioner", rights: "RegistryWrite, ServiceConnect" },
      { keyName: "provisioningservice", rights: "RegistryWrite, ServiceConnect" },
    ]);

    const dps = only(run.registrations, DPS_TYPE);
    const inputs = plainInputs(dps.inputs) as Record<string, unknown>;
    expect(inputs).toMatchObject({
      provisioningServiceName: "my-dps",
      resourceGroupName: "my-rg",
      location: "westeurope",
      sku: { name: "S1", capacity: 1 },
    });
    const properties = inputs.properties as Record<string, unknown>;
    expect(properties.iotHubs).toEqual([
      {
        connectionString: `HostName=my-hub.azure-devices.net;SharedAccessKeyName=provisioningservice;SharedAccessKey=${FAKE_POLICY_KEY}`,
        location: "westeurope",
      },
    ]);
    expect(appearsInClear(dps.inputs, FAKE_POLICY_KEY)).toBe(false);
    // a DPS name is global: a replacement frees it first
    expect(dps.deleteBeforeReplace).toBe(true);

    const hubKeyCalls = cloud.calls.filter(
      (call) => call.token === "azure-native:iothub:listIotHubResourceKeysForKeyName",
    );
    expect(hubKeyCalls.map((call) => call.inputs.keyName).sort()).toEqual([
      "provisioner",
      "provisioningservice",
    ]);
  });

  it("gives the DPS exactly its two policies, each with only what its user needs", async () => {
    const cloud = fakeCloud();
    const run = await runProgram({ stack: "dev", config: azureDpsConfig, engine: cloud });
    const dps = only(run.registrations, DPS_TYPE);
    expect(
      (plainInputs(dps.inputs) as { properties: Record<string, unknown> }).properties.authorizationPolicies,
    ).toEqual([
      { keyName: "enrollments", rights: "EnrollmentRead, EnrollmentWrite" },
      {
        keyName: "verify",
        rights: "EnrollmentRead, EnrollmentWrite, RegistrationStatusRead, RegistrationStatusWrite",
      },
    ]);
    const keyCalls = cloud.calls.filter((call) => call.token === DPS_KEYS);
    expect(
      keyCalls.map((call) => call.inputs).sort((a, b) => String(a.keyName).localeCompare(String(b.keyName))),
    ).toEqual([
      { keyName: "enrollments", provisioningServiceName: "my-dps", resourceGroupName: "my-rg" },
      { keyName: "verify", provisioningServiceName: "my-dps", resourceGroupName: "my-rg" },
    ]);
  });

  it("hands the enrollment groups the DPS's enrollments connection string as a secret, the system CAs and the stack's hub", async () => {
    const run = await runProgram({ stack: "dev", config: azureDpsConfig, engine: fakeCloud() });
    const enrollment = only(run.registrations, "pulumi-nodejs:dynamic/iothub:EnrollmentGroup");
    expect(isSecretInput(enrollment.inputs.serviceConnectionString)).toBe(true);
    expect(plainInputs(enrollment.inputs)).toMatchObject({
      enrollmentGroupId: "fleet-a",
      serviceConnectionString: `HostName=my-dps.azure-devices-provisioning.net;SharedAccessKeyName=enrollments;SharedAccessKey=${FAKE_DPS_KEY}`,
      iotHubs: ["my-hub.azure-devices.net"],
    });
    expect(enrollment.inputs.caCertificate).toBeUndefined();
    expect(appearsInClear(enrollment.inputs, FAKE_DPS_KEY)).toBe(false);
  });

  it("keeps a group's own iotHubs", async () => {
    const run = await runProgram({
      stack: "dev",
      config: { ...azureDpsConfig, enrollmentGroups: [{ ...group, iotHubs: ["other.azure-devices.net"] }] },
      engine: fakeCloud(),
    });
    const enrollment = only(run.registrations, "pulumi-nodejs:dynamic/iothub:EnrollmentGroup");
    expect(enrollment.inputs.iotHubs).toEqual(["other.azure-devices.net"]);
  });

  it("exports the DPS (id scope, hosts, group ids) and verify's connection string as a secret, as verify reads them", async () => {
    const run = await runProgram({ stack: "dev", config: azureDpsConfig, engine: fakeCloud() });
    expect(run.outputs.dps).toEqual({
      idScope: FAKE_DPS_ID_SCOPE,
      serviceHostName: "my-dps.azure-devices-provisioning.net",
      provisioningHost: "global.azure-devices-provisioning.net",
      enrollmentGroups: ["fleet-a"],
    });
    expect(run.outputs.dpsServiceConnectionString).toBe(
      `HostName=my-dps.azure-devices-provisioning.net;SharedAccessKeyName=verify;SharedAccessKey=${FAKE_DPS_KEY}`,
    );
    expect(run.secretOutputs).toEqual(expect.arrayContaining(["dpsServiceConnectionString"]));
    // as `pulumi stack output --json --show-secrets` prints them
    const read = readStackOutputs(JSON.parse(JSON.stringify(run.outputs))).outputs;
    expect(read?.dps).toEqual(run.outputs.dps);
    expect(read?.dpsServiceConnectionString).toBe(run.outputs.dpsServiceConnectionString);
  });

  it("makes no DPS, no DPS link policy and no DPS outputs without `dps`", async () => {
    const cloud = fakeCloud();
    const { dps: _dps, enrollmentGroups: _groups, ...withoutDps } = azureDpsConfig;
    const run = await runProgram({ stack: "dev", config: withoutDps, engine: cloud });
    expect(run.registrations.filter((registration) => registration.type === DPS_TYPE)).toEqual([]);
    const hub = only(run.registrations, "azure-native:iothub:IotHubResource");
    expect((hub.inputs.properties as Record<string, unknown>).authorizationPolicies).toEqual([
      { keyName: "provisioner", rights: "RegistryWrite, ServiceConnect" },
    ]);
    expect(run.outputs).not.toHaveProperty("dps");
    expect(run.outputs).not.toHaveProperty("dpsServiceConnectionString");
    expect(cloud.calls.map((call) => call.token)).not.toContain(DPS_KEYS);
  });

  const refused: [string, Record<string, unknown>, string][] = [
    [
      "a DPS without a name",
      { ...azureDpsConfig, dps: {} },
      "iothub-provisioner:dps.name: is required on the azure target",
    ],
    [
      "a name with a space",
      { ...azureDpsConfig, dps: { name: "my dps" } },
      "iothub-provisioner:dps.name: must be 3-64 letters, digits or hyphens",
    ],
    [
      "a name too short",
      { ...azureDpsConfig, dps: { name: "ab" } },
      "iothub-provisioner:dps.name: must be 3-64 letters, digits or hyphens",
    ],
    [
      "an oversized name",
      { ...azureDpsConfig, dps: { name: "d".repeat(65) } },
      "iothub-provisioner:dps.name: must be 3-64 letters, digits or hyphens",
    ],
    ["a name that is no string", { ...azureDpsConfig, dps: { name: 42 } }, "iothub-provisioner:dps.name"],
    ["another SKU", { ...azureDpsConfig, dps: { name: "my-dps", sku: "S2" } }, "iothub-provisioner:dps.sku"],
    [
      "auth entra",
      { ...azureDpsConfig, auth: "entra" },
      "iothub-provisioner:dps: cannot go with auth: entra on the azure target: DPS links the hub through a hub shared access policy",
    ],
    [
      "the provisioner policy named as the DPS link's",
      { ...azureDpsConfig, policyName: "provisioningservice" },
      "iothub-provisioner:policyName: must not be provisioningservice when dps is declared on the azure target",
    ],
    [
      "groups without a DPS",
      { target: "azure", hub: azureHub, enrollmentGroups: [group] },
      "iothub-provisioner:dps: is required when enrollmentGroups are declared",
    ],
  ];

  it.each(refused)("refuses %s, creating nothing", async (_case, config, expected) => {
    const cloud = fakeCloud();
    await expect(runProgram({ stack: "dev", config, engine: cloud })).rejects.toThrow(expected);
    expect(cloud.resourceCount()).toBe(0);
    expect(cloud.calls).toEqual([]);
  });
});

describe("dps on the local target", () => {
  it("exports the local DPS, the hub's MQTT endpoint and its owner connection string as a secret; groups default to the hub", async () => {
    const run = await runProgram({
      stack: "local",
      // the azure target's name is not read here: a stack switches target by one key
      config: { target: "local", dps: { name: "my-dps" }, enrollmentGroups: [group] },
      engine: fakeCloud(),
    });
    expect(run.outputs.dps).toEqual({
      idScope: "0ne00000001",
      serviceHostName: "127.0.0.2",
      provisioningHost: "127.0.0.2:8883",
      gatewayHostName: `${FAKE_LOCAL_HOST}:18883`,
      enrollmentGroups: ["fleet-a"],
    });
    expect(run.outputs.dpsServiceConnectionString).toContain("SharedAccessKeyName=provisioningserviceowner");
    expect(run.secretOutputs).toEqual(expect.arrayContaining(["dpsServiceConnectionString"]));
    const enrollment = only(run.registrations, "pulumi-nodejs:dynamic/iothub:EnrollmentGroup");
    expect(enrollment.inputs).toMatchObject({ iotHubs: [FAKE_LOCAL_HOST], caCertificate: FAKE_CA_PEM });
    expect(run.registrations.filter((registration) => registration.type.startsWith("azure-native:"))).toEqual(
      [],
    );
    expect(readStackOutputs(run.outputs).outputs?.dps).toEqual(run.outputs.dps);
  });
});
