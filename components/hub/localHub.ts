import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { PROVISIONER_RIGHTS } from "../config";
import { HubOutputs } from "./hubOutputs";
import { HUB_CLI } from "../../local-hub/stateDir";
import { LocalHubPolicy } from "./localHubPolicy";

/** What the local target needs: where the running local hub keeps its state, and the policy to create there. */
export interface LocalHubArgs {
  /** The local hub's state directory (`iothub-local --state`); relative paths are taken from the project dir. */
  stateDir: string;
  /** The shared access policy the registry resources use (RegistryWrite + ServiceConnect). */
  policyName: string;
}

/**
 * The local IoT Hub target: the provisioner policy (RegistryWrite + ServiceConnect) in the running local hub, and
 * the same outputs as the Azure target plus what a client needs to trust and reach the local hub (its CA and the
 * MQTT gateway host:port). If the hub is not running, creating the policy fails with how to start it.
 */
export class LocalHub extends pulumi.ComponentResource implements HubOutputs {
  readonly hostName: pulumi.Output<string>;
  readonly serviceConnectionString: pulumi.Output<string>;
  readonly caFile: pulumi.Output<string | undefined>;
  readonly caCertificate: pulumi.Output<string | undefined>;
  readonly gatewayHostName: pulumi.Output<string | undefined>;
  readonly policy: LocalHubPolicy;

  constructor(name: string, args: LocalHubArgs, opts?: pulumi.ComponentResourceOptions) {
    super("iothub-provisioner:hub:LocalHub", name, {}, opts);
    this.policy = new LocalHubPolicy(
      `${name}-policy`,
      {
        stateDir: path.resolve(args.stateDir),
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
