import type { RuleViolation } from "./rules";

/**
 * IoT Hub's data plane under Microsoft Entra ID: the data actions a service-API operation needs and the built-in
 * roles that grant them (Microsoft's "Control access to IoT Hub by using Microsoft Entra ID" and the built-in role
 * definitions). The local hub enforces them; the Pulumi side assigns them on Azure.
 */

/** The audience (`aud`) of an Entra access token for IoT Hub's service API. */
export const IOT_HUB_TOKEN_AUDIENCE = "https://iothubs.azure.net";
/** The scope a credential asks for (azure-iothub's `Registry.fromTokenCredential` uses it). */
export const IOT_HUB_TOKEN_SCOPE = `${IOT_HUB_TOKEN_AUDIENCE}/.default`;

/** The data actions of IoT Hub's service API (the subset the local hub serves, plus those its roles name). */
export const DATA_ACTIONS = {
  devicesRead: "Microsoft.Devices/IotHubs/devices/read",
  devicesWrite: "Microsoft.Devices/IotHubs/devices/write",
  devicesDelete: "Microsoft.Devices/IotHubs/devices/delete",
  twinsRead: "Microsoft.Devices/IotHubs/twins/read",
  twinsWrite: "Microsoft.Devices/IotHubs/twins/write",
  configurationsRead: "Microsoft.Devices/IotHubs/configurations/read",
  configurationsWrite: "Microsoft.Devices/IotHubs/configurations/write",
  configurationsDelete: "Microsoft.Devices/IotHubs/configurations/delete",
  configurationsTestQueries: "Microsoft.Devices/IotHubs/configurations/testQueries/action",
  configurationsApplyToEdgeDevice: "Microsoft.Devices/IotHubs/configurations/applyToEdgeDevice/action",
  directMethodsInvoke: "Microsoft.Devices/IotHubs/directMethods/invoke/action",
  statisticsRead: "Microsoft.Devices/IotHubs/statistics/read",
  fileUploadNotifications: "Microsoft.Devices/IotHubs/fileUpload/notifications/action",
} as const;

export type DataAction = (typeof DATA_ACTIONS)[keyof typeof DATA_ACTIONS];

export interface DataPlaneRole {
  /** The role's name as Azure shows it and `iothub-local role assign --role` takes it. */
  name: string;
  /** Azure's built-in role definition id (the last segment of its roleDefinitionId). */
  definitionId: string;
  /** Azure's dataActions patterns: `*` stands for any text, compared without regard to case. */
  dataActions: readonly string[];
}

/** IoT Hub's four built-in data-plane roles. Owner and Contributor carry no data actions. */
export const DATA_PLANE_ROLES: readonly DataPlaneRole[] = [
  {
    name: "IoT Hub Data Contributor",
    definitionId: "4fc6c259-987e-4a07-842e-c321cc9d413f",
    dataActions: ["Microsoft.Devices/IotHubs/*"],
  },
  {
    name: "IoT Hub Data Reader",
    definitionId: "b447c946-2db7-41ec-983d-d8bf3b1c77e3",
    dataActions: [
      "Microsoft.Devices/IotHubs/*/read",
      "Microsoft.Devices/IotHubs/fileUpload/notifications/action",
    ],
  },
  {
    name: "IoT Hub Registry Contributor",
    definitionId: "4ea46cd5-c1b2-4a8e-910b-273211f9ce47",
    dataActions: ["Microsoft.Devices/IotHubs/devices/*"],
  },
  {
    name: "IoT Hub Twin Contributor",
    definitionId: "494bdba2-168f-4f31-a0a1-191d2f7c028c",
    dataActions: ["Microsoft.Devices/IotHubs/twins/*"],
  },
];

/** Azure's matching of a dataActions pattern: case-insensitive, `*` any run of characters (slashes included). */
export function patternGrants(pattern: string, action: string): boolean {
  const parts = pattern.toLowerCase().split("*");
  const text = action.toLowerCase();
  if (parts.length === 1) return parts[0] === text;
  if (!text.startsWith(parts[0]) || !text.endsWith(parts[parts.length - 1])) return false;
  let at = parts[0].length;
  const end = text.length - parts[parts.length - 1].length;
  for (const part of parts.slice(1, -1)) {
    const found = text.indexOf(part, at);
    if (found < 0 || found + part.length > end) return false;
    at = found + part.length;
  }
  return at <= end;
}

/** True when one of the roles grants `action`. */
export function rolesGrant(roles: readonly DataPlaneRole[], action: string): boolean {
  return roles.some((role) => role.dataActions.some((pattern) => patternGrants(pattern, action)));
}

/**
 * The narrowest built-in role that grants `action` and lets a provisioner change what it reads: IoT Hub Registry
 * Contributor for identities, IoT Hub Twin Contributor for twins, else IoT Hub Data Contributor. What an error
 * names when a principal lacks the action.
 */
export function contributorRoleFor(action: string): DataPlaneRole {
  const preference = ["IoT Hub Registry Contributor", "IoT Hub Twin Contributor", "IoT Hub Data Contributor"];
  for (const name of preference) {
    const role = findRole(name)!;
    if (rolesGrant([role], action)) return role;
  }
  return findRole("IoT Hub Data Contributor")!;
}

/** The built-in roles that grant `action`, in the table's order. */
export function rolesGranting(action: string): DataPlaneRole[] {
  return DATA_PLANE_ROLES.filter((role) => rolesGrant([role], action));
}

/** The role of that name (compared without regard to case, as Azure's role names are), or undefined. */
export function findRole(name: string): DataPlaneRole | undefined {
  const wanted = name.toLowerCase();
  return DATA_PLANE_ROLES.find((role) => role.name.toLowerCase() === wanted);
}

/**
 * The rule for a role name: one of the built-in roles. The rule names the closest one (by edit distance, at most
 * a third of the name's length) or lists them all; it quotes the given name only when it is short and printable.
 */
export function checkRoleName(value: unknown, field = "role"): RuleViolation[] {
  if (typeof value !== "string") return [{ field, rule: "must be a string" }];
  if (findRole(value)) return [];
  const names = DATA_PLANE_ROLES.map((role) => role.name);
  const closest = closestName(value, names);
  const shown = value.length <= 64 && /^[\x20-\x7e]*$/.test(value) ? `'${value}' ` : "";
  return [
    {
      field,
      rule: closest
        ? `${shown}is not an IoT Hub data-plane role (did you mean '${closest}'?)`
        : `${shown}is not an IoT Hub data-plane role; use one of ${names.map((n) => `'${n}'`).join(", ")}`,
    },
  ];
}

function closestName(value: string, names: readonly string[]): string | undefined {
  // Longer than any role name by far: no suggestion, and no quadratic work on a hostile argument.
  if (value.length > 64) return undefined;
  let best: { name: string; distance: number } | undefined;
  for (const name of names) {
    const distance = editDistance(value.toLowerCase(), name.toLowerCase());
    if (!best || distance < best.distance) best = { name, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(best.name.length / 3)) ? best.name : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length];
}

/**
 * Entra principal names as the local hub registers them (`iothub-local principal add NAME`): 1-64 letters,
 * digits, `.`, `_` or `-`, the policy-name alphabet, so a name is one shell word and one table cell.
 */
const PRINCIPAL_NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

export function checkPrincipalName(value: unknown, field = "principal name"): RuleViolation[] {
  if (typeof value !== "string") return [{ field, rule: "must be a string" }];
  if (!PRINCIPAL_NAME_PATTERN.test(value)) {
    return [{ field, rule: "must be 1-64 letters, digits, '.', '_' or '-' (no spaces)" }];
  }
  return [];
}
