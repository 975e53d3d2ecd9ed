/**
 * A stand-in for what cannot run here: Azure (azure-native's resources and the key-listing invoke) and, for the
 * graph tests, the registry providers. It answers like the real services would, and records what it was asked.
 */
import type * as PulumiModule from "@pulumi/pulumi";
import { plainInputs, type MockEngine } from "./runProgram";

export const FAKE_POLICY_KEY = Buffer.alloc(32, 7).toString("base64");
/** The key of the identities' previous connection strings (the key active before the last rotation). */
export const FAKE_PREVIOUS_KEY = Buffer.alloc(32, 9).toString("base64");
export const FAKE_LOCAL_HOST = "127.0.0.42";
/** The keys of an Azure DPS's policies, and its id scope, as azure-native answers for them. */
export const FAKE_DPS_KEY = Buffer.alloc(32, 5).toString("base64");
export const FAKE_DPS_ID_SCOPE = "0ne000A1B2C";
/** The deploying principal and its subscription, as azure-native's getClientConfig answers for it. */
export const FAKE_CLIENT_CONFIG = {
  clientId: "0a0a0a0a-1111-2222-3333-444444444444",
  objectId: "0b0b0b0b-5555-6666-7777-888888888888",
  subscriptionId: "0c0c0c0c-9999-aaaa-bbbb-cccccccccccc",
  tenantId: "0d0d0d0d-dddd-eeee-ffff-000000000000",
};
export const FAKE_AUTHORITY_HOST = `https://${FAKE_LOCAL_HOST}:14443`;
export const FAKE_TENANT_ID = "local-tenant";
export const FAKE_CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n";

export interface FakeCloud extends MockEngine {
  calls: PulumiModule.runtime.MockCallArgs[];
  resourceCount(): number;
}

export function fakeCloud(): FakeCloud {
  const calls: PulumiModule.runtime.MockCallArgs[] = [];
  let resources = 0;
  return {
    calls,
    resourceCount: () => resources,
    async newResource(args) {
      resources++;
      const inputs = args.inputs as Record<string, unknown>;
      switch (args.type) {
        case "azure-native:resources:ResourceGroup":
          return {
            id: `/subscriptions/0000/resourceGroups/${String(inputs.resourceGroupName)}`,
            state: { ...inputs, name: inputs.resourceGroupName },
          };
        case "azure-native:iothub:IotHubResource": {
          const properties = (inputs.properties ?? {}) as Record<string, unknown>;
          return {
            id: `/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Devices/IotHubs/${String(inputs.resourceName)}`,
            state: {
              ...inputs,
              name: inputs.resourceName,
              properties: { ...properties, hostName: `${String(inputs.resourceName)}.azure-devices.net` },
            },
          };
        }
        case "pulumi-nodejs:dynamic/iothub:LocalHubPolicy":
          return {
            id: `${String(inputs.stateDir)}#${String(inputs.policyName)}`,
            state: {
              ...inputs,
              hostName: FAKE_LOCAL_HOST,
              serviceConnectionString: `HostName=${FAKE_LOCAL_HOST};SharedAccessKeyName=${String(inputs.policyName)};SharedAccessKey=${FAKE_POLICY_KEY}`,
              caFile: "/fake/state/ca.pem",
              caCertificate: FAKE_CA_PEM,
              gatewayHostName: `${FAKE_LOCAL_HOST}:18883`,
            },
          };
        case "pulumi-nodejs:dynamic/iothub:DeviceIdentity":
          return {
            id: String(inputs.deviceId),
            state: {
              ...inputs,
              deviceScope: `ms-azure-iot-edge://${String(inputs.deviceId)}-0001`,
              connectionString: `HostName=hub;DeviceId=${String(inputs.deviceId)};SharedAccessKey=${FAKE_POLICY_KEY}`,
            },
          };
        case "pulumi-nodejs:dynamic/iothub:ModuleIdentity":
          return {
            id: `${String(inputs.deviceId)}/${String(inputs.moduleId)}`,
            state: {
              ...inputs,
              connectionString: `HostName=hub;DeviceId=${String(inputs.deviceId)};ModuleId=${String(inputs.moduleId)};SharedAccessKey=${FAKE_POLICY_KEY}`,
              previousConnectionString: `HostName=hub;DeviceId=${String(inputs.deviceId)};ModuleId=${String(inputs.moduleId)};SharedAccessKey=${FAKE_PREVIOUS_KEY}`,
            },
          };
        case "pulumi-nodejs:dynamic/iothub:Configuration":
        case "pulumi-nodejs:dynamic/iothub:EdgeDeployment":
          // The id's hash part is the provider's to derive: a fixed stand-in here.
          return {
            id: `${String(inputs.name)}-00000000`,
            state: { ...inputs, configurationId: `${String(inputs.name)}-00000000`, etag: "MQ==" },
          };
        case "pulumi-nodejs:dynamic/iothub:LocalHubEndpoint":
          return {
            id: String(inputs.stateDir),
            state: {
              ...inputs,
              hostName: FAKE_LOCAL_HOST,
              caFile: "/fake/state/ca.pem",
              caCertificate: FAKE_CA_PEM,
              gatewayHostName: `${FAKE_LOCAL_HOST}:18883`,
              authorityHost: FAKE_AUTHORITY_HOST,
              tenantId: FAKE_TENANT_ID,
            },
          };
        case "pulumi-nodejs:dynamic/iothub:LocalDps":
          return {
            id: String(inputs.stateDir),
            state: {
              ...inputs,
              hostName: "127.0.0.2",
              idScope: "0ne00000001",
              provisioningHost: "127.0.0.2:8883",
              serviceConnectionString: `HostName=127.0.0.2;SharedAccessKeyName=provisioningserviceowner;SharedAccessKey=${FAKE_POLICY_KEY}`,
              caCertificate: FAKE_CA_PEM,
            },
          };
        case "azure-native:deviceprovisioningservices:IotDpsResource": {
          // The linked hub's connection string makes the whole `properties` input a secret.
          const properties = (plainInputs(inputs.properties) ?? {}) as Record<string, unknown>;
          return {
            id: `/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Devices/provisioningServices/${String(inputs.provisioningServiceName)}`,
            state: {
              ...inputs,
              name: inputs.provisioningServiceName,
              properties: {
                ...properties,
                idScope: FAKE_DPS_ID_SCOPE,
                serviceOperationsHostName: `${String(inputs.provisioningServiceName)}.azure-devices-provisioning.net`,
                deviceProvisioningHostName: "global.azure-devices-provisioning.net",
              },
            },
          };
        }
        case "azure-native:authorization:RoleAssignment":
          return {
            id: `${String(inputs.scope)}/providers/Microsoft.Authorization/roleAssignments/${args.name}`,
            state: { ...inputs },
          };
        default:
          // components, twins: their inputs are their state
          return { id: args.custom ? `${args.name}-id` : undefined, state: { ...inputs } };
      }
    },
    call(args) {
      calls.push(args);
      if (args.token === "azure-native:iothub:listIotHubResourceKeysForKeyName") {
        return {
          keyName: args.inputs.keyName,
          primaryKey: FAKE_POLICY_KEY,
          secondaryKey: FAKE_POLICY_KEY,
          rights: "RegistryWrite, ServiceConnect",
        };
      }
      if (args.token === "azure-native:deviceprovisioningservices:listIotDpsResourceKeysForKeyName") {
        return {
          keyName: args.inputs.keyName,
          primaryKey: FAKE_DPS_KEY,
          secondaryKey: FAKE_DPS_KEY,
          rights: "EnrollmentRead, EnrollmentWrite",
        };
      }
      if (args.token === "azure-native:authorization:getClientConfig") return { ...FAKE_CLIENT_CONFIG };
      throw new Error(`unexpected invoke ${args.token}`);
    },
  };
}
