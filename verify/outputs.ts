import { parseConnectionString } from "../lib/iothub/sas";
import { checkDeviceId, checkModuleId } from "../lib/iothub/rules";
import type { TwinDocument } from "./desired";
import { InputError } from "./inputError";

/**
 * The stack outputs verify reads (`pulumi stack output --json --show-secrets`, or the same JSON from a file).
 * Validation names the field and the rule, and never echoes a connection string: they carry keys.
 */

export interface ModuleOutput {
  deviceId: string;
  moduleId: string;
  connectionString: string;
  desired: TwinDocument;
}

export interface StackOutputs {
  hostName: string;
  serviceConnectionString: string;
  /** The local hub's CA (local target only). */
  caFile?: string;
  modules: ModuleOutput[];
}

/** What `pulumi stack output` prints for a secret when --show-secrets was not given. */
const HIDDEN_SECRET = "[secret]";

export function parseStackOutputs(text: string, source: string): StackOutputs {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${source}: not valid JSON (${(error as Error).message})`);
  }
  return validateStackOutputs(json, source);
}

function validateStackOutputs(json: unknown, source: string): StackOutputs {
  const problems: string[] = [];
  if (!isObject(json)) throw new InputError(`${source}: must be a JSON object with hostName and modules`);

  const hostName = requireString(json, "hostName", problems);
  const serviceConnectionString = requireSecretString(json, "serviceConnectionString", problems);
  if (serviceConnectionString !== undefined) {
    checkConnectionString(serviceConnectionString, "serviceConnectionString", problems, [
      "HostName",
      "SharedAccessKeyName",
      "SharedAccessKey",
    ]);
  }
  let caFile: string | undefined;
  if (json.caFile !== undefined && json.caFile !== null) {
    if (typeof json.caFile === "string" && json.caFile !== "") caFile = json.caFile;
    else problems.push("caFile: must be a path (a non-empty string) when present");
  }

  const modules: ModuleOutput[] = [];
  if (!Array.isArray(json.modules)) {
    problems.push("modules: must be an array of {deviceId, moduleId, connectionString, desired}");
  } else if (json.modules.length === 0) {
    problems.push("modules: is empty, so there is nothing to verify");
  } else {
    const seen = new Set<string>();
    json.modules.forEach((entry, index) => {
      const module = validateModule(entry, `modules[${index}]`, problems);
      if (!module) return;
      const name = `${module.deviceId}/${module.moduleId}`;
      if (seen.has(name)) problems.push(`modules[${index}]: ${name} is listed twice`);
      seen.add(name);
      modules.push(module);
    });
  }

  if (problems.length > 0) {
    throw new InputError(`${source}: invalid stack outputs:\n  - ${problems.join("\n  - ")}`);
  }
  return { hostName: hostName!, serviceConnectionString: serviceConnectionString!, caFile, modules };
}

function validateModule(entry: unknown, field: string, problems: string[]): ModuleOutput | undefined {
  if (!isObject(entry)) {
    problems.push(`${field}: must be an object {deviceId, moduleId, connectionString, desired}`);
    return undefined;
  }
  const before = problems.length;
  for (const violation of checkDeviceId(entry.deviceId, `${field}.deviceId`)) {
    problems.push(`${violation.field}: ${violation.rule}`);
  }
  for (const violation of checkModuleId(entry.moduleId, `${field}.moduleId`)) {
    problems.push(`${violation.field}: ${violation.rule}`);
  }
  const connectionString = requireSecretString(entry, "connectionString", problems, field);
  if (connectionString !== undefined) {
    const fields = checkConnectionString(connectionString, `${field}.connectionString`, problems, [
      "HostName",
      "DeviceId",
      "ModuleId",
      "SharedAccessKey",
    ]);
    if (fields && fields.DeviceId !== entry.deviceId) {
      problems.push(`${field}.connectionString: its DeviceId is not ${JSON.stringify(entry.deviceId)}`);
    }
    if (fields && fields.ModuleId !== entry.moduleId) {
      problems.push(`${field}.connectionString: its ModuleId is not ${JSON.stringify(entry.moduleId)}`);
    }
  }
  const desired = entry.desired ?? {};
  if (!isObject(desired))
    problems.push(`${field}.desired: must be an object (the declared desired properties)`);
  if (problems.length > before) return undefined;
  return {
    deviceId: entry.deviceId as string,
    moduleId: entry.moduleId as string,
    connectionString: connectionString!,
    desired: desired as TwinDocument,
  };
}

function checkConnectionString(
  value: string,
  field: string,
  problems: string[],
  required: string[],
): Record<string, string> | undefined {
  let fields: Record<string, string>;
  try {
    fields = parseConnectionString(value);
  } catch {
    problems.push(`${field}: must be a connection string of Key=Value parts separated by ;`);
    return undefined;
  }
  const missing = required.filter((key) => !fields[key]);
  if (missing.length > 0) {
    problems.push(`${field}: must carry ${missing.join(", ")}`);
    return undefined;
  }
  return fields;
}

function requireString(json: Record<string, unknown>, key: string, problems: string[]): string | undefined {
  const value = json[key];
  if (typeof value === "string" && value !== "") return value;
  problems.push(`${key}: must be a non-empty string`);
  return undefined;
}

function requireSecretString(
  json: Record<string, unknown>,
  key: string,
  problems: string[],
  parent?: string,
): string | undefined {
  const field = parent ? `${parent}.${key}` : key;
  const value = json[key];
  if (value === HIDDEN_SECRET) {
    problems.push(`${field}: is hidden as "[secret]": read the outputs with --show-secrets`);
    return undefined;
  }
  if (typeof value === "string" && value !== "") return value;
  problems.push(`${field}: must be a non-empty string`);
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Where the module client connects: GatewayHostName (may carry `:port`) or HostName, port 8883 by default. */
export function mqttEndpoint(connectionString: string): { host: string; port: number; hostName: string } {
  const fields = parseConnectionString(connectionString);
  const gateway = fields.GatewayHostName || fields.HostName;
  const match = /^(.*):(\d+)$/.exec(gateway);
  if (match && !match[1].includes(":"))
    return { host: match[1], port: Number(match[2]), hostName: fields.HostName };
  return { host: gateway, port: 8883, hostName: fields.HostName };
}
