import type * as pulumi from "@pulumi/pulumi";
import { checkCaCertificate } from "../../lib/iothub/caCertificates";
import type { RuleViolation } from "../../lib/iothub/rules";
import { checkServiceConnectionString, parseConnectionString } from "../../lib/iothub/sas";
import { checkProviderOptions, type RegistryProviderOptions } from "../registry/options";
import { jsonEqual } from "../registry/twinOwnership";

/** Arguments every DPS resource takes to reach its Device Provisioning Service. */
export interface DpsConnectionArgs {
  /**
   * The DPS's service connection string (secret): a policy with EnrollmentWrite (`provisioningserviceowner`, or
   * one with enrollment read/write). Local: hub.json's `dps.connectionString`.
   */
  serviceConnectionString: pulumi.Input<string>;
  /** PEM the provider trusts besides the system CAs (the local hub's CA, which signs the local DPS). Public. */
  caCertificate?: pulumi.Input<string>;
  /**
   * Retry budget and pacing of the service calls (RegistryProviderOptions' fields; DPS calls are one class, so
   * `opsPerSecond` and `burst` take the single-number form).
   */
  serviceCalls?: pulumi.Input<RegistryProviderOptions>;
}

export type DpsConnectionInputs = pulumi.Unwrap<DpsConnectionArgs>;

export const DPS_CONNECTION_FIELDS = ["serviceConnectionString", "caCertificate", "serviceCalls"];

/** The DPS host a connection string points at ("" when it has none). */
export function dpsHostName(serviceConnectionString: unknown): string {
  if (typeof serviceConnectionString !== "string") return "";
  try {
    return (parseConnectionString(serviceConnectionString).HostName ?? "").toLowerCase();
  } catch {
    return "";
  }
}

/** Violations of the DPS arguments. Never quotes the connection string (it holds a key). */
export function checkDpsConnection(inputs: Partial<DpsConnectionInputs>): RuleViolation[] {
  const violations = checkServiceConnectionString(inputs.serviceConnectionString);
  if (inputs.caCertificate !== undefined) {
    violations.push(...checkCaCertificate(inputs.caCertificate, "caCertificate"));
  }
  violations.push(...checkProviderOptions(inputs.serviceCalls, "serviceCalls"));
  const options = inputs.serviceCalls as RegistryProviderOptions | undefined;
  for (const name of ["opsPerSecond", "burst"] as const) {
    const value = options?.[name];
    if (value !== undefined && typeof value !== "number") {
      violations.push({
        field: `serviceCalls.${name}`,
        rule: "must be a number (DPS's service calls are one operation class)",
      });
    }
  }
  return violations;
}

/** True when every DPS argument is the same (any change is an update: delete runs with the stored ones). */
export function sameDpsConnection(olds: DpsConnectionInputs, news: DpsConnectionInputs): boolean {
  return (
    olds.serviceConnectionString === news.serviceConnectionString &&
    olds.caCertificate === news.caCertificate &&
    jsonEqual(olds.serviceCalls ?? null, news.serviceCalls ?? null)
  );
}
