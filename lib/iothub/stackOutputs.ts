import {
  checkConfigurationContent,
  checkConfigurationId,
  checkPriority,
  configurationKind,
  type ConfigurationContent,
  type ConfigurationKind,
} from "./configuration";
import { checkEnrollmentGroupId, checkIdScope } from "../dps/rules";
import { checkEntraCredentialSettings, type EntraCredentialSettings } from "./entraCredential";
import { checkDeviceId, checkModuleId, type RuleViolation } from "./rules";
import { checkServiceConnectionString, parseConnectionString } from "./sas";
import { isPlainObject, type TwinDocument } from "./twin";

/**
 * The stack outputs: what the Pulumi program exports (index.ts, the modules from components/fleet.ts) and what
 * `verify` reads back as JSON (`pulumi stack output --json --show-secrets`). One definition of the shape and of
 * the rules a reader applies; the rules never echo a connection string (they carry keys).
 */

/**
 * One declared module. `Computed` is how a value known only once deployed is held: `string` in the JSON,
 * `pulumi.Output<string>` in the program (where the connection string is a secret).
 */
export interface ModuleOutput<Computed = string> {
  deviceId: string;
  moduleId: string;
  /** Secret: the connection string with the module's active key. */
  connectionString: Computed;
  /**
   * Secret: the same with the key active before the last rotation (still valid until the next one). SAS modules
   * only; outputs written before rotation existed lack it.
   */
  previousConnectionString?: Computed;
  /** The desired properties this stack declares for the module twin (`{}` when it declares none). */
  desired: TwinDocument;
}

/**
 * One declared IoT Edge deployment or ADM configuration: what verify checks in the twins it targets. `Computed` as
 * in ModuleOutput; `Content` is the content (secret in the program when a manifest holds registry credentials).
 */
export interface ConfigurationOutput<Computed = string, Content = ConfigurationContent> {
  /** The name declared in the stack config. */
  name: string;
  /** The id in the hub (`<name>-<content hash>`). */
  configurationId: Computed;
  /** edge (a deployment), device or module (a configuration of those twins). */
  kind: ConfigurationKind;
  /** Deployments only: a layered deployment. */
  layered?: boolean;
  /** The declared priority (absent in outputs of older programs: 0). */
  priority?: number;
  targetCondition: string;
  /** What it writes: `{modulesContent}`, `{deviceContent}` or `{moduleContent}`. */
  content: Content;
}

/**
 * The stack's Device Provisioning Service (extension: present when the stack config declares `dps`), what
 * `verify --enrollment` registers simulated devices through. `Computed` as in ModuleOutput.
 */
export interface DpsOutput<Computed = string> {
  /** The DPS's id scope (`0ne` and 8 hex digits). */
  idScope: Computed;
  /** The DPS's service API host name (its connection strings' HostName). */
  serviceHostName: Computed;
  /** Where devices register, `host[:port]`: `global.azure-devices-provisioning.net` on Azure (port 8883). */
  provisioningHost: Computed;
  /** The hub's MQTT endpoint `host:port` for the devices DPS assigns to it, when not 8883 (the local hub). */
  gatewayHostName?: Computed;
  /** The enrollment group ids the stack declares, in config order. */
  enrollmentGroups: string[];
}

export interface StackOutputs {
  hostName: string;
  /** Secret: the provisioner policy's connection string. Auth sas only: absent with auth entra. */
  serviceConnectionString?: string;
  /** The local hub's CA (local target only). */
  caFile?: string;
  /** `entra` when the service API is reached with Microsoft Entra ID (no policy exists); absent = sas. */
  auth?: "entra";
  /**
   * Auth entra: what a client's credential needs besides its secret (the local hub's authorityHost, tenantId and
   * clientId; `{}` on Azure, where DefaultAzureCredential needs nothing). Never a secret.
   */
  entra?: PublicEntraSettings;
  /** One entry per declared module, in config order. */
  modules: ModuleOutput[];
  /** Extension: one entry per declared IoT Edge deployment, in config order (absent = none). */
  deployments?: ConfigurationOutput[];
  /** Extension: one entry per declared ADM configuration, in config order (absent = none). */
  configurations?: ConfigurationOutput[];
  /** Extension: the stack's DPS (absent = none declared). */
  dps?: DpsOutput;
  /**
   * Secret, with `dps`: the DPS connection string verify uses (reads the groups and their keys, deletes the
   * simulated devices' registrations).
   */
  dpsServiceConnectionString?: string;
}

/** The Entra credential settings without the client secret: what the stack outputs may carry. */
export type PublicEntraSettings = Omit<EntraCredentialSettings, "clientSecret">;

/** The settings with the client secret left out (the program exports these; verify reads the secret elsewhere). */
export function publicEntraSettings(settings: EntraCredentialSettings): PublicEntraSettings {
  const { clientSecret: _secret, ...shown } = settings;
  return shown;
}

/** What `pulumi stack output` prints for a secret when --show-secrets was not given. */
const HIDDEN_SECRET = "[secret]";

type StackOutputsReading =
  { outputs: StackOutputs; violations?: undefined } | { outputs?: undefined; violations: RuleViolation[] };

/**
 * The stack outputs read from their JSON value, or every violation of the contract, each naming the field (the
 * field `""` is the document itself).
 */
export function readStackOutputs(json: unknown): StackOutputsReading {
  if (!isPlainObject(json)) {
    return { violations: [{ field: "", rule: "must be a JSON object with hostName and modules" }] };
  }
  const violations: RuleViolation[] = [];
  const hostName = requireString(json, "hostName", violations);
  let auth: "entra" | undefined;
  let entra: PublicEntraSettings | undefined;
  let serviceConnectionString: string | undefined;
  if (json.auth !== undefined && json.auth !== null && json.auth !== "sas" && json.auth !== "entra") {
    violations.push({ field: "auth", rule: "must be sas or entra when present" });
  } else if (json.auth === "entra") {
    auth = "entra";
    if (json.entra !== undefined && json.entra !== null) {
      const found = checkEntraCredentialSettings(json.entra, "entra");
      if (isPlainObject(json.entra) && json.entra.clientSecret !== undefined) {
        found.push({
          field: "entra.clientSecret",
          rule: "must not be in the stack outputs (use AZURE_CLIENT_SECRET)",
        });
      }
      violations.push(...found);
      if (found.length === 0) entra = json.entra as PublicEntraSettings;
    }
  } else {
    serviceConnectionString = requireSecretString(json, "serviceConnectionString", violations);
    if (serviceConnectionString !== undefined) {
      violations.push(...checkServiceConnectionString(serviceConnectionString));
    }
  }
  let caFile: string | undefined;
  if (json.caFile !== undefined && json.caFile !== null) {
    if (typeof json.caFile === "string" && json.caFile !== "") caFile = json.caFile;
    else violations.push({ field: "caFile", rule: "must be a path (a non-empty string) when present" });
  }

  const modules: ModuleOutput[] = [];
  if (!Array.isArray(json.modules)) {
    violations.push({
      field: "modules",
      rule: "must be an array of {deviceId, moduleId, connectionString, desired}",
    });
  } else {
    const seen = new Set<string>();
    json.modules.forEach((entry, index) => {
      const module = readModule(entry, `modules[${index}]`, violations);
      if (!module) return;
      const name = `${module.deviceId}/${module.moduleId}`;
      if (seen.has(name)) violations.push({ field: `modules[${index}]`, rule: `${name} is listed twice` });
      seen.add(name);
      modules.push(module);
    });
  }
  const deployments = readConfigurations(json, "deployments", violations);
  const configurations = readConfigurations(json, "configurations", violations);
  const dps = readDps(json, violations);
  if (violations.length > 0 || hostName === undefined) return { violations };
  const extensions = { caFile, modules, deployments, configurations, ...dps };
  if (auth === "entra") return { outputs: { hostName, auth, entra: entra ?? {}, ...extensions } };
  if (serviceConnectionString === undefined) return { violations };
  return { outputs: { hostName, serviceConnectionString, ...extensions } };
}

/** `dps` (absent or null: none) and, with it, the secret `dpsServiceConnectionString`, by the contract's rules. */
function readDps(
  json: Record<string, unknown>,
  violations: RuleViolation[],
): Pick<StackOutputs, "dps" | "dpsServiceConnectionString"> {
  const value = json.dps;
  if (value === undefined || value === null) return {};
  if (!isPlainObject(value)) {
    violations.push({
      field: "dps",
      rule: "must be an object {idScope, serviceHostName, provisioningHost, enrollmentGroups}",
    });
    return {};
  }
  const before = violations.length;
  violations.push(...checkIdScope(value.idScope, "dps.idScope"));
  for (const key of ["serviceHostName", "provisioningHost"] as const) {
    if (typeof value[key] !== "string" || value[key] === "") {
      violations.push({ field: `dps.${key}`, rule: "must be a non-empty string" });
    }
  }
  if (value.gatewayHostName !== undefined && value.gatewayHostName !== null) {
    if (typeof value.gatewayHostName !== "string" || value.gatewayHostName === "") {
      violations.push({ field: "dps.gatewayHostName", rule: "must be a non-empty string when present" });
    }
  }
  const groups = value.enrollmentGroups;
  if (!Array.isArray(groups)) {
    violations.push({ field: "dps.enrollmentGroups", rule: "must be an array of enrollment group ids" });
  } else {
    const seen = new Set<unknown>();
    groups.forEach((id, index) => {
      const field = `dps.enrollmentGroups[${index}]`;
      const found = checkEnrollmentGroupId(id, field);
      violations.push(...found);
      if (found.length === 0 && seen.has(id))
        violations.push({ field, rule: `${String(id)} is listed twice` });
      seen.add(id);
    });
  }
  const connectionString = requireSecretString(json, "dpsServiceConnectionString", violations);
  if (connectionString !== undefined) {
    violations.push(...checkServiceConnectionString(connectionString, "dpsServiceConnectionString"));
  }
  if (violations.length > before || connectionString === undefined) return {};
  return {
    dps: {
      idScope: value.idScope as string,
      serviceHostName: value.serviceHostName as string,
      provisioningHost: value.provisioningHost as string,
      ...(typeof value.gatewayHostName === "string" && { gatewayHostName: value.gatewayHostName }),
      enrollmentGroups: groups as string[],
    },
    dpsServiceConnectionString: connectionString,
  };
}

/** `deployments` or `configurations` (absent or null: none): each entry by the contract's rules, ids unique. */
function readConfigurations(
  json: Record<string, unknown>,
  key: "deployments" | "configurations",
  violations: RuleViolation[],
): ConfigurationOutput[] {
  const list = json[key];
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) {
    violations.push({
      field: key,
      rule: "must be an array of {name, configurationId, kind, targetCondition, content}",
    });
    return [];
  }
  const read: ConfigurationOutput[] = [];
  const seen = new Set<string>();
  list.forEach((entry, index) => {
    const field = `${key}[${index}]`;
    const before = violations.length;
    if (!isPlainObject(entry)) {
      violations.push({
        field,
        rule: "must be an object {name, configurationId, kind, targetCondition, content}",
      });
      return;
    }
    if (typeof entry.name !== "string" || entry.name === "") {
      violations.push({ field: `${field}.name`, rule: "must be a non-empty string" });
    }
    violations.push(...checkConfigurationId(entry.configurationId, `${field}.configurationId`));
    if (typeof entry.targetCondition !== "string") {
      violations.push({ field: `${field}.targetCondition`, rule: "must be a string" });
    }
    if (entry.content === HIDDEN_SECRET) {
      violations.push({
        field: `${field}.content`,
        rule: `is hidden as "${HIDDEN_SECRET}": read the outputs with --show-secrets`,
      });
    } else {
      const contentViolations = checkConfigurationContent(entry.content, `${field}.content`);
      violations.push(...contentViolations);
      const kind =
        contentViolations.length === 0 ? configurationKind(entry.content as ConfigurationContent) : undefined;
      if (kind !== undefined && (key === "deployments") !== (kind === "edge")) {
        violations.push({
          field: `${field}.content`,
          rule:
            key === "deployments" ? "must hold modulesContent" : "must hold deviceContent or moduleContent",
        });
      } else if (kind !== undefined && entry.kind !== kind) {
        violations.push({ field: `${field}.kind`, rule: `must be "${kind}", as its content says` });
      }
    }
    if (entry.priority !== undefined && entry.priority !== null) {
      violations.push(...checkPriority(entry.priority, `${field}.priority`));
    }
    if (entry.layered !== undefined && entry.layered !== null && typeof entry.layered !== "boolean") {
      violations.push({ field: `${field}.layered`, rule: "must be true or false when present" });
    }
    if (violations.length > before) return;
    const id = entry.configurationId as string;
    if (seen.has(id)) {
      violations.push({ field, rule: `${id} is listed twice` });
      return;
    }
    seen.add(id);
    read.push({
      name: entry.name as string,
      configurationId: id,
      kind: entry.kind as ConfigurationKind,
      ...(typeof entry.layered === "boolean" && { layered: entry.layered }),
      ...(typeof entry.priority === "number" && { priority: entry.priority }),
      targetCondition: entry.targetCondition as string,
      content: entry.content as ConfigurationContent,
    });
  });
  return read;
}

function readModule(entry: unknown, field: string, violations: RuleViolation[]): ModuleOutput | undefined {
  if (!isPlainObject(entry)) {
    violations.push({ field, rule: "must be an object {deviceId, moduleId, connectionString, desired}" });
    return undefined;
  }
  const before = violations.length;
  violations.push(...checkDeviceId(entry.deviceId, `${field}.deviceId`));
  violations.push(...checkModuleId(entry.moduleId, `${field}.moduleId`));
  const connectionString = requireSecretString(entry, "connectionString", violations, field);
  if (connectionString !== undefined) {
    const parts = checkConnectionString(connectionString, `${field}.connectionString`, violations, [
      "HostName",
      "DeviceId",
      "ModuleId",
      "SharedAccessKey",
    ]);
    if (parts && parts.DeviceId !== entry.deviceId) {
      violations.push({
        field: `${field}.connectionString`,
        rule: `its DeviceId is not ${JSON.stringify(entry.deviceId)}`,
      });
    }
    if (parts && parts.ModuleId !== entry.moduleId) {
      violations.push({
        field: `${field}.connectionString`,
        rule: `its ModuleId is not ${JSON.stringify(entry.moduleId)}`,
      });
    }
  }
  let previousConnectionString: string | undefined;
  if (entry.previousConnectionString !== undefined && entry.previousConnectionString !== null) {
    previousConnectionString = requireSecretString(entry, "previousConnectionString", violations, field);
    if (previousConnectionString !== undefined) {
      const previous = checkConnectionString(
        previousConnectionString,
        `${field}.previousConnectionString`,
        violations,
        ["HostName", "DeviceId", "ModuleId", "SharedAccessKey"],
      );
      if (previous && (previous.DeviceId !== entry.deviceId || previous.ModuleId !== entry.moduleId)) {
        violations.push({
          field: `${field}.previousConnectionString`,
          rule: "must name the same DeviceId and ModuleId as the entry",
        });
      }
    }
  }
  const desired = entry.desired ?? {};
  if (!isPlainObject(desired)) {
    violations.push({
      field: `${field}.desired`,
      rule: "must be an object (the declared desired properties)",
    });
  }
  if (violations.length > before || connectionString === undefined) return undefined;
  return {
    deviceId: entry.deviceId as string,
    moduleId: entry.moduleId as string,
    connectionString,
    ...(previousConnectionString === undefined ? {} : { previousConnectionString }),
    desired: desired as TwinDocument,
  };
}

function checkConnectionString(
  value: string,
  field: string,
  violations: RuleViolation[],
  required: string[],
): Record<string, string> | undefined {
  let parts: Record<string, string>;
  try {
    parts = parseConnectionString(value);
  } catch {
    violations.push({ field, rule: "must be a connection string of Key=Value parts separated by ;" });
    return undefined;
  }
  const missing = required.filter((key) => !parts[key]);
  if (missing.length > 0) {
    violations.push({ field, rule: `must carry ${missing.join(", ")}` });
    return undefined;
  }
  return parts;
}

function requireString(
  json: Record<string, unknown>,
  key: string,
  violations: RuleViolation[],
): string | undefined {
  const value = json[key];
  if (typeof value === "string" && value !== "") return value;
  violations.push({ field: key, rule: "must be a non-empty string" });
  return undefined;
}

function requireSecretString(
  json: Record<string, unknown>,
  key: string,
  violations: RuleViolation[],
  parent?: string,
): string | undefined {
  const field = parent ? `${parent}.${key}` : key;
  const value = json[key];
  if (value === HIDDEN_SECRET) {
    violations.push({ field, rule: `is hidden as "${HIDDEN_SECRET}": read the outputs with --show-secrets` });
    return undefined;
  }
  if (typeof value === "string" && value !== "") return value;
  violations.push({ field, rule: "must be a non-empty string" });
  return undefined;
}
