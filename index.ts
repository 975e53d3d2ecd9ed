import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { StackConfigError, readStackConfig, type StackConfig } from "./components/config";
import { DeviceManagement } from "./components/deviceManagement";
import { Enrollments } from "./components/enrollments";
import { Fleet } from "./components/fleet";
import type { ComponentHubArgs } from "./components/hubAccess";
import { AzureDps } from "./components/hub/azureDps";
import { AzureHub } from "./components/hub/azureHub";
import type { DpsOutputs } from "./components/hub/dpsOutputs";
import { LocalDps, localDpsOutputs } from "./components/hub/localDps";
import { LocalHub } from "./components/hub/localHub";
import { publicEntraSettings, type StackOutputs } from "./lib/iothub/stackOutputs";

/**
 * The program: stack config -> hub (Azure or the local hub) -> fleet, deployments and configurations, and with
 * `dps` the DPS and its enrollment groups -> stack outputs. Both targets yield the same HubOutputs (and
 * DpsOutputs), so everything after the hub is identical for both.
 */

function loadConfig(): StackConfig {
  try {
    return readStackConfig();
  } catch (error) {
    // RunError: Pulumi prints the message alone, without a stack trace, and creates nothing.
    if (error instanceof StackConfigError) throw new pulumi.RunError(error.message);
    throw error;
  }
}

const config = loadConfig();

const hub: AzureHub | LocalHub =
  config.target === "azure"
    ? new AzureHub("hub", {
        hub: config.hub,
        policyName: config.policyName,
        auth: config.auth,
        entra: config.entra,
        linksDps: config.dps !== undefined,
      })
    : new LocalHub("hub", {
        stateDir: config.localHub.stateDir,
        policyName: config.policyName,
        auth: config.auth,
        entra: config.entra,
      });

// How both components' resources reach the hub, whichever target made it.
const hubAccess: ComponentHubArgs = {
  auth: hub.auth,
  serviceConnectionString: hub.serviceConnectionString,
  hostName: hub.hostName,
  entra: hub.entra,
  dependsOn: hub.registryDependencies,
};

const fleet = new Fleet("fleet", {
  ...hubAccess,
  caCertificate: hub.caCertificate,
  gatewayHostName: hub.gatewayHostName,
  devices: config.devices,
  registry: config.registry,
});

const deviceManagement = new DeviceManagement("adm", {
  ...hubAccess,
  caCertificate: hub.caCertificate,
  deployments: config.deployments,
  configurations: config.configurations,
  registry: config.registry,
});

// The stack's DPS: on Azure a DPS resource linked to the hub (the config requires its name, and auth sas, so the
// hub has the DPS link's policy), on the local target the local hub's (hub.json's dps).
function stackDps(): DpsOutputs | undefined {
  if (config.dps === undefined) return undefined;
  if (config.target === "local") {
    return localDpsOutputs(new LocalDps("dps", { stateDir: path.resolve(config.localHub.stateDir) }));
  }
  // The config's rules (components/dpsConfig.ts) leave nothing else here: a name, and auth sas.
  if (!(hub instanceof AzureHub) || config.dps.name === undefined || !hub.dpsLinkConnectionString) {
    throw new pulumi.RunError("iothub-provisioner:dps: the azure target needs dps.name and auth sas");
  }
  return new AzureDps("dps", {
    name: config.dps.name,
    sku: config.dps.sku,
    resourceGroupName: hub.resourceGroup.name,
    location: hub.resourceGroup.location,
    hubConnectionString: hub.dpsLinkConnectionString,
    hubLocation: hub.iotHub.location,
    tags: config.hub.tags,
  });
}

const provisioning = stackDps();
const enrollments =
  provisioning &&
  new Enrollments("enrollments", {
    serviceConnectionString: provisioning.enrollmentConnectionString,
    caCertificate: provisioning.caCertificate,
    enrollmentGroups: config.enrollmentGroups,
    defaultIotHubs: [hub.hostName],
    serviceCalls: config.registry,
  });

// The stack outputs: the contract the verify command reads (lib/iothub/stackOutputs.ts), every key of it.
const stackOutputs = {
  hostName: hub.hostName,
  serviceConnectionString: hub.serviceConnectionString && pulumi.secret(hub.serviceConnectionString),
  caFile: config.target === "local" ? hub.caFile : undefined,
  auth: hub.auth === "entra" ? hub.auth : undefined,
  // Without the client secret, so the output need not be secret (verify reads the secret from its environment).
  entra: hub.entra && pulumi.unsecret(hub.entra.apply(publicEntraSettings)),
  modules: fleet.modules,
  deployments: deviceManagement.deployments,
  configurations: deviceManagement.configurations,
  dps: provisioning && {
    idScope: provisioning.idScope,
    serviceHostName: provisioning.serviceHostName,
    provisioningHost: provisioning.provisioningHost,
    gatewayHostName: hub.gatewayHostName,
    enrollmentGroups: (enrollments?.groups ?? []).map((group) => group.enrollmentGroupId),
  },
  dpsServiceConnectionString: provisioning && pulumi.secret(provisioning.verifyConnectionString),
} satisfies Record<keyof StackOutputs, unknown>;

export const {
  hostName,
  serviceConnectionString,
  caFile,
  auth,
  entra,
  modules,
  deployments,
  configurations,
  dps,
  dpsServiceConnectionString,
} = stackOutputs;
