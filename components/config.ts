import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import {
  LIMITS,
  RuleViolation,
  checkDeviceId,
  checkModuleId,
  checkTwinSection,
  describeViolations,
  checkPolicyName,
} from "../lib/iothub/rules";
import { checkRoleName, findRole } from "../lib/iothub/dataPlaneRoles";
import { checkIdentityStatus, checkStatusReason, type IdentityStatus } from "../lib/iothub/identity";
import { HUB_AUTH_MODES } from "../lib/iothub/serviceClient";
import { isPlainObject, type TwinDocument } from "../lib/iothub/twin";
import { configurationSchema, deploymentSchema, resolveAdmConfig, type AdmConfig } from "./admConfig";
import {
  declaresGroupKeys,
  dpsConfigViolations,
  dpsSchema,
  enrollmentGroupSchema,
  type EnrollmentGroupConfig,
} from "./dpsConfig";
import { checkFleetDevices, type FleetDeviceLinks } from "./fleet";
import { identityAuthenticationSchema } from "./registry/authentication";
import { registryProviderOptionsSchema } from "./registry/options";
import { checkRotation, rotationSchema } from "./registry/rotation";
import {
  closedObject,
  dottedPath,
  parseOrViolations,
  ruleRefinement,
  type SchemaPath,
} from "./schemaViolations";

/**
 * The stack configuration (namespace `iothub-provisioner`): its schema, and the one place that turns what a user
 * wrote into either a validated configuration or one error that lists every problem at once, each named by its
 * config key path and the rule it breaks. Nothing is created before this succeeds.
 *
 * The schema embeds the definitions it shares with other parts instead of restating them: IoT Hub's rules
 * (lib/iothub/rules.ts, identity.ts), the identity providers' authentication schema, the registry providers'
 * options schema and the Fleet's preconditions on its device list.
 */

export const CONFIG_NAMESPACE = "iothub-provisioner";

/** The policy the provisioner uses: least privilege for identities (RegistryWrite) and twins (ServiceConnect). */
export const PROVISIONER_RIGHTS = ["RegistryWrite", "ServiceConnect"] as const;

/** Azure's name for the owner policy, created only when `hub.ownerPolicy` is true. */
export const OWNER_POLICY_NAME = "iothubowner";

/**
 * The hub policy the azure target's DPS links the hub with (made only with `dps`): a key of its own, so the
 * provisioner's policy can be renewed or removed without cutting DPS off.
 */
export const DPS_LINK_POLICY_NAME = "provisioningservice";

const TARGETS = ["azure", "local"] as const;

/** A twin section this stack owns (tags or desired properties), checked by IoT Hub's rules for it. */
function twinSection(section: "tags" | "desired") {
  const rule = ruleRefinement((value: Record<string, unknown>, field: string) =>
    checkTwinSection(section, value, field),
  );
  return z.record(z.unknown()).superRefine((value, context): value is TwinDocument => rule(value, context));
}

/** A device's status, by IoT Hub's rule for it (any value the rule refuses is reported by that rule). */
const identityStatusRule = ruleRefinement(checkIdentityStatus);
const identityStatus = z
  .unknown()
  .superRefine((value, context): value is IdentityStatus => identityStatusRule(value, context));

/**
 * The rule between an identity's `rotation` and its `authentication` (rotation above 0 only on SAS), reported at
 * `rotation`. The value's own rule (a whole number >= 0) is rotationSchema's, so a wrong value is reported once.
 */
function rotationMatchesAuthentication(
  identity: { rotation?: number; authentication?: unknown },
  context: z.RefinementCtx,
): void {
  if (identity.rotation === undefined) return;
  for (const violation of checkRotation(identity.rotation, identity.authentication, "")) {
    context.addIssue({ code: z.ZodIssueCode.custom, message: violation.rule, path: ["rotation"] });
  }
}

const moduleShape = {
  moduleId: z.string().superRefine(ruleRefinement(checkModuleId)),
  authentication: identityAuthenticationSchema.optional(),
  managedBy: z.string().optional(),
  /** Key rotations so far; absent = the device's, for a module whose keys the hub generates. */
  rotation: rotationSchema.optional(),
  /** The module twin's desired properties this stack owns. */
  desired: twinSection("desired").optional(),
};

const moduleSchema = closedObject(moduleShape).superRefine(rotationMatchesAuthentication);

const deviceShape = {
  deviceId: z.string().superRefine(ruleRefinement(checkDeviceId)),
  status: identityStatus.optional(),
  statusReason: z.string().superRefine(ruleRefinement(checkStatusReason)).optional(),
  edgeEnabled: z.boolean().optional(),
  /** The deviceId of an edge device declared in the same list: this device becomes its child. */
  parentDeviceId: z.string().optional(),
  authentication: identityAuthenticationSchema.optional(),
  /** Key rotations so far (default 0): raising it by one rotates the SAS keys (docs/usage.md). */
  rotation: rotationSchema.optional(),
  /** Device twin tags and desired properties this stack owns. */
  tags: twinSection("tags").optional(),
  desired: twinSection("desired").optional(),
  modules: z
    .array(moduleSchema)
    .max(LIMITS.modulesPerDevice, `a device has at most ${LIMITS.modulesPerDevice} modules`)
    .default([]),
};

// A module's own keys written at device level (a module not indented under `modules:`).
const MODULE_ONLY_KEYS = Object.keys(moduleShape).filter((key) => !(key in deviceShape));
const deviceSchema = closedObject(deviceShape, {
  misplaced: Object.fromEntries(
    MODULE_ONLY_KEYS.map((key) => [
      key,
      "is a module's key: a module belongs under its device's modules: list",
    ]),
  ),
}).superRefine(rotationMatchesAuthentication);

// Azure's rule for IoT hub names: 3-50 characters, letters, digits and hyphens, not ending with a hyphen.
const AZURE_HUB_NAME = /^[A-Za-z0-9-]{2,49}[A-Za-z0-9]$/;

const azureHubShape = {
  name: z
    .string()
    .regex(AZURE_HUB_NAME, "must be 3-50 letters, digits or hyphens, and must not end with a hyphen"),
  sku: z.enum(["F1", "S1", "S2", "S3", "B1", "B2", "B3"]).default("S1"),
  capacity: z.number().int("must be a whole number").min(1, "must be at least 1").default(1),
  resourceGroupName: z.string().min(1, "must not be empty"),
  location: z.string().min(1, "must not be empty"),
  /** Keep an `iothubowner` policy with every right (the policy list replaces Azure's defaults). */
  ownerPolicy: z.boolean().default(false),
  tags: z.record(z.string()).optional(),
};

const localHubSchema = closedObject({
  /** The local hub's state directory, relative to the project (as `iothub-local --state`). */
  stateDir: z.string().min(1, "must not be empty").default(".iothub-local"),
});

/** The data-plane roles the provisioner's principal gets on Azure unless `entra.roles` says otherwise. */
export const DEFAULT_ENTRA_ROLES = ["IoT Hub Registry Contributor", "IoT Hub Twin Contributor"] as const;

/** The principal types of a role assignment that can sign in or hold members (azure-native's PrincipalType). */
export const ENTRA_PRINCIPAL_TYPES = ["User", "ServicePrincipal", "Group"] as const;

// An Entra object id (a GUID), and the tenant/client id rule (GUIDs on Azure, names on the local hub).
const OBJECT_ID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const ENTRA_ID = /^[A-Za-z0-9._-]{1,128}$/;
const ENTRA_ID_RULE = "must be 1-128 letters, digits, '.', '_' or '-'";

/** A role name by dataPlaneRoles' rule, without quoting what was written (config rules never echo a value). */
const roleName = z.string().superRefine(
  ruleRefinement((value: string, field: string) =>
    checkRoleName(value, field).map((violation) => ({
      ...violation,
      rule: violation.rule.startsWith(`'${value}' `)
        ? violation.rule.slice(value.length + 3)
        : violation.rule,
    })),
  ),
);

/**
 * `iothub-provisioner:entra`, read with `auth: entra`. Azure: which principal gets which data-plane roles at the
 * hub's scope (default: the deploying principal, DEFAULT_ENTRA_ROLES). Local target: the principal the providers
 * sign in as (`iothub-local principal add`), its secret a config secret or AZURE_CLIENT_SECRET.
 */
const entraSchema = closedObject({
  /** Azure: the object id that gets the roles; default the deploying principal (getClientConfig's objectId). */
  principalId: z.string().regex(OBJECT_ID, "must be an Entra object id (a GUID)").optional(),
  /**
   * Azure: what kind of principal `principalId` (or the deploying one) is; Azure checks it against the principal.
   * Default User (azure-native's default, right for `az login`); a CI service principal needs ServicePrincipal.
   */
  principalType: z
    .enum(ENTRA_PRINCIPAL_TYPES, {
      errorMap: () => ({ message: `must be one of ${ENTRA_PRINCIPAL_TYPES.join(", ")}` }),
    })
    .default("User"),
  /** Azure: the data-plane roles assigned at the hub's scope. */
  roles: z
    .array(roleName)
    .min(1, "must name at least one role")
    .max(4, "must name each of IoT Hub's four data-plane roles at most once")
    .superRefine((roles, context) => {
      const seen = new Set<string>();
      roles.forEach((role, index) => {
        const canonical = findRole(role)?.name ?? role;
        if (seen.has(canonical)) {
          context.addIssue({ code: z.ZodIssueCode.custom, message: "is listed twice", path: [index] });
        }
        seen.add(canonical);
      });
    })
    .default([...DEFAULT_ENTRA_ROLES]),
  /** The tenant: Azure, the one DefaultAzureCredential signs in to; local, default the hub's (hub.json). */
  tenantId: z.string().regex(ENTRA_ID, ENTRA_ID_RULE).optional(),
  /** Local target: the principal's client id (required there). */
  clientId: z.string().regex(ENTRA_ID, ENTRA_ID_RULE).optional(),
  /** Local target: the principal's client secret, as a config secret; absent = AZURE_CLIENT_SECRET. */
  clientSecret: z
    .string()
    .min(1, "must not be empty")
    .max(1024, "must be at most 1024 characters")
    .optional(),
});

/** What both targets read. */
const sharedSettings = {
  policyName: z.string().superRefine(ruleRefinement(checkPolicyName)).default("provisioner"),
  /** The registry providers' options, passed to every registry resource (one schema: registry/options.ts). */
  registry: registryProviderOptionsSchema.optional(),
  devices: z.array(deviceSchema).default([]),
  /** IoT Edge deployments (components/admConfig.ts): manifests inline or from JSON files in the project. */
  deployments: z.array(deploymentSchema).default([]),
  /** ADM configurations of device or module twins (components/admConfig.ts). */
  configurations: z.array(configurationSchema).default([]),
  /** The Device Provisioning Service (components/dpsConfig.ts); local target: the local hub's (`--dps-host`). */
  dps: dpsSchema.optional(),
  /** DPS enrollment groups, as the EnrollmentGroup resource takes them (components/dpsConfig.ts). */
  enrollmentGroups: z.array(enrollmentGroupSchema).default([]),
  /** How the providers reach the service API: a policy key (`sas`) or Microsoft Entra ID (`entra`). */
  auth: z
    .enum(HUB_AUTH_MODES as ["sas", "entra"], {
      errorMap: () => ({ message: `must be one of ${HUB_AUTH_MODES.join(", ")}` }),
    })
    .default("sas"),
  entra: entraSchema.optional(),
};

/**
 * The stack config, a union on `target`: the Azure hub settings are required exactly when the target is azure.
 * The other target's settings are accepted (and checked) but not used, so a stack can switch target by one key.
 */
const stackSchema = z.discriminatedUnion("target", [
  closedObject({
    target: z.literal("azure"),
    hub: closedObject(azureHubShape, {
      required: "is required when target is azure (name, resourceGroupName, location)",
    }),
    localHub: localHubSchema.optional(),
    ...sharedSettings,
  }),
  closedObject({
    target: z.literal("local"),
    hub: closedObject(azureHubShape).optional(),
    localHub: localHubSchema.default({}),
    ...sharedSettings,
  }),
]);

// Without a valid target the union checks nothing else; this reports the target and every other key as well.
const anyTargetSchema = closedObject({
  target: z.enum(TARGETS),
  hub: closedObject(azureHubShape).optional(),
  localHub: localHubSchema.optional(),
  ...sharedSettings,
});

/** Every top-level key of the namespace this program reads. */
const STACK_KEYS = Object.keys(anyTargetSchema.shape);

/** The keys `pulumi config set` stores as plain text; every other key holds YAML structure (stored as JSON). */
const PLAIN_TEXT_KEYS: ReadonlySet<string> = new Set(["target", "policyName", "auth"]);

/** A parsed config with its deployments and configurations resolved (their content read and checked). */
type WithAdm<Config> = Config extends unknown ? Omit<Config, keyof AdmConfig> & AdmConfig : never;

/** The groups as checked by the EnrollmentGroup provider's rules (dpsConfigViolations), typed as it takes them. */
type WithDps<Config> = Config extends unknown
  ? Omit<Config, "enrollmentGroups"> & { enrollmentGroups: EnrollmentGroupConfig[] }
  : never;

export type StackConfig = WithDps<WithAdm<z.infer<typeof stackSchema>>>;
export type AzureStackConfig = Extract<StackConfig, { target: "azure" }>;
export type AzureHubConfig = AzureStackConfig["hub"];
export type EntraConfig = z.infer<typeof entraSchema>;
export type IdentityAuthenticationConfig = z.infer<typeof identityAuthenticationSchema>;
export type ModuleConfig = z.infer<typeof moduleSchema>;
export type DeviceConfig = z.infer<typeof deviceSchema>;

/** Thrown when the stack configuration is invalid; `violations` hold every problem found. */
export class StackConfigError extends Error {
  constructor(readonly violations: RuleViolation[]) {
    super(
      `Invalid stack configuration (${violations.length} problem${violations.length === 1 ? "" : "s"}):\n` +
        violations.map((violation) => `  - ${describeViolations([violation])}`).join("\n"),
    );
    this.name = "StackConfigError";
  }
}

/** `["devices", 0, "modules", 1, "moduleId"]` -> `iothub-provisioner:devices[0].modules[1].moduleId`. */
function configPath(path: SchemaPath): string {
  return path.length === 0 ? CONFIG_NAMESPACE : `${CONFIG_NAMESPACE}:${dottedPath(path)}`;
}

/**
 * Validates raw config values (keyed without the namespace; every key of the namespace, so unknown ones are
 * reported) and returns the typed configuration, or throws a StackConfigError listing every violation. Messages
 * never echo a key's value. Content files (`manifest: deployments/base.json`) are read relative to `projectDir`
 * (the program runs in the project directory).
 */
export function parseStackConfig(raw: Record<string, unknown>, projectDir = process.cwd()): StackConfig {
  const schema = TARGETS.includes(raw.target as never) ? stackSchema : anyTargetSchema;
  const parsed = parseOrViolations(schema, raw, configPath);
  const adm = resolveAdmConfig(raw, projectDir, configPath);
  const violations = [...(parsed.violations ?? []), ...crossKeyViolations(raw), ...adm.violations];
  if (parsed.violations || violations.length > 0) throw new StackConfigError(violations);
  return { ...parsed.data, ...adm.config } as StackConfig;
}

/**
 * The rules between keys. They run on the raw values, so that a wrongly shaped device elsewhere in the list
 * (which fails the schema above) does not hide a dangling parent or a duplicate id.
 */
function crossKeyViolations(raw: Record<string, unknown>): RuleViolation[] {
  const violations: RuleViolation[] = [];
  if (
    raw.target === "azure" &&
    isPlainObject(raw.hub) &&
    raw.hub.ownerPolicy === true &&
    (raw.policyName ?? "provisioner") === OWNER_POLICY_NAME
  ) {
    violations.push({
      field: configPath(["policyName"]),
      rule: `must not be ${OWNER_POLICY_NAME} when hub.ownerPolicy is true (that name is the owner policy's)`,
    });
  }
  if (
    raw.target === "azure" &&
    raw.dps !== undefined &&
    (raw.policyName ?? "provisioner") === DPS_LINK_POLICY_NAME
  ) {
    violations.push({
      field: configPath(["policyName"]),
      rule: `must not be ${DPS_LINK_POLICY_NAME} when dps is declared on the azure target (that name is the DPS link's policy)`,
    });
  }
  violations.push(...entraKeyViolations(raw));
  violations.push(...dpsConfigViolations(raw, configPath));
  const devices = Array.isArray(raw.devices) ? raw.devices.map(deviceLinks) : [];
  for (const violation of checkFleetDevices(devices)) {
    violations.push({ field: `${CONFIG_NAMESPACE}:${violation.field}`, rule: violation.rule });
  }
  return violations;
}

/** Which `entra` keys fit the auth mode and the target (each key's own rule is the schema's). */
function entraKeyViolations(raw: Record<string, unknown>): RuleViolation[] {
  const violations: RuleViolation[] = [];
  if (raw.auth === "entra" && raw.target === "local" && !(isPlainObject(raw.entra) && raw.entra.clientId)) {
    violations.push({
      field: configPath(["entra", "clientId"]),
      rule: "is required with auth: entra on the local target (the client id `iothub-local principal add` printed)",
    });
  }
  if (raw.entra === undefined) return violations;
  if (raw.auth !== "entra") {
    return [{ field: configPath(["entra"]), rule: "is used only with auth: entra" }];
  }
  if (!isPlainObject(raw.entra)) return violations;
  const entra = raw.entra;
  const azureOnly =
    "is for the azure target (on the local hub, assign roles with `iothub-local role assign`)";
  const localOnly =
    "is for the local target (on Azure, DefaultAzureCredential reads AZURE_CLIENT_ID and AZURE_CLIENT_SECRET)";
  for (const key of raw.target === "local"
    ? ["principalId", "principalType", "roles"]
    : ["clientId", "clientSecret"]) {
    if (entra[key] !== undefined) {
      violations.push({
        field: configPath(["entra", key]),
        rule: raw.target === "local" ? azureOnly : localOnly,
      });
    }
  }
  return violations;
}

/** What a raw device entry says about its links, leaving out what has the wrong type (the schema reports it). */
function deviceLinks(value: unknown): FleetDeviceLinks {
  const device = isPlainObject(value) ? value : {};
  const text = (field: unknown) => (typeof field === "string" ? field : undefined);
  return {
    deviceId: text(device.deviceId),
    parentDeviceId: text(device.parentDeviceId),
    edgeEnabled: device.edgeEnabled === true,
    modules: Array.isArray(device.modules)
      ? device.modules.map((module) => ({
          moduleId: text(isPlainObject(module) ? module.moduleId : undefined),
        }))
      : [],
  };
}

/**
 * Reads every key of the namespace from the stack configuration and validates them (see parseStackConfig).
 * `pulumi.Config` can only get keys it is asked for, so a misspelt key would go unseen; the whole map comes from
 * `pulumi.runtime.allConfig()`, which is what the language host hands the program (the PULUMI_CONFIG environment
 * variable) and what `pulumi.runtime.setAllConfig` sets under mocks. Values are read in plain text only to
 * validate them: keys end up wrapped in pulumi.secret where they are used.
 */
export function readStackConfig(
  allConfig: Record<string, string> = pulumi.runtime.allConfig(),
  projectDir = process.cwd(),
  isSecretKey: (fullKey: string) => boolean = isConfigSecret,
): StackConfig {
  const raw: Record<string, unknown> = {};
  const violations: RuleViolation[] = [];
  const prefix = `${CONFIG_NAMESPACE}:`;
  for (const [fullKey, text] of Object.entries(allConfig)) {
    if (!fullKey.startsWith(prefix)) continue;
    const key = fullKey.slice(prefix.length);
    if (PLAIN_TEXT_KEYS.has(key)) {
      raw[key] = text;
      continue;
    }
    try {
      raw[key] = JSON.parse(text);
    } catch {
      // An unknown key keeps its text: the schema reports the key, never its value.
      if (STACK_KEYS.includes(key)) {
        violations.push({
          field: configPath([key]),
          rule: "must be structured YAML (a map or a list), not a string",
        });
      } else raw[key] = text;
    }
  }
  // A client secret written in clear would sit in the stack file, in git: only a config secret is taken.
  const secretViolations: RuleViolation[] = [];
  if (
    isPlainObject(raw.entra) &&
    raw.entra.clientSecret !== undefined &&
    // Older language hosts name keys `<namespace>:config:<key>`, as in PULUMI_CONFIG.
    !isSecretKey(`${prefix}entra`) &&
    !isSecretKey(`${prefix}config:entra`)
  ) {
    secretViolations.push({
      field: configPath(["entra", "clientSecret"]),
      rule:
        "must be a config secret: pulumi config set --secret --path 'iothub-provisioner:entra.clientSecret' " +
        "(or leave it out and set AZURE_CLIENT_SECRET)",
    });
  }
  // Declared group keys likewise: DPS-generated ones never reach the config at all.
  if (
    declaresGroupKeys(raw) &&
    !isSecretKey(`${prefix}enrollmentGroups`) &&
    !isSecretKey(`${prefix}config:enrollmentGroups`)
  ) {
    secretViolations.push({
      field: configPath(["enrollmentGroups"]),
      rule:
        "must be a config secret when a group declares symmetric keys: pulumi config set --secret --path " +
        "'iothub-provisioner:enrollmentGroups[0].attestation.symmetricKey.primaryKey' (or let DPS generate them)",
    });
  }
  if (violations.length > 0) throw new StackConfigError([...violations, ...secretViolations]);
  try {
    const config = parseStackConfig(raw, projectDir);
    if (secretViolations.length > 0) throw new StackConfigError(secretViolations);
    return config;
  } catch (error) {
    if (!(error instanceof StackConfigError) || error.violations === secretViolations) throw error;
    throw new StackConfigError([...error.violations, ...secretViolations]);
  }
}

/**
 * Whether the language host marked a key secret (PULUMI_CONFIG_SECRET_KEYS; `setAllConfig`'s second argument under
 * mocks). `runtime.isConfigSecret` is marked internal in @pulumi/pulumi's typings, hence the cast.
 */
function isConfigSecret(fullKey: string): boolean {
  const runtime = pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean };
  return runtime.isConfigSecret?.(fullKey) ?? false;
}
