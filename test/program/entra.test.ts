import {
  FAKE_AUTHORITY_HOST,
  FAKE_CLIENT_CONFIG,
  FAKE_LOCAL_HOST,
  FAKE_POLICY_KEY,
  FAKE_TENANT_ID,
  fakeCloud,
} from "./support/fakeCloud";
import { isSecretInput, plainInputs, runProgram, type Registration } from "./support/runProgram";

/**
 * The program with `iothub-provisioner:auth: entra`, under mocks: on Azure a hub with local auth disabled, no
 * policy and no policy key anywhere, and the data-plane roles assigned at the hub's scope; on the local target no
 * policy, the hub's authority handed to the providers. `sas` (the default) stays as program.test.ts checks it.
 */

const devices = [{ deviceId: "d1", modules: [{ moduleId: "m1", desired: { interval: 1 } }] }];
const azureHub = { name: "my-hub", resourceGroupName: "my-rg", location: "westeurope" };
const azureEntra = { target: "azure", auth: "entra", hub: azureHub, devices };

const REGISTRY_TYPES = [
  "pulumi-nodejs:dynamic/iothub:DeviceIdentity",
  "pulumi-nodejs:dynamic/iothub:ModuleIdentity",
  "pulumi-nodejs:dynamic/iothub:ModuleTwin",
];

const ROLE_IDS = {
  "IoT Hub Registry Contributor": "4ea46cd5-c1b2-4a8e-910b-273211f9ce47",
  "IoT Hub Twin Contributor": "494bdba2-168f-4f31-a0a1-191d2f7c028c",
  "IoT Hub Data Contributor": "4fc6c259-987e-4a07-842e-c321cc9d413f",
};

function byType(registrations: Registration[], type: string): Registration[] {
  return registrations.filter((registration) => registration.type === type);
}

function roleDefinition(id: string): string {
  return `/subscriptions/${FAKE_CLIENT_CONFIG.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${id}`;
}

const HUB_ID = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Devices/IotHubs/my-hub";

describe("auth entra on the azure target", () => {
  it("disables local auth on the hub, makes no provisioner policy and lists no key", async () => {
    const cloud = fakeCloud();
    const run = await runProgram({ stack: "dev", config: azureEntra, engine: cloud });
    const [hub] = byType(run.registrations, "azure-native:iothub:IotHubResource");
    expect(hub.inputs.properties).toEqual({ authorizationPolicies: [], disableLocalAuth: true });
    expect(cloud.calls.map((call) => call.token)).not.toContain(
      "azure-native:iothub:listIotHubResourceKeysForKeyName",
    );
    expect(byType(run.registrations, "pulumi-nodejs:dynamic/iothub:LocalHubPolicy")).toEqual([]);
  });

  it("assigns the deploying principal IoT Hub Registry Contributor and Twin Contributor at the hub's scope", async () => {
    const run = await runProgram({ stack: "dev", config: azureEntra, engine: fakeCloud() });
    const assignments = byType(run.registrations, "azure-native:authorization:RoleAssignment");
    expect(assignments.map((assignment) => assignment.inputs)).toEqual([
      {
        principalId: FAKE_CLIENT_CONFIG.objectId,
        principalType: "User",
        roleDefinitionId: roleDefinition(ROLE_IDS["IoT Hub Registry Contributor"]),
        scope: HUB_ID,
      },
      {
        principalId: FAKE_CLIENT_CONFIG.objectId,
        principalType: "User",
        roleDefinitionId: roleDefinition(ROLE_IDS["IoT Hub Twin Contributor"]),
        scope: HUB_ID,
      },
    ]);
  });

  it("assigns the configured roles to a configured principal instead", async () => {
    const principalId = "12345678-1234-1234-1234-123456789abc";
    const run = await runProgram({
      stack: "dev",
      config: {
        ...azureEntra,
        entra: { principalId, principalType: "ServicePrincipal", roles: ["IoT Hub Data Contributor"] },
      },
      engine: fakeCloud(),
    });
    const assignments = byType(run.registrations, "azure-native:authorization:RoleAssignment");
    expect(assignments.map((assignment) => assignment.inputs)).toEqual([
      {
        principalId,
        principalType: "ServicePrincipal",
        roleDefinitionId: roleDefinition(ROLE_IDS["IoT Hub Data Contributor"]),
        scope: HUB_ID,
      },
    ]);
  });

  it("creates every device identity only once the role assignments exist", async () => {
    const run = await runProgram({ stack: "dev", config: azureEntra, engine: fakeCloud() });
    const assignments = byType(run.registrations, "azure-native:authorization:RoleAssignment");
    const [device] = byType(run.registrations, "pulumi-nodejs:dynamic/iothub:DeviceIdentity");
    expect(assignments).toHaveLength(2);
    for (const assignment of assignments) {
      expect(device.dependencies.some((urn) => urn.endsWith(`::${assignment.name}`))).toBe(true);
    }
  });

  it("hands the registry resources auth entra and the hub's host name, no connection string or key", async () => {
    const run = await runProgram({ stack: "dev", config: azureEntra, engine: fakeCloud() });
    for (const type of REGISTRY_TYPES) {
      const [resource] = byType(run.registrations, type);
      expect(resource.inputs.auth).toBe("entra");
      expect(resource.inputs.hostName).toBe("my-hub.azure-devices.net");
      expect(resource.inputs.serviceConnectionString).toBeUndefined();
      expect(JSON.stringify(plainInputs(resource.inputs))).not.toContain(FAKE_POLICY_KEY);
      expect(JSON.stringify(plainInputs(resource.inputs))).not.toContain("SharedAccessKeyName");
      expect(isSecretInput(resource.inputs.entra)).toBe(true);
      expect(resource.additionalSecretOutputs).toContain("entra");
    }
  });

  it("exports auth entra and no service connection string; verify reads that", async () => {
    const run = await runProgram({ stack: "dev", config: azureEntra, engine: fakeCloud() });
    expect(run.outputs).toMatchObject({ hostName: "my-hub.azure-devices.net", auth: "entra", entra: {} });
    expect(run.outputs).not.toHaveProperty("serviceConnectionString");
    expect(run.secretOutputs).not.toContain("entra");
  });
});

describe("auth entra on the local target", () => {
  const localEntra = {
    target: "local",
    auth: "entra",
    entra: { clientId: "provisioner-client", clientSecret: "local-secret" },
    devices,
  };

  it("makes no policy; the providers get the hub's authority and the principal, the secret only as a secret", async () => {
    const run = await runProgram({
      stack: "local",
      config: localEntra,
      secretKeys: ["entra"],
      engine: fakeCloud(),
    });
    expect(byType(run.registrations, "pulumi-nodejs:dynamic/iothub:LocalHubPolicy")).toEqual([]);
    expect(byType(run.registrations, "pulumi-nodejs:dynamic/iothub:LocalHubEndpoint")).toHaveLength(1);
    const [module] = byType(run.registrations, "pulumi-nodejs:dynamic/iothub:ModuleIdentity");
    expect(module.inputs.hostName).toBe(FAKE_LOCAL_HOST);
    expect(isSecretInput(module.inputs.entra)).toBe(true);
    expect(plainInputs(module.inputs.entra)).toEqual({
      authorityHost: FAKE_AUTHORITY_HOST,
      tenantId: FAKE_TENANT_ID,
      clientId: "provisioner-client",
      clientSecret: "local-secret",
    });
    expect(run.outputs.entra).toEqual({
      authorityHost: FAKE_AUTHORITY_HOST,
      tenantId: FAKE_TENANT_ID,
      clientId: "provisioner-client",
    });
    expect(JSON.stringify(run.outputs)).not.toContain("local-secret");
    expect(byType(run.registrations, "azure-native:authorization:RoleAssignment")).toEqual([]);
  });
});

describe("the auth and entra config keys", () => {
  async function configError(config: Record<string, unknown>): Promise<string> {
    const error = await runProgram({ stack: "dev", config, engine: fakeCloud() }).then(
      () => undefined,
      (failure: Error) => failure,
    );
    expect(error).toBeDefined();
    return error!.message;
  }

  it("refuses an unknown auth mode, entra keys without auth entra, and keys of the other target", async () => {
    expect(await configError({ ...azureEntra, auth: "oauth" })).toContain(
      "iothub-provisioner:auth: must be one of sas, entra",
    );
    expect(
      await configError({ ...azureEntra, auth: "sas", entra: { roles: ["IoT Hub Data Reader"] } }),
    ).toContain("iothub-provisioner:entra: is used only with auth: entra");
    const azureWithLocalKeys = await configError({ ...azureEntra, entra: { clientSecret: "x" } });
    expect(azureWithLocalKeys).toContain("iothub-provisioner:entra.clientSecret: is for the local target");
    expect(azureWithLocalKeys).not.toContain('"x"');
    expect(
      await configError({
        target: "local",
        auth: "entra",
        entra: { principalId: FAKE_CLIENT_CONFIG.objectId },
      }),
    ).toContain("iothub-provisioner:entra.principalId: is for the azure target");
    expect(await configError({ target: "local", auth: "entra" })).toContain(
      "iothub-provisioner:entra.clientId: is required with auth: entra on the local target",
    );
  });

  it("takes a local client secret only as a config secret, never echoing it", async () => {
    const message = await configError({
      target: "local",
      auth: "entra",
      entra: { clientId: "provisioner-client", clientSecret: "written-in-clear" },
    });
    expect(message).toContain(
      "iothub-provisioner:entra.clientSecret: must be a config secret: pulumi config set --secret --path",
    );
    expect(message).not.toContain("written-in-clear");
  });

  it("refuses malformed, oversized and misspelt entra values, naming the key and never the value", async () => {
    const message = await configError({
      ...azureEntra,
      entra: {
        principalId: "not-a-guid",
        principalType: "Robot",
        roles: ["IoT Hub Registry Contributr", "IoT Hub Twin Contributor", "iot hub twin contributor"],
        tenantId: "t".repeat(500),
        scope: "/subscriptions/x",
      },
    });
    expect(message).toContain("iothub-provisioner:entra.principalId: must be an Entra object id (a GUID)");
    expect(message).toContain(
      "iothub-provisioner:entra.roles[0]: is not an IoT Hub data-plane role (did you mean 'IoT Hub Registry Contributor'?)",
    );
    expect(message).toContain("iothub-provisioner:entra.roles[2]: is listed twice");
    expect(message).toContain(
      "iothub-provisioner:entra.principalType: must be one of User, ServicePrincipal, Group",
    );
    expect(message).toContain("iothub-provisioner:entra.tenantId: must be 1-128 letters");
    expect(message).toContain("iothub-provisioner:entra.scope: is not a known key");
    expect(message).not.toMatch(/not-a-guid|Contributr|ttttt|Robot/);
    expect(await configError({ ...azureEntra, entra: { roles: [] } })).toContain(
      "iothub-provisioner:entra.roles: must name at least one role",
    );
    expect(
      await configError({
        ...azureEntra,
        entra: { roles: Array.from({ length: 50 }, () => "IoT Hub Data Reader") },
      }),
    ).toContain(
      "iothub-provisioner:entra.roles: must name each of IoT Hub's four data-plane roles at most once",
    );
  });
});
