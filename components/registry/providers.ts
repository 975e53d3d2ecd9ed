import type * as pulumi from "@pulumi/pulumi";
import { deviceIdentityResourceProvider } from "./deviceIdentity";
import { deviceTwinResourceProvider } from "./deviceTwin";
import { moduleIdentityResourceProvider } from "./moduleIdentity";
import { moduleTwinResourceProvider } from "./moduleTwin";

/** The provider each registry resource hands to Pulumi, by resource name (tests and the benchmark serve them). */
export const providers: Record<
  "DeviceIdentity" | "ModuleIdentity" | "ModuleTwin" | "DeviceTwin",
  pulumi.dynamic.ResourceProvider
> = {
  DeviceIdentity: deviceIdentityResourceProvider,
  ModuleIdentity: moduleIdentityResourceProvider,
  ModuleTwin: moduleTwinResourceProvider,
  DeviceTwin: deviceTwinResourceProvider,
};
