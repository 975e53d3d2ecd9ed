import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import * as iothub from "@pulumi/azure-native/iothub";
import * as resources from "@pulumi/azure-native/resources";
import { findRole } from "../../lib/iothub/dataPlaneRoles";
import type { EntraCredentialSettings } from "../../lib/iothub/entraCredential";
import type { HubAuthMode } from "../../lib/iothub/serviceClient";
import {
  AzureHubConfig,
  DEFAULT_ENTRA_ROLES,
  DPS_LINK_POLICY_NAME,
  OWNER_POLICY_NAME,
  type EntraConfig,
} from "../config";
import { HubOutputs } from "./hubOutputs";
import { listedKeyConnectionString } from "./listedKeyConnectionString";

/** What the Azure target needs: the hub's settings from stack config and how the provisioner authenticates. */
export interface AzureHubArgs {
  hub: AzureHubConfig;
  /** The shared access policy the registry resources use with auth sas (RegistryWrite + ServiceConnect). */
  policyName: string;
  /** `sas` (default): a provisioner policy; `entra`: local auth disabled, data-plane roles for a principal. */
  auth?: HubAuthMode;
  /** With auth entra: which principal gets which roles (default: the deploying principal, DEFAULT_ENTRA_ROLES). */
  entra?: EntraConfig;
  /** The stack declares a DPS (auth sas only, the config's rule): the hub gets the DPS link's policy too. */
  linksDps?: boolean;
}

// azure-native's enum value for exactly the provisioner's rights.
const PROVISIONER_ACCESS_RIGHTS = iothub.AccessRights.RegistryWrite_ServiceConnect;
const OWNER_ACCESS_RIGHTS = iothub.AccessRights.RegistryRead_RegistryWrite_ServiceConnect_DeviceConnect;
// What a DPS needs of a linked hub, as Microsoft's "How to link and manage IoT hubs" (iot-dps) says: "RegistryWrite
// and ServiceConnect" (it creates the device and writes its initial twin). The same rights as the provisioner's,
// on a key of its own.
const DPS_LINK_ACCESS_RIGHTS = iothub.AccessRights.RegistryWrite_ServiceConnect;

/**
 * A resource group and an IoT hub in Azure.
 *
 * Auth sas: the hub's shared access policies are exactly the provisioner policy (and the owner policy when
 * configured, and the DPS link's policy when the stack declares a DPS): `authorizationPolicies` replaces Azure's
 * default list, so nothing broader is left behind. Connection strings are read back with
 * listIotHubResourceKeysForKeyName and kept secret.
 *
 * Auth entra: `disableLocalAuth: true` (no shared access policy reaches the service API; devices keep their SAS
 * keys and X.509), no provisioner policy and no connection string; the principal (the configured `principalId`,
 * else the deploying one) gets each configured data-plane role at the hub's scope, and the registry resources
 * wait for those assignments (registryDependencies).
 */
export class AzureHub extends pulumi.ComponentResource implements HubOutputs {
  readonly hostName: pulumi.Output<string>;
  readonly auth: HubAuthMode;
  readonly serviceConnectionString: pulumi.Output<string> | undefined;
  readonly entra: pulumi.Output<EntraCredentialSettings> | undefined;
  readonly caFile: pulumi.Output<string | undefined>;
  readonly caCertificate: pulumi.Output<string | undefined>;
  readonly gatewayHostName: pulumi.Output<string | undefined>;
  readonly registryDependencies: pulumi.Resource[];
  readonly resourceGroup: resources.ResourceGroup;
  readonly iotHub: iothub.IotHubResource;
  /** The principal's data-plane role assignments at the hub's scope (auth entra). */
  readonly roleAssignments: authorization.RoleAssignment[];
  /** The DPS link's policy's connection string (secret), when `linksDps`: what the DPS's `iotHubs` entry takes. */
  readonly dpsLinkConnectionString: pulumi.Output<string> | undefined;

  constructor(name: string, args: AzureHubArgs, opts?: pulumi.ComponentResourceOptions) {
    super("iothub-provisioner:hub:AzureHub", name, {}, opts);
    const { hub, policyName } = args;
    const entra = args.auth === "entra";

    const resourceGroup = new resources.ResourceGroup(
      `${name}-rg`,
      { resourceGroupName: hub.resourceGroupName, location: hub.location },
      // Named explicitly: a replacement (new location) must free the name first.
      { parent: this, deleteBeforeReplace: true },
    );

    // With entra, the list holds no provisioner policy: empty unless the owner policy is asked for (it is then
    // for the portal and tools that read keys; disableLocalAuth keeps it off the service API).
    const authorizationPolicies: Array<{ keyName: string; rights: iothub.AccessRights }> = entra
      ? []
      : [{ keyName: policyName, rights: PROVISIONER_ACCESS_RIGHTS }];
    if (hub.ownerPolicy)
      authorizationPolicies.push({ keyName: OWNER_POLICY_NAME, rights: OWNER_ACCESS_RIGHTS });
    const linksDps = args.linksDps === true && !entra;
    if (linksDps)
      authorizationPolicies.push({ keyName: DPS_LINK_POLICY_NAME, rights: DPS_LINK_ACCESS_RIGHTS });

    const iotHub = new iothub.IotHubResource(
      `${name}-iothub`,
      {
        resourceName: hub.name,
        resourceGroupName: resourceGroup.name,
        location: resourceGroup.location,
        sku: { name: hub.sku, capacity: hub.capacity },
        properties: { authorizationPolicies, ...(entra ? { disableLocalAuth: true } : {}) },
        tags: hub.tags,
      },
      // Hub names are global in Azure: a replacement (new location, resource group) must free the name first.
      { parent: this, deleteBeforeReplace: true },
    );

    const hostName = iotHub.properties.hostName;
    this.resourceGroup = resourceGroup;
    this.iotHub = iotHub;
    this.hostName = hostName;
    this.auth = entra ? "entra" : "sas";
    this.caFile = pulumi.output(undefined);
    this.caCertificate = pulumi.output(undefined);
    this.gatewayHostName = pulumi.output(undefined);

    if (entra) {
      this.roleAssignments = dataPlaneRoleAssignments(name, iotHub, args.entra, this);
      this.registryDependencies = this.roleAssignments;
      this.serviceConnectionString = undefined;
      this.dpsLinkConnectionString = undefined;
      // DefaultAzureCredential in the provider process: nothing to carry but the tenant, when configured.
      this.entra = pulumi.secret(args.entra?.tenantId ? { tenantId: args.entra.tenantId } : {});
      this.registerOutputs({ hostName });
      return;
    }

    const policyConnectionString = (keyName: string): pulumi.Output<string> => {
      const keys = iothub.listIotHubResourceKeysForKeyNameOutput(
        { keyName, resourceGroupName: resourceGroup.name, resourceName: iotHub.name },
        { parent: this },
      );
      return listedKeyConnectionString(`IoT hub ${hub.name}`, hostName, keyName, keys.primaryKey);
    };
    const connectionString = policyConnectionString(policyName);
    this.roleAssignments = [];
    this.registryDependencies = [];
    this.serviceConnectionString = connectionString;
    this.dpsLinkConnectionString = linksDps ? policyConnectionString(DPS_LINK_POLICY_NAME) : undefined;
    this.entra = undefined;
    this.registerOutputs({ hostName, serviceConnectionString: connectionString });
  }
}

/**
 * One RoleAssignment per configured role, at the hub's scope, for the configured principal or else the one
 * deploying (getClientConfig's objectId). Built-in role definitions live at the subscription:
 * `/subscriptions/<id>/providers/Microsoft.Authorization/roleDefinitions/<definitionId>`.
 */
function dataPlaneRoleAssignments(
  name: string,
  iotHub: iothub.IotHubResource,
  entra: EntraConfig | undefined,
  parent: pulumi.Resource,
): authorization.RoleAssignment[] {
  const client = authorization.getClientConfigOutput({ parent });
  const principalId = entra?.principalId ?? client.objectId;
  const roles = entra?.roles ?? DEFAULT_ENTRA_ROLES;
  return roles.map((roleName) => {
    // The config's schema admits only the built-in roles' names (any case).
    const role = findRole(roleName)!;
    return new authorization.RoleAssignment(
      `${name}-role-${role.name.toLowerCase().replace(/ /g, "-")}`,
      {
        principalId,
        principalType: entra?.principalType ?? "User",
        roleDefinitionId: pulumi.interpolate`/subscriptions/${client.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${role.definitionId}`,
        scope: iotHub.id,
      },
      { parent },
    );
  });
}
