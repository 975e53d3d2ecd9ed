import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { EntraCredentialSettings } from "../../lib/iothub/entraCredential";
import type { HubAuthMode } from "../../lib/iothub/serviceClient";
import { PROVISIONER_RIGHTS, type EntraConfig } from "../config";
import { HubOutputs } from "./hubOutputs";
import { HUB_CLI } from "../../local-hub/stateDir";
import { LocalHubEndpoint } from "./localHubEndpoint";
import { LocalHubPolicy } from "./localHubPolicy";

/** What the local target needs: where the running local hub keeps its state, and how the provisioner signs in. */
export interface LocalHubArgs {
  /** The local hub's state directory (`iothub-local --state`); relative paths are taken from the project dir. */
  stateDir: string;
  /** The shared access policy the registry resources use with auth sas (RegistryWrite + ServiceConnect). */
  policyName: string;
  /** `sas` (default): a provisioner policy; `entra`: a principal of the hub's (`iothub-local principal add`). */
  auth?: HubAuthMode;
  /** With auth entra: the principal's client id (required), tenant (default the hub's) and secret. */
  entra?: EntraConfig;
}

/**
 * The local IoT Hub target, with the same outputs as the Azure target plus what a client needs to trust and reach
 * the local hub (its CA and the MQTT gateway host:port). If the hub is not running, the first resource fails with
 * how to start it.
 *
 * Auth sas: the provisioner policy (RegistryWrite + ServiceConnect) in the running hub. Auth entra: no policy; the
 * hub's endpoint and Entra authority (LocalHubEndpoint, from hub.json) and the configured principal, whose roles
 * are the user's to grant (`iothub-local role assign`), as on Azure they are the subscription owner's.
 */
export class LocalHub extends pulumi.ComponentResource implements HubOutputs {
  readonly hostName: pulumi.Output<string>;
  readonly auth: HubAuthMode;
  readonly serviceConnectionString: pulumi.Output<string> | undefined;
  readonly entra: pulumi.Output<EntraCredentialSettings> | undefined;
  readonly caFile: pulumi.Output<string | undefined>;
  readonly caCertificate: pulumi.Output<string | undefined>;
  readonly gatewayHostName: pulumi.Output<string | undefined>;
  readonly registryDependencies: pulumi.Resource[] = [];
  readonly policy: LocalHubPolicy | undefined;

  constructor(name: string, args: LocalHubArgs, opts?: pulumi.ComponentResourceOptions) {
    super("iothub-provisioner:hub:LocalHub", name, {}, opts);
    const stateDir = path.resolve(args.stateDir);
    if (args.auth === "entra") {
      const endpoint = new LocalHubEndpoint(`${name}-endpoint`, { stateDir }, { parent: this });
      const { tenantId, clientId, clientSecret } = args.entra ?? {};
      this.auth = "entra";
      this.policy = undefined;
      this.serviceConnectionString = undefined;
      this.hostName = endpoint.hostName;
      this.caFile = endpoint.caFile;
      this.caCertificate = endpoint.caCertificate;
      this.gatewayHostName = endpoint.gatewayHostName;
      // Secret as a whole: the client secret, when configured, must never reach the state in clear.
      this.entra = pulumi.secret(
        pulumi.all([endpoint.authorityHost, endpoint.tenantId]).apply(([authorityHost, hubTenant]) => ({
          authorityHost,
          tenantId: tenantId ?? hubTenant,
          clientId,
          ...(clientSecret === undefined ? {} : { clientSecret }),
        })),
      );
      this.registerOutputs({
        hostName: this.hostName,
        caFile: this.caFile,
        gatewayHostName: this.gatewayHostName,
      });
      return;
    }
    this.auth = "sas";
    this.entra = undefined;
    this.policy = new LocalHubPolicy(
      `${name}-policy`,
      {
        stateDir,
        policyName: args.policyName,
        rights: PROVISIONER_RIGHTS.join(","),
        hubCli: HUB_CLI,
      },
      { parent: this },
    );
    this.hostName = this.policy.hostName;
    // Marked secret here too, so the component's output is secret whatever the engine does with the resource's.
    this.serviceConnectionString = pulumi.secret(this.policy.serviceConnectionString);
    this.caFile = this.policy.caFile;
    this.caCertificate = this.policy.caCertificate;
    this.gatewayHostName = this.policy.gatewayHostName;
    this.registerOutputs({
      hostName: this.hostName,
      serviceConnectionString: this.serviceConnectionString,
      caFile: this.caFile,
      gatewayHostName: this.gatewayHostName,
    });
  }
}
