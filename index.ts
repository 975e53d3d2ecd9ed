import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { StackConfigError, readStackConfig, type StackConfig } from "./components/config";
import { DeviceManagement } from "./components/deviceManagement";
import { Enrollments } from "./components/enrollments";
import { Fleet } from "./components/fleet";
import type { ComponentHubArgs } from "./components/hubAccess";
import { AzureHub } from "./components/hub/azureHub";
import type { HubOutputs } from "./components/hub/hubOutputs";
import { LocalDps } from "./components/hub/localDps";
import { LocalHub } from "./components/hub/localHub";
import { publicEntraSettings, type StackOutputs } from "./lib/iothub/stackOutputs";

/**
 * The program: stack config -> hub (Azure or the local hub) -> fleet, deployments and configurations (and the
 * local target's DPS enrollment groups) -> stack outputs. Both targets yield the same
 * HubOutputs, so everything after the hub is identical for both.
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

const hub: HubOutputs =
  config.target === "azure"
    ? new AzureHub("hub", {
        hub: config.hub,
        policyName: config.policyName,
        auth: config.auth,
        entra: config.entra,
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

// The stack's DPS: on the local target the local hub's (hub.json's dps); the config refuses `dps` on azure so far.
if (config.target === "local" && config.dps !== undefined) {
  const dps = new LocalDps("dps", { stateDir: path.resolve(config.localHub.stateDir) });
  new Enrollments("enrollments", {
    serviceConnectionString: dps.serviceConnectionString,
    caCertificate: dps.caCertificate,
    enrollmentGroups: config.enrollmentGroups,
    serviceCalls: config.registry,
  });
}

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
} = stackOutputs;
