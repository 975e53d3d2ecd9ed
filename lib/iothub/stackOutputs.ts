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
  if (violations.length > 0 || hostName === undefined) return { violations };
  if (auth === "entra") return { outputs: { hostName, auth, entra: entra ?? {}, caFile, modules } };
  if (serviceConnectionString === undefined) return { violations };
  return { outputs: { hostName, serviceConnectionString, caFile, modules } };
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
