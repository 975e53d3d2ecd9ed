import * as pulumi from "@pulumi/pulumi";
import * as deviceprovisioningservices from "@pulumi/azure-native/deviceprovisioningservices";
import type { DpsRight } from "../../lib/dps/rules";
import type { DpsOutputs } from "./dpsOutputs";
import { listedKeyConnectionString } from "./listedKeyConnectionString";

/** What the azure target's DPS needs: its settings from the stack config and the hub it links. */
export interface AzureDpsArgs {
  /** The DPS's name (the config requires it on the azure target) and SKU. */
  name: string;
  sku: "S1";
  resourceGroupName: pulumi.Input<string>;
  location: pulumi.Input<string>;
  /** Secret: the linked hub's connection string for the DPS link's policy (RegistryWrite, ServiceConnect). */
  hubConnectionString: pulumi.Input<string>;
  /** The linked hub's region. */
  hubLocation: pulumi.Input<string>;
  /** The hub's tags (`hub.tags`), so the two resources are found together. */
  tags?: Record<string, string>;
}

/**
 * The DPS's shared access policies, each with only what its one user needs: the enrollment resources read and
 * write enrollments; verify reads the group and, without --group-key, its key (a POST on the attestation mechanism,
 * which the local DPS grants with EnrollmentWrite), and reads and deletes the registrations of the devices it
 * simulated. Neither holds ServiceConfig.
 */
export const AZURE_DPS_POLICIES = {
  enrollments: { keyName: "enrollments", rights: ["EnrollmentRead", "EnrollmentWrite"] },
  verify: {
    keyName: "verify",
    rights: ["EnrollmentRead", "EnrollmentWrite", "RegistrationStatusRead", "RegistrationStatusWrite"],
  },
} as const satisfies Record<string, { keyName: string; rights: readonly DpsRight[] }>;

/**
 * A Device Provisioning Service in the hub's resource group, linked to the stack's hub.
 *
 * `authorizationPolicies` is the DPS's whole list (as the hub's replaces Azure's defaults, so no
 * `provisioningserviceowner` with every right is left behind): exactly AZURE_DPS_POLICIES. Their keys are read
 * back with listIotDpsResourceKeysForKeyName into secret connection strings.
 */
export class AzureDps extends pulumi.ComponentResource implements DpsOutputs {
  readonly idScope: pulumi.Output<string>;
  readonly serviceHostName: pulumi.Output<string>;
  readonly provisioningHost: pulumi.Output<string>;
  readonly enrollmentConnectionString: pulumi.Output<string>;
  readonly verifyConnectionString: pulumi.Output<string>;
  readonly caCertificate: pulumi.Output<string | undefined>;
  readonly provisioningService: deviceprovisioningservices.IotDpsResource;

  constructor(name: string, args: AzureDpsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("iothub-provisioner:hub:AzureDps", name, {}, opts);
    const service = new deviceprovisioningservices.IotDpsResource(
      `${name}-service`,
      {
        provisioningServiceName: args.name,
        resourceGroupName: args.resourceGroupName,
        location: args.location,
        sku: { name: args.sku, capacity: 1 },
        properties: {
          iotHubs: [
            { connectionString: pulumi.secret(args.hubConnectionString), location: args.hubLocation },
          ],
          authorizationPolicies: Object.values(AZURE_DPS_POLICIES).map((policy) => ({
            keyName: policy.keyName,
            rights: policy.rights.join(", "),
          })),
        },
        tags: args.tags,
      },
      // DPS names are global in Azure: a replacement (new resource group, location) must free the name first.
      { parent: this, deleteBeforeReplace: true },
    );
    // The linked hub's connection string makes the whole `properties` output secret; the id scope and the host
    // names in it are none (devices are given them), so the outputs taken from it are not.
    const serviceHostName = pulumi.unsecret(service.properties.serviceOperationsHostName);
    const policyConnectionString = (keyName: string): pulumi.Output<string> => {
      const keys = deviceprovisioningservices.listIotDpsResourceKeysForKeyNameOutput(
        { keyName, provisioningServiceName: service.name, resourceGroupName: args.resourceGroupName },
        { parent: this },
      );
      return listedKeyConnectionString(`DPS ${args.name}`, serviceHostName, keyName, keys.primaryKey);
    };
    this.provisioningService = service;
    this.idScope = pulumi.unsecret(service.properties.idScope);
    this.serviceHostName = serviceHostName;
    // `global.azure-devices-provisioning.net` in Azure's public cloud: where every DPS's devices register.
    this.provisioningHost = pulumi.unsecret(service.properties.deviceProvisioningHostName);
    this.enrollmentConnectionString = policyConnectionString(AZURE_DPS_POLICIES.enrollments.keyName);
    this.verifyConnectionString = policyConnectionString(AZURE_DPS_POLICIES.verify.keyName);
    this.caCertificate = pulumi.output(undefined);
    this.registerOutputs({ idScope: this.idScope, serviceHostName });
  }
}
