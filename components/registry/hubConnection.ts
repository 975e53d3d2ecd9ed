import type * as pulumi from "@pulumi/pulumi";
import {
  checkServiceConnectionString,
  identityConnectionString as identityConnectionStringOf,
  parseConnectionString,
} from "../../lib/iothub/sas";
import { checkCaCertificate } from "../../lib/iothub/caCertificates";
import type { RuleViolation } from "../../lib/iothub/rules";
import { checkProviderOptions, type RegistryProviderOptions } from "./options";

/** Arguments every registry resource takes to reach its hub. */
export interface HubConnectionArgs {
  /** The hub's service connection string (secret): a policy with RegistryWrite and ServiceConnect. */
  serviceConnectionString: pulumi.Input<string>;
  /** PEM the provider trusts besides the system CAs (the local hub's CA). Public; never a private key. */
  caCertificate?: pulumi.Input<string>;
  /** `host:port` put in device/module connection strings as GatewayHostName when MQTT is not on 8883. */
  gatewayHostName?: pulumi.Input<string>;
  /** Retry budget and pacing for this hub (see RegistryProviderOptions). */
  registry?: pulumi.Input<RegistryProviderOptions>;
}

/** The same arguments as the provider sees them (resolved; secrets already unwrapped by the engine). */
export type HubConnectionInputs = pulumi.Unwrap<HubConnectionArgs>;

/** The host a connection string points at: the identity of "the hub" for diff (another hub = replace). */
export function hubHostName(serviceConnectionString: string): string {
  try {
    return parseConnectionString(serviceConnectionString).HostName ?? "";
  } catch {
    return "";
  }
}

/** Violations of the hub arguments. Never quotes the connection string (it holds a key). */
export function checkHubConnection(inputs: Partial<HubConnectionInputs>): RuleViolation[] {
  const violations: RuleViolation[] = [];
  violations.push(...checkServiceConnectionString(inputs.serviceConnectionString));
  if (inputs.caCertificate !== undefined) {
    violations.push(...checkCaCertificate(inputs.caCertificate, "caCertificate"));
  }
  const gateway = inputs.gatewayHostName;
  if (
    gateway !== undefined &&
    (typeof gateway !== "string" || !/^[A-Za-z0-9.\-[\]:]+(:\d{1,5})?$/.test(gateway))
  ) {
    violations.push({ field: "gatewayHostName", rule: "must be host or host:port" });
  }
  violations.push(...checkProviderOptions(inputs.registry));
  return violations;
}

/** A device's (or, with moduleId, a module's) connection string. */
export function identityConnectionString(
  inputs: HubConnectionInputs,
  deviceId: string,
  moduleId: string | undefined,
  primaryKey: string | undefined,
): string {
  return identityConnectionStringOf({
    hostName: hubHostName(inputs.serviceConnectionString),
    deviceId,
    moduleId,
    key: primaryKey,
    gatewayHostName: inputs.gatewayHostName,
  });
}
