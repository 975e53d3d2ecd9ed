import { DPS_RIGHTS, type DpsRight } from "../../lib/dps/rules";
import type { PolicyFamily } from "./policyStore";

/**
 * The local DPS's shared access policies: DPS's rights (lib/dps/rules.ts) and its one default policy,
 * `provisioningserviceowner`, with all of them. They live in hub.db's `dps_policies`, beside the hub's.
 */
export const DPS_OWNER_POLICY = "provisioningserviceowner";

export const DPS_POLICIES: PolicyFamily<DpsRight> = {
  table: "dps_policies",
  seededSetting: "dpsPoliciesSeeded",
  defaults: [{ name: DPS_OWNER_POLICY, rights: [...DPS_RIGHTS] }],
  rights: DPS_RIGHTS,
};

/** As IoT Hub's RegistryWrite includes RegistryRead, each DPS write right includes its read right. */
export function dpsGrants(held: readonly DpsRight[], needed: DpsRight): boolean {
  if (held.includes(needed)) return true;
  if (needed === "EnrollmentRead") return held.includes("EnrollmentWrite");
  if (needed === "RegistrationStatusRead") return held.includes("RegistrationStatusWrite");
  return false;
}
