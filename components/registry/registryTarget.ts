import { sameHub } from "./hubConnection";

/**
 * What a registry resource addresses: a device (resource id `deviceId`) or a module (resource id
 * `deviceId/moduleId`). Identities and twins of both kinds name, identify and replace themselves the same way.
 */
export type RegistryTarget = "device" | "module";

/** The id fields of a target, in resource-id order: changing one of them means another entry (a replace). */
function idFields(target: RegistryTarget): ("deviceId" | "moduleId")[] {
  return target === "device" ? ["deviceId"] : ["deviceId", "moduleId"];
}

/** The resource id: `deviceId`, or `deviceId/moduleId`. */
export function resourceId(target: RegistryTarget, inputs: { deviceId: string; moduleId?: string }): string {
  return idFields(target)
    .map((field) => inputs[field])
    .join("/");
}

/** The module id for the SDK's calls: undefined for a device (its calls take no module). */
export function moduleIdOf(target: RegistryTarget, inputs: { moduleId?: string }): string | undefined {
  return target === "module" ? inputs.moduleId : undefined;
}

/**
 * How errors name the resource, e.g. `device "d"`, `module twin "d/m"`. Called on unchecked inputs too, so the ids
 * may be anything.
 */
export function targetLabel(
  noun: string,
  target: RegistryTarget,
  inputs: { deviceId?: unknown; moduleId?: unknown },
): string {
  const ids = idFields(target).map((field) => String(inputs[field]));
  return `${noun} "${ids.join("/")}"`;
}

/** The inputs whose change replaces the resource: another id, or another hub (a known connection string's host). */
export function replacedFields(
  target: RegistryTarget,
  olds: { deviceId: string; moduleId?: string; serviceConnectionString: string },
  news: { deviceId: string; moduleId?: string; serviceConnectionString: string },
): string[] {
  const replaces: string[] = idFields(target).filter((field) => olds[field] !== news[field]);
  if (!sameHub(olds, news)) replaces.push("serviceConnectionString");
  return replaces;
}
