import * as pulumi from "@pulumi/pulumi";

/**
 * What every hub target yields, so the fleet and the stack outputs are the same for Azure and the local hub.
 * The local-only fields are undefined for Azure (its TLS chains to public CAs and MQTT listens on 8883).
 */
export interface HubOutputs {
  /** The hub's host name, as in connection strings. */
  hostName: pulumi.Output<string>;
  /** Connection string of the provisioner policy (RegistryWrite + ServiceConnect). Always a secret. */
  serviceConnectionString: pulumi.Output<string>;
  /** Path of the CA certificate that the hub's TLS certificate chains to (local hub only). */
  caFile: pulumi.Output<string | undefined>;
  /** That CA certificate's PEM (local hub only). */
  caCertificate: pulumi.Output<string | undefined>;
  /** `host:port` for device connection strings when MQTT is not on 8883 (local hub only). */
  gatewayHostName: pulumi.Output<string | undefined>;
}
