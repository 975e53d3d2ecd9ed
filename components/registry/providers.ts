import type * as pulumi from "@pulumi/pulumi";
import { deviceIdentityProvider } from "./deviceIdentity";
import { deviceTwinProvider } from "./deviceTwin";
import { moduleIdentityProvider } from "./moduleIdentity";
import { moduleTwinProvider } from "./moduleTwin";

/** Every registry provider by resource name (tests serialize and serve them, the benchmark too). */
export const providers: Record<
  "DeviceIdentity" | "ModuleIdentity" | "ModuleTwin" | "DeviceTwin",
  pulumi.dynamic.ResourceProvider
> = {
  DeviceIdentity: deviceIdentityProvider,
  ModuleIdentity: moduleIdentityProvider,
  ModuleTwin: moduleTwinProvider,
  DeviceTwin: deviceTwinProvider,
};
