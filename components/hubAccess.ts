import * as pulumi from "@pulumi/pulumi";
import type { EntraCredentialSettings } from "../lib/iothub/entraCredential";
import type { HubAuthMode } from "../lib/iothub/serviceClient";

/** How a component's resources reach the hub, from either target (HubOutputs): the Fleet's and DeviceManagement's. */
export interface ComponentHubArgs {
  /** How the providers authenticate: `sas` (default) or `entra`. */
  auth?: HubAuthMode;
  /** Auth sas: connection string of the provisioner policy (secret). */
  serviceConnectionString?: pulumi.Input<string>;
  /** Auth entra: the hub's host name. */
  hostName?: pulumi.Input<string>;
  /** Auth entra: the credential settings (kept secret: they may hold a client secret). */
  entra?: pulumi.Input<EntraCredentialSettings>;
  /** Resources every resource of the component waits for (auth entra: the principal's role assignments). */
  dependsOn?: pulumi.Resource[];
}

/**
 * The hub connection inputs each resource gets (components/registry/hubConnection.ts's HubConnectionArgs): only
 * the chosen auth mode's, every secret marked as one.
 */
export function resourceHubConnection(args: ComponentHubArgs) {
  return args.auth === "entra"
    ? { auth: "entra" as const, hostName: args.hostName, entra: args.entra && pulumi.secret(args.entra) }
    : {
        serviceConnectionString: args.serviceConnectionString && pulumi.secret(args.serviceConnectionString),
      };
}
