import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import {
  LIMITS,
  RuleViolation,
  checkDeviceId,
  checkModuleId,
  checkSymmetricKeys,
  checkThumbprints,
  checkTwinSection,
  describeViolations,
  checkPolicyName,
} from "../lib/iothub/rules";
import type { TwinDocument } from "../lib/iothub/stackOutputs";
import { checkProviderOptions, type RegistryProviderOptions } from "./registry/options";

/**
 * The stack configuration (namespace `iothub-provisioner`): its schema, and the one place that turns what a user
 * wrote into either a validated configuration or one error that lists every problem at once, each named by its
 * config key path and the rule it breaks. Nothing is created before this succeeds.
 *
 * Shapes follow IoT Hub's rules (lib/iothub/rules.ts); this module never re-implements one of them.
 */

export const CONFIG_NAMESPACE = "iothub-provisioner";

/** The policy the provisioner uses: least privilege for identities (RegistryWrite) and twins (ServiceConnect). */
export const PROVISIONER_RIGHTS = ["RegistryWrite", "ServiceConnect"] as const;

/** Azure's name for the owner policy, created only when `hub.ownerPolicy` is true. */
export const OWNER_POLICY_NAME = "iothubowner";

// A twin section; checkStackRules checks it with IoT Hub's twin rules (checkTwinSection) before it is used.
const jsonObject = z.record(z.unknown()) as unknown as z.ZodType<TwinDocument>;

const sasAuthentication = z
  .object({
    type: z.literal("sas"),
    /** Base64 keys, usually set with `pulumi config set --secret --path`; absent: the hub generates them. */
    primaryKey: z.string().optional(),
    secondaryKey: z.string().optional(),
  })
  .strict();

const selfSignedAuthentication = z
  .object({
    type: z.literal("selfSigned"),
    primaryThumbprint: z.string(),
    secondaryThumbprint: z.string().optional(),
  })
  .strict();

const certificateAuthorityAuthentication = z.object({ type: z.literal("certificateAuthority") }).strict();

const authentication = z.discriminatedUnion("type", [
  sasAuthentication,
  selfSignedAuthentication,
  certificateAuthorityAuthentication,
]);

const moduleSchema = z
  .object({
    moduleId: z.string(),
    authentication: authentication.optional(),
    managedBy: z.string().optional(),
    /** The module twin's desired properties this stack owns. */
    desired: jsonObject.optional(),
  })
  .strict();

const deviceSchema = z
  .object({
    deviceId: z.string(),
    status: z.enum(["enabled", "disabled"]).optional(),
    statusReason: z.string().optional(),
    edgeEnabled: z.boolean().optional(),
    /** The deviceId of an edge device declared in the same list: this device becomes its child. */
    parentDeviceId: z.string().optional(),
    authentication: authentication.optional(),
    /** Device twin tags and desired properties this stack owns. */
    tags: jsonObject.optional(),
    desired: jsonObject.optional(),
    modules: z.array(moduleSchema).default([]),
  })
  .strict();

// Azure's rule for IoT hub names: 3-50 characters, letters, digits and hyphens, not ending with a hyphen.
const AZURE_HUB_NAME = /^[A-Za-z0-9-]{2,49}[A-Za-z0-9]$/;

const azureHubSchema = z
  .object({
    name: z
      .string()
      .regex(AZURE_HUB_NAME, "must be 3-50 letters, digits or hyphens, and must not end with a hyphen"),
    sku: z.enum(["F1", "S1", "S2", "S3", "B1", "B2", "B3"]).default("S1"),
    capacity: z.number().int().min(1).default(1),
    resourceGroupName: z.string().min(1),
    location: z.string().min(1),
    /** Keep an `iothubowner` policy with every right (the policy list replaces Azure's defaults). */
    ownerPolicy: z.boolean().default(false),
    tags: z.record(z.string()).optional(),
  })
  .strict();

const localHubSchema = z
  .object({
    /** The local hub's state directory, relative to the project (as `iothub-local --state`). */
    stateDir: z.string().min(1).default(".iothub-local"),
  })
  .strict();

// The registry providers' own options (components/registry/options.ts): the schema only names the keys, so a
// typo is reported; their values are checked by the providers' checkProviderOptions, the one place for that rule.
const registrySchema = z
  .object({
    opsPerSecond: z.unknown(),
    maxAttempts: z.unknown(),
    maxRetryTimeMs: z.unknown(),
    baseDelayMs: z.unknown(),
    maxDelayMs: z.unknown(),
    requestTimeoutMs: z.unknown(),
  })
  .partial()
  .strict();

const stackSchema = z.object({
  target: z.enum(["azure", "local"]),
  hub: azureHubSchema.optional(),
  localHub: localHubSchema.default({}),
  policyName: z.string().default("provisioner"),
  registry: registrySchema.optional(),
  devices: z.array(deviceSchema).default([]),
});

export type IdentityAuthenticationConfig = z.infer<typeof authentication>;
export type ModuleConfig = z.infer<typeof moduleSchema>;
export type DeviceConfig = z.infer<typeof deviceSchema>;
export type AzureHubConfig = z.infer<typeof azureHubSchema>;
export type LocalHubConfig = z.infer<typeof localHubSchema>;
export type StackConfig = Omit<z.infer<typeof stackSchema>, "registry"> & {
  registry?: RegistryProviderOptions;
};

/** The config keys this program reads, and whether each holds structured (JSON) data or a plain string. */
export const CONFIG_KEYS = {
  target: "string",
  hub: "object",
  localHub: "object",
  policyName: "string",
  registry: "object",
  devices: "object",
} as const satisfies Record<keyof StackConfig, "string" | "object">;

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

/**
 * Validates raw config values (as read from the stack, keyed without the namespace) and returns the typed
 * configuration, or throws a StackConfigError listing every violation. Messages never echo a key's value.
 */
export function parseStackConfig(raw: Partial<Record<keyof StackConfig, unknown>>): StackConfig {
  const parsed = stackSchema.safeParse(raw);
  // IoT Hub's rules run on the raw values too, so a schema error in one device does not hide a bad id elsewhere.
  const violations = unique([
    ...(parsed.success ? [] : parsed.error.issues.map(zodIssueToViolation)),
    ...checkStackRules(raw),
  ]);
  if (!parsed.success || violations.length > 0) throw new StackConfigError(violations);
  return parsed.data as StackConfig;
}

function unique(violations: RuleViolation[]): RuleViolation[] {
  const seen = new Set<string>();
  return violations.filter((violation) => {
    const key = `${violation.field}\n${violation.rule}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function zodIssueToViolation(issue: z.ZodIssue): RuleViolation {
  // zod's messages for enums and literals may echo the received value: for key fields that would print a
  // secret, so those issues get a message of our own.
  let rule = issue.message;
  if (issue.code === z.ZodIssueCode.invalid_enum_value) rule = `must be one of ${issue.options.join(", ")}`;
  if (issue.code === z.ZodIssueCode.invalid_union_discriminator) {
    rule = `must be one of ${issue.options.map(String).join(", ")}`;
  }
  if (issue.code === z.ZodIssueCode.invalid_type) {
    rule = issue.received === "undefined" ? "is required" : `must be ${article(issue.expected)}`;
  }
  return { field: configPath(issue.path), rule };
}

function article(expected: string): string {
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

/** `["devices", 0, "modules", 1, "moduleId"]` -> `iothub-provisioner:devices[0].modules[1].moduleId`. */
export function configPath(path: ReadonlyArray<string | number>): string {
  let text = "";
  for (const [index, part] of path.entries()) {
    if (typeof part === "number") text += `[${part}]`;
    else text += index === 0 ? `${CONFIG_NAMESPACE}:${part}` : `.${part}`;
  }
  return text || CONFIG_NAMESPACE;
}

/**
 * IoT Hub's rules and the cross-references zod cannot express: ids, keys, twins, duplicates, parents. Works on
 * the raw values (anything the user wrote), skipping what the schema already reports as the wrong shape.
 */
function checkStackRules(raw: Partial<Record<keyof StackConfig, unknown>>): RuleViolation[] {
  const violations: RuleViolation[] = [];
  const at = (...path: Array<string | number>) => configPath(path);

  if (raw.target === "azure" && raw.hub === undefined) {
    violations.push({
      field: at("hub"),
      rule: "is required when target is azure (name, resourceGroupName, location)",
    });
  }
  const hub = asRecord(raw.hub);
  if (
    raw.target === "azure" &&
    hub?.ownerPolicy === true &&
    (raw.policyName ?? "provisioner") === OWNER_POLICY_NAME
  ) {
    violations.push({
      field: at("policyName"),
      rule: `must not be ${OWNER_POLICY_NAME} when hub.ownerPolicy is true (that name is the owner policy's)`,
    });
  }
  if (typeof raw.policyName === "string")
    violations.push(...checkPolicyName(raw.policyName, at("policyName")));
  if (raw.registry !== undefined) violations.push(...checkProviderOptions(raw.registry, at("registry")));
  const devices = Array.isArray(raw.devices) ? raw.devices.map(asRecord) : [];

  const firstIndexOf = new Map<unknown, number>();
  devices.forEach((device, deviceIndex) => {
    if (!device) return;
    const devicePath = (...rest: Array<string | number>) => at("devices", deviceIndex, ...rest);
    violations.push(...checkDeviceId(device.deviceId, devicePath("deviceId")));
    const previous = firstIndexOf.get(device.deviceId);
    if (previous === undefined) firstIndexOf.set(device.deviceId, deviceIndex);
    else {
      violations.push({
        field: devicePath("deviceId"),
        rule: `must be unique (devices[${previous}] has the same deviceId)`,
      });
    }
    violations.push(...checkAuthentication(device.authentication, devicePath("authentication")));
    if (device.tags !== undefined)
      violations.push(...checkTwinSection("tags", device.tags, devicePath("tags")));
    if (device.desired !== undefined) {
      violations.push(...checkTwinSection("desired", device.desired, devicePath("desired")));
    }
    if (typeof device.statusReason === "string" && device.statusReason.length > LIMITS.idMaxLength) {
      violations.push({
        field: devicePath("statusReason"),
        rule: `must be at most ${LIMITS.idMaxLength} characters`,
      });
    }

    const modules = Array.isArray(device.modules) ? device.modules.map(asRecord) : [];
    if (modules.length > LIMITS.modulesPerDevice) {
      violations.push({
        field: devicePath("modules"),
        rule: `a device has at most ${LIMITS.modulesPerDevice} modules`,
      });
    }
    const moduleIndexOf = new Map<unknown, number>();
    modules.forEach((module, moduleIndex) => {
      if (!module) return;
      const modulePath = (...rest: Array<string | number>) => devicePath("modules", moduleIndex, ...rest);
      violations.push(...checkModuleId(module.moduleId, modulePath("moduleId")));
      const previousModule = moduleIndexOf.get(module.moduleId);
      if (previousModule === undefined) moduleIndexOf.set(module.moduleId, moduleIndex);
      else {
        violations.push({
          field: modulePath("moduleId"),
          rule: `must be unique on its device (modules[${previousModule}] has the same moduleId)`,
        });
      }
      violations.push(...checkAuthentication(module.authentication, modulePath("authentication")));
      if (module.desired !== undefined) {
        violations.push(...checkTwinSection("desired", module.desired, modulePath("desired")));
      }
    });
  });

  // Parents are checked once every id is known, so a parent may be declared after its child.
  devices.forEach((device, deviceIndex) => {
    if (!device || device.parentDeviceId === undefined) return;
    const field = at("devices", deviceIndex, "parentDeviceId");
    const parentIndex = firstIndexOf.get(device.parentDeviceId);
    if (parentIndex === undefined) {
      violations.push({ field, rule: "must name a device declared in iothub-provisioner:devices" });
    } else if (parentIndex === deviceIndex) {
      violations.push({ field, rule: "must not name the device itself" });
    } else if (devices[parentIndex]?.edgeEnabled !== true) {
      violations.push({
        field,
        rule: `must name an edge device (devices[${parentIndex}] needs edgeEnabled: true)`,
      });
    } else if (parentChainLoops(devices, firstIndexOf, deviceIndex)) {
      violations.push({ field, rule: "must not lead back to this device through other parents (a cycle)" });
    }
  });
  return violations;
}

function parentChainLoops(
  devices: Array<Record<string, unknown> | undefined>,
  indexOf: Map<unknown, number>,
  start: number,
): boolean {
  let current: number | undefined = start;
  for (let steps = 0; steps <= devices.length; steps++) {
    const parent = devices[current]?.parentDeviceId;
    if (parent === undefined) return false;
    current = indexOf.get(parent);
    if (current === undefined) return false;
    if (current === start) return true;
  }
  return true;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function checkAuthentication(value: unknown, field: string): RuleViolation[] {
  const auth = asRecord(value);
  if (!auth) return [];
  switch (auth.type) {
    case "sas":
      return checkSymmetricKeys(auth.primaryKey, auth.secondaryKey, field);
    case "selfSigned":
      return checkThumbprints(auth.primaryThumbprint, auth.secondaryThumbprint, field);
    default:
      return [];
  }
}

/**
 * Reads this program's keys from the stack configuration and validates them (see parseStackConfig). Values are
 * read in plain text only to validate them: keys end up wrapped in pulumi.secret where they are used.
 */
export function readStackConfig(config: pulumi.Config = new pulumi.Config(CONFIG_NAMESPACE)): StackConfig {
  const raw: Partial<Record<keyof StackConfig, unknown>> = {};
  const violations: RuleViolation[] = [];
  for (const [key, kind] of Object.entries(CONFIG_KEYS) as Array<[keyof StackConfig, "string" | "object"]>) {
    const text = config.get(key);
    if (text === undefined) continue;
    if (kind === "string") {
      raw[key] = text;
      continue;
    }
    try {
      raw[key] = JSON.parse(text);
    } catch {
      violations.push({
        field: configPath([key]),
        rule: "must be structured YAML (a map or a list), not a string",
      });
    }
  }
  if (violations.length > 0) throw new StackConfigError(violations);
  return parseStackConfig(raw);
}
