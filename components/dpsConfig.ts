import { z } from "zod";
import { DPS_LIMITS } from "../lib/dps/rules";
import type { RuleViolation } from "../lib/iothub/rules";
import { isPlainObject, type TwinDocument } from "../lib/iothub/twin";
import { checkEnrollmentGroupSettings } from "./dps/enrollmentGroupProvider";
import type { AttestationArgs } from "./dps/enrollmentArgs";
import { closedObject, type SchemaPath } from "./schemaViolations";

/**
 * The stack config's `dps` (which Device Provisioning Service the stack manages) and `enrollmentGroups` (the
 * groups it declares there): the shape (zod, closed objects, as every key of the namespace), and what the shape
 * cannot say, checked with the EnrollmentGroup provider's own rules (components/dps/) and named by config path
 * (`enrollmentGroups[0].initialTwin.properties.desired...`), plus the rules between keys.
 */

export const dpsSchema = closedObject({
  /**
   * The DPS's name on Azure (3-64 letters, digits or hyphens; required there, dpsConfigViolations). The local
   * target uses the local hub's DPS and does not read it, so a stack can switch target by one key.
   */
  name: z
    .string()
    .regex(/^[A-Za-z0-9-]{3,64}$/, "must be 3-64 letters, digits or hyphens")
    .optional(),
  sku: z.enum(["S1"]).default("S1"),
});

/** One group; its fields are the EnrollmentGroup resource's (their rules are the provider's, checked below). */
export const enrollmentGroupSchema = closedObject({
  enrollmentGroupId: z.string(),
  attestation: z.record(z.unknown()),
  allocationPolicy: z.string().optional(),
  iotHubs: z.array(z.string()).optional(),
  initialTwin: z.record(z.unknown()).optional(),
  capabilities: z.record(z.unknown()).optional(),
  provisioningStatus: z.string().optional(),
  reprovisionPolicy: z.record(z.unknown()).optional(),
});

export type DpsConfig = z.infer<typeof dpsSchema>;

/** A declared group, checked: what the EnrollmentGroup resource takes besides the DPS arguments. */
export interface EnrollmentGroupConfig {
  enrollmentGroupId: string;
  attestation: AttestationArgs;
  allocationPolicy?: "hashed" | "geoLatency" | "static";
  iotHubs?: string[];
  initialTwin?: { tags?: TwinDocument; properties?: { desired?: TwinDocument } };
  capabilities?: { iotEdge?: boolean };
  provisioningStatus?: "enabled" | "disabled";
  reprovisionPolicy?: { updateHubAssignment?: boolean; migrateDeviceData?: boolean };
}

/**
 * The rules beyond each key's shape, on the raw values: `dps` is required with groups, the azure target needs
 * `dps.name` and auth sas, each group's settings by the provider's rules, ids unique, DPS's 100 groups per
 * attestation.
 */
export function dpsConfigViolations(
  raw: Record<string, unknown>,
  configPath: (path: SchemaPath) => string,
): RuleViolation[] {
  const violations: RuleViolation[] = [];
  const groups = Array.isArray(raw.enrollmentGroups) ? raw.enrollmentGroups : [];
  if (raw.target === "azure") violations.push(...azureDpsViolations(raw, configPath));
  if (groups.length > 0 && raw.dps === undefined) {
    violations.push({
      field: configPath(["dps"]),
      rule: "is required when enrollmentGroups are declared ({} on the local target: the local hub's DPS)",
    });
  }
  const seen = new Map<string, number>();
  const perAttestation = new Map<string, number>();
  groups.forEach((group, index) => {
    if (!isPlainObject(group)) return;
    for (const violation of checkEnrollmentGroupSettings(group)) {
      violations.push({
        field: configPath(["enrollmentGroups", index, ...violation.field.split(".")]),
        rule: violation.rule,
      });
    }
    if (typeof group.enrollmentGroupId === "string") {
      const first = seen.get(group.enrollmentGroupId);
      if (first !== undefined) {
        violations.push({
          field: configPath(["enrollmentGroups", index, "enrollmentGroupId"]),
          rule: `must be unique (enrollmentGroups[${first}] has it too)`,
        });
      } else seen.set(group.enrollmentGroupId, index);
    }
    const type = isPlainObject(group.attestation) ? String(group.attestation.type) : "";
    perAttestation.set(type, (perAttestation.get(type) ?? 0) + 1);
  });
  for (const [type, count] of perAttestation) {
    if (count > DPS_LIMITS.enrollmentGroupsPerAttestation) {
      violations.push({
        field: configPath(["enrollmentGroups"]),
        rule: `may hold at most ${DPS_LIMITS.enrollmentGroupsPerAttestation} groups per attestation type (${count} are ${type})`,
      });
    }
  }
  return violations;
}

/**
 * The azure target's DPS: a resource of its own, so it needs a name; and its link to the hub is a hub shared
 * access policy, which an `auth: entra` hub (disableLocalAuth) refuses. DPS can link a hub through a managed
 * identity only in API versions later than the one @pulumi/azure-native 3.28 uses (2023-03-01-preview), so the
 * combination is refused rather than made into a DPS that cannot provision.
 */
function azureDpsViolations(
  raw: Record<string, unknown>,
  configPath: (path: SchemaPath) => string,
): RuleViolation[] {
  if (!isPlainObject(raw.dps)) return [];
  const violations: RuleViolation[] = [];
  if (raw.dps.name === undefined) {
    violations.push({
      field: configPath(["dps", "name"]),
      rule: "is required on the azure target (the DPS's name: 3-64 letters, digits or hyphens, unique in Azure)",
    });
  }
  if (raw.auth === "entra") {
    violations.push({
      field: configPath(["dps"]),
      rule:
        "cannot go with auth: entra on the azure target: DPS links the hub through a hub shared access policy " +
        "(RegistryWrite, ServiceConnect), which the hub's disableLocalAuth turns off",
    });
  }
  return violations;
}

/** Whether any group declares symmetric keys: then `enrollmentGroups` must be a config secret. */
export function declaresGroupKeys(raw: Record<string, unknown>): boolean {
  const groups = Array.isArray(raw.enrollmentGroups) ? raw.enrollmentGroups : [];
  return groups.some(
    (group) =>
      isPlainObject(group) &&
      isPlainObject(group.attestation) &&
      isPlainObject(group.attestation.symmetricKey) &&
      Object.values(group.attestation.symmetricKey).some(
        (key) => key !== undefined && key !== null && key !== "",
      ),
  );
}
