import * as pulumi from "@pulumi/pulumi";
import * as iothub from "@pulumi/azure-native/iothub";
import * as resources from "@pulumi/azure-native/resources";
import { serviceConnectionString } from "../../lib/iothub/sas";
import { AzureHubConfig, OWNER_POLICY_NAME } from "../config";
import { HubOutputs } from "./hubOutputs";

/** What the Azure target needs: the hub's settings from stack config and the provisioner policy's name. */
export interface AzureHubArgs {
  hub: AzureHubConfig;
  /** The shared access policy the registry resources use (RegistryWrite + ServiceConnect). */
  policyName: string;
}

// azure-native's enum value for exactly the provisioner's rights.
const PROVISIONER_ACCESS_RIGHTS = iothub.AccessRights.RegistryWrite_ServiceConnect;
const OWNER_ACCESS_RIGHTS = iothub.AccessRights.RegistryRead_RegistryWrite_ServiceConnect_DeviceConnect;

/**
 * A resource group and an IoT hub in Azure whose shared access policies are exactly the provisioner policy (and
 * the owner policy when configured): `authorizationPolicies` replaces Azure's default list, so nothing broader is
 * left behind. Its connection string is read back with listIotHubResourceKeysForKeyName and kept secret.
 */
export class AzureHub extends pulumi.ComponentResource implements HubOutputs {
  readonly hostName: pulumi.Output<string>;
  readonly serviceConnectionString: pulumi.Output<string>;
  readonly caFile: pulumi.Output<string | undefined>;
  readonly caCertificate: pulumi.Output<string | undefined>;
  readonly gatewayHostName: pulumi.Output<string | undefined>;
  readonly resourceGroup: resources.ResourceGroup;
  readonly iotHub: iothub.IotHubResource;

  constructor(name: string, args: AzureHubArgs, opts?: pulumi.ComponentResourceOptions) {
    super("iothub-provisioner:hub:AzureHub", name, {}, opts);
    const { hub, policyName } = args;

    const resourceGroup = new resources.ResourceGroup(
      `${name}-rg`,
      { resourceGroupName: hub.resourceGroupName, location: hub.location },
      // Named explicitly: a replacement (new location) must free the name first.
      { parent: this, deleteBeforeReplace: true },
    );

    const authorizationPolicies: Array<{ keyName: string; rights: iothub.AccessRights }> = [
      { keyName: policyName, rights: PROVISIONER_ACCESS_RIGHTS },
    ];
    if (hub.ownerPolicy)
      authorizationPolicies.push({ keyName: OWNER_POLICY_NAME, rights: OWNER_ACCESS_RIGHTS });

    const iotHub = new iothub.IotHubResource(
      `${name}-iothub`,
      {
        resourceName: hub.name,
        resourceGroupName: resourceGroup.name,
        location: resourceGroup.location,
        sku: { name: hub.sku, capacity: hub.capacity },
        properties: { authorizationPolicies },
        tags: hub.tags,
      },
      // Hub names are global in Azure: a replacement (new location, resource group) must free the name first.
      { parent: this, deleteBeforeReplace: true },
    );

    const hostName = iotHub.properties.hostName;
    const keys = iothub.listIotHubResourceKeysForKeyNameOutput(
      { keyName: policyName, resourceGroupName: resourceGroup.name, resourceName: iotHub.name },
      { parent: this },
    );
    // The invoke's keys are not marked secret by azure-native: the connection string is wrapped here.
    const connectionString = pulumi.secret(
      pulumi.all([hostName, keys.primaryKey]).apply(([host, key]) => {
        if (!key) throw new Error(`IoT hub ${hub.name}: policy ${policyName} has no primary key`);
        return serviceConnectionString(host, policyName, key);
      }),
    );

    this.resourceGroup = resourceGroup;
    this.iotHub = iotHub;
    this.hostName = hostName;
    this.serviceConnectionString = connectionString;
    this.caFile = pulumi.output(undefined);
    this.caCertificate = pulumi.output(undefined);
    this.gatewayHostName = pulumi.output(undefined);
    this.registerOutputs({ hostName, serviceConnectionString: connectionString });
  }
}
