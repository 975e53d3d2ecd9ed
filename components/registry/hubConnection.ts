import type * as pulumi from "@pulumi/pulumi";
import {
  checkServiceConnectionString,
  identityConnectionString as identityConnectionStringOf,
  parseConnectionString,
} from "../../lib/iothub/sas";
import { checkCaCertificate } from "../../lib/iothub/caCertificates";
import { checkEntraCredentialSettings, type EntraCredentialSettings } from "../../lib/iothub/entraCredential";
import type { RuleViolation } from "../../lib/iothub/rules";
import { HUB_AUTH_MODES, type HubAccess, type HubAuthMode } from "../../lib/iothub/serviceClient";
import { checkProviderOptions, type RegistryProviderOptions } from "./options";

/** Arguments every registry resource takes to reach its hub. */
export interface HubConnectionArgs {
  /**
   * How the providers authenticate to the service API: `sas` (default) with `serviceConnectionString`, or `entra`
   * with a Microsoft Entra credential (`entra`) at `hostName`, where no policy key exists.
   */
  auth?: pulumi.Input<HubAuthMode>;
  /** sas: the hub's service connection string (secret): a policy with RegistryWrite and ServiceConnect. */
  serviceConnectionString?: pulumi.Input<string>;
  /** entra: the hub's host name (sas reads it from the connection string). */
  hostName?: pulumi.Input<string>;
  /**
   * entra: which credential (absent: DefaultAzureCredential). Kept secret as a whole, since it may hold a client
   * secret; a credential the provider builds is never part of the inputs or the state.
   */
  entra?: pulumi.Input<EntraCredentialSettings>;
  /** PEM the provider trusts besides the system CAs (the local hub's CA). Public; never a private key. */
  caCertificate?: pulumi.Input<string>;
  /** `host:port` put in device/module connection strings as GatewayHostName when MQTT is not on 8883. */
  gatewayHostName?: pulumi.Input<string>;
  /** Retry budget and pacing for this hub (see RegistryProviderOptions). */
  registry?: pulumi.Input<RegistryProviderOptions>;
}

/** The same arguments as the provider sees them (resolved; secrets already unwrapped by the engine). */
export type HubConnectionInputs = pulumi.Unwrap<HubConnectionArgs>;

/** The host a connection string points at. */
export function hubHostName(serviceConnectionString: string | undefined): string {
  try {
    return parseConnectionString(serviceConnectionString ?? "").HostName ?? "";
  } catch {
    return "";
  }
}

/** The auth mode of the inputs (absent = sas, as before the mode existed: older states read as sas). */
export function authModeOf(inputs: Partial<HubConnectionInputs>): HubAuthMode {
  return inputs.auth === "entra" ? "entra" : "sas";
}

/** The hub the inputs point at, by either auth mode: the identity of "the hub" for diff (another hub = replace). */
export function connectionHostName(inputs: Partial<HubConnectionInputs>): string {
  return authModeOf(inputs) === "entra"
    ? (inputs.hostName ?? "")
    : hubHostName(inputs.serviceConnectionString);
}

/** How a client authenticates to the hub of (checked) inputs. */
export function hubAccessOf(inputs: HubConnectionInputs): HubAccess {
  return authModeOf(inputs) === "entra"
    ? { auth: "entra", hostName: inputs.hostName ?? "", entra: inputs.entra }
    : { auth: "sas", serviceConnectionString: inputs.serviceConnectionString ?? "" };
}

// A DNS name or an IPv4 address, without a port (the service SDK always uses 443).
const HOST_NAME_PATTERN = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

/** Violations of the hub arguments. Never quotes the connection string or the credential (they hold keys). */
export function checkHubConnection(inputs: Partial<HubConnectionInputs>): RuleViolation[] {
  const violations: RuleViolation[] = [];
  if (inputs.auth !== undefined && !HUB_AUTH_MODES.includes(inputs.auth)) {
    violations.push({ field: "auth", rule: `must be one of ${HUB_AUTH_MODES.join(", ")}` });
  } else if (authModeOf(inputs) === "entra") {
    if (typeof inputs.hostName !== "string" || !HOST_NAME_PATTERN.test(inputs.hostName)) {
      violations.push({
        field: "hostName",
        rule: "is required with auth entra: a host name (letters, digits, '.', '-'; at most 253), no port",
      });
    }
    if (inputs.serviceConnectionString !== undefined) {
      violations.push({
        field: "serviceConnectionString",
        rule: "must not be given with auth entra (no shared access policy is used)",
      });
    }
    violations.push(...checkEntraCredentialSettings(inputs.entra, "entra"));
  } else {
    violations.push(...checkServiceConnectionString(inputs.serviceConnectionString));
    if (inputs.entra !== undefined) {
      violations.push({ field: "entra", rule: "is used only with auth entra" });
    }
  }
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
    hostName: connectionHostName(inputs),
    deviceId,
    moduleId,
    key: primaryKey,
    gatewayHostName: inputs.gatewayHostName,
  });
}
