import type * as pulumi from "@pulumi/pulumi";

/**
 * What every DPS target yields (the azure target's AzureDps, the local hub's LocalDps), so the enrollment
 * resources and the stack outputs are the same for both.
 */
export interface DpsOutputs {
  /** The DPS's id scope (`0ne...`), which devices register with. */
  idScope: pulumi.Output<string>;
  /** The service API's host name, as in the DPS's connection strings. */
  serviceHostName: pulumi.Output<string>;
  /** Where devices register: `global.azure-devices-provisioning.net` on Azure, `host:port` locally. */
  provisioningHost: pulumi.Output<string>;
  /** Secret: the connection string the enrollment resources use (enrollment read and write). */
  enrollmentConnectionString: pulumi.Output<string>;
  /**
   * Secret: the connection string `verify --enrollment` uses: it reads the group and its key and deletes the
   * simulated devices' registrations.
   */
  verifyConnectionString: pulumi.Output<string>;
  /** PEM of the CA the DPS's certificate chains to, when it is not a public one (the local hub's). */
  caCertificate: pulumi.Output<string | undefined>;
}
