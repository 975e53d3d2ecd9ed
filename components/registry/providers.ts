import type * as pulumi from "@pulumi/pulumi";
import { deviceIdentityProvider } from "./deviceIdentity";

/** Every registry provider by resource name (tests serialize and serve them). */
export const providers: Record<string, pulumi.dynamic.ResourceProvider> = {
  DeviceIdentity: deviceIdentityProvider,
};
