import type * as pulumi from "@pulumi/pulumi";
import { buildConnectionString, parseConnectionString } from "../../lib/iothub/sas";
import { describeViolations, type RuleViolation } from "../../lib/iothub/rules";
import { checkProviderOptions, type RegistryProviderOptions } from "./options";
import { jsonEqual } from "./twinOwnership";

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
export interface HubConnectionInputs {
  serviceConnectionString: string;
  caCertificate?: string;
  gatewayHostName?: string;
  registry?: RegistryProviderOptions;
}

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
  const connection = inputs.serviceConnectionString;
  if (typeof connection !== "string" || connection.length === 0) {
    violations.push({ field: "serviceConnectionString", rule: "is required" });
  } else {
    let fields: Record<string, string> = {};
    try {
      fields = parseConnectionString(connection);
    } catch {
      // reported below as missing fields
    }
    const missing = ["HostName", "SharedAccessKeyName", "SharedAccessKey"].filter((name) => !fields[name]);
    if (missing.length > 0) {
      violations.push({
        field: "serviceConnectionString",
        rule: `must hold ${missing.join(", ")} (Key=Value;...)`,
      });
    } else if (fields.HostName.includes(":")) {
      violations.push({
        field: "serviceConnectionString",
        rule: "HostName must not carry a port (the service API is always on 443)",
      });
    }
  }
  if (
    inputs.caCertificate !== undefined &&
    !/-----BEGIN CERTIFICATE-----/.test(String(inputs.caCertificate))
  ) {
    violations.push({
      field: "caCertificate",
      rule: "must be a PEM certificate (-----BEGIN CERTIFICATE-----)",
    });
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
  return buildConnectionString({
    HostName: hubHostName(inputs.serviceConnectionString),
    DeviceId: deviceId,
    ModuleId: moduleId,
    SharedAccessKey: primaryKey,
    x509: primaryKey ? undefined : "true",
    GatewayHostName: inputs.gatewayHostName,
  });
}

/** The engine's placeholder for a value not known yet, e.g. during preview (@pulumi/pulumi's rpc.unknownValue). */
const UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** True unless the connection string is known to point at another hub (unknown during preview: decided at up). */
export function sameHub(
  olds: { serviceConnectionString: string },
  news: { serviceConnectionString: string },
): boolean {
  return (
    news.serviceConnectionString === UNKNOWN_VALUE ||
    hubHostName(olds.serviceConnectionString) === hubHostName(news.serviceConnectionString)
  );
}

/**
 * True when the hub arguments are exactly the same. Any change is an update (even to the same hub): the outputs
 * echo these inputs, and a new key or CA must reach the state that delete will run with.
 */
export function sameConnectionSettings(olds: HubConnectionInputs, news: HubConnectionInputs): boolean {
  return (
    olds.serviceConnectionString === news.serviceConnectionString &&
    olds.caCertificate === news.caCertificate &&
    olds.gatewayHostName === news.gatewayHostName &&
    jsonEqual(olds.registry ?? null, news.registry ?? null)
  );
}

/**
 * Check failures in the engine's shape; the reason names the resource, the field and the rule. Fields whose value
 * is not known yet (preview of a hub that does not exist yet) are left out: they are checked again when known.
 */
export function checkFailures(
  resource: string,
  violations: RuleViolation[],
  inputs: object,
): { property: string; reason: string }[] {
  const unknown = unknownPaths(inputs, "");
  return violations
    .filter(
      (violation) =>
        !unknown.some(
          (path) =>
            violation.field === path ||
            violation.field.startsWith(`${path}.`) ||
            violation.field.startsWith(`${path}[`),
        ),
    )
    .map((violation) => ({
      property: violation.field.split(/[.[]/)[0],
      reason: `${resource}: ${violation.field}: ${violation.rule}`,
    }));
}

function unknownPaths(value: unknown, path: string): string[] {
  if (value === UNKNOWN_VALUE) return [path];
  if (Array.isArray(value)) return value.flatMap((item, index) => unknownPaths(item, `${path}[${index}]`));
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).flatMap(([key, child]) =>
      unknownPaths(child, path ? `${path}.${key}` : key),
    );
  }
  return [];
}

/** create/update run without check() when the engine skips it; never send what check() would refuse. */
export function assertValid(resource: string, violations: RuleViolation[]): void {
  if (violations.length > 0) throw new Error(`${resource}: ${describeViolations(violations)}`);
}
