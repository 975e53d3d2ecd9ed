import type * as pulumi from "@pulumi/pulumi";
import { configurationResourceProvider } from "./configuration";
import { edgeDeploymentResourceProvider } from "./edgeDeployment";
import { edgeDeviceModulesResourceProvider } from "./edgeDeviceModules";

/** The provider each ADM resource hands to Pulumi, by resource name (tests serve them like the registry's). */
export const admProviders: Record<
  "Configuration" | "EdgeDeployment" | "EdgeDeviceModules",
  pulumi.dynamic.ResourceProvider
> = {
  Configuration: configurationResourceProvider,
  EdgeDeployment: edgeDeploymentResourceProvider,
  EdgeDeviceModules: edgeDeviceModulesResourceProvider,
};
