import type * as pulumi from "@pulumi/pulumi";
import { configurationResourceProvider } from "./configuration";
import { edgeDeploymentResourceProvider } from "./edgeDeployment";

/** The provider each ADM resource hands to Pulumi, by resource name (tests serve them like the registry's). */
export const admProviders: Record<"Configuration" | "EdgeDeployment", pulumi.dynamic.ResourceProvider> = {
  Configuration: configurationResourceProvider,
  EdgeDeployment: edgeDeploymentResourceProvider,
};
