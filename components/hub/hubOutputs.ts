import type * as pulumi from "@pulumi/pulumi";
import type { EntraCredentialSettings } from "../../lib/iothub/entraCredential";
import type { HubAuthMode } from "../../lib/iothub/serviceClient";

/**
 * What every hub target yields, so the fleet and the stack outputs are the same for Azure and the local hub.
 * The local-only fields are undefined for Azure (its TLS chains to public CAs and MQTT listens on 8883).
 */
export interface HubOutputs {
  /** The hub's host name, as in connection strings. */
  hostName: pulumi.Output<string>;
  /** How the registry providers and verify authenticate to the service API (`iothub-provisioner:auth`). */
  auth: HubAuthMode;
  /**
   * Connection string of the provisioner policy (RegistryWrite + ServiceConnect). Always a secret. Auth sas only:
   * with auth entra no policy exists, so there is none.
   */
  serviceConnectionString: pulumi.Output<string> | undefined;
  /** Auth entra: the credential settings the providers use (a secret: they may hold a client secret). */
  entra: pulumi.Output<EntraCredentialSettings> | undefined;
  /** Path of the CA certificate that the hub's TLS certificate chains to (local hub only). */
  caFile: pulumi.Output<string | undefined>;
  /** That CA certificate's PEM (local hub only). */
  caCertificate: pulumi.Output<string | undefined>;
  /** `host:port` for device connection strings when MQTT is not on 8883 (local hub only). */
  gatewayHostName: pulumi.Output<string | undefined>;
  /** What the registry resources must wait for: the principal's role assignments (Azure, auth entra). */
  registryDependencies: pulumi.Resource[];
}
