import type { Registry } from "azure-iothub";
import { EDGE_AGENT, applyTwinContent } from "../lib/iothub/configuration";
import { isPlainObject, type TwinDocument, type TwinProperties } from "../lib/iothub/twin";
import type { ConfigurationOutput, ModuleOutput } from "./outputs";

/**
 * What a module's desired properties must hold besides what the stack declares for its twin: the content of the
 * declared configurations applied to it. A module configuration is applied where the module twin's
 * `configurations` entry says so; the deployments of an IoT Edge device where its `$edgeAgent` twin's entries say
 * so, the base first, then the layers by priority (as the hub merges them), each with its content for this module.
 * The stack's own declared keys come last (its ModuleTwin owns them). Twins that cannot be read add nothing: the
 * module check then reports its own view.
 */
export async function expectedDesired(
  module: ModuleOutput,
  registry: Registry,
  declared: readonly ConfigurationOutput[],
): Promise<TwinDocument> {
  const moduleConfigurations = declared.filter((entry) => entry.kind === "module");
  const deployments = declared.filter((entry) => entry.kind === "edge");
  if (moduleConfigurations.length === 0 && deployments.length === 0) return module.desired;
  const contents: TwinProperties[] = [];
  const own = await appliedIds(registry, module.deviceId, module.moduleId);
  for (const entry of moduleConfigurations) {
    if (own.has(entry.configurationId)) contents.push(entry.content.moduleContent ?? {});
  }
  if (deployments.length > 0) {
    const onDevice = await appliedIds(registry, module.deviceId, EDGE_AGENT);
    const applied = deployments.filter((entry) => onDevice.has(entry.configurationId));
    // The base deployment first (one applies per device), then the layers by priority, the highest last (it wins
    // where they overlap); a tie keeps the declared order.
    const layers = applied.filter((e) => e.layered).sort((a, b) => (a.priority ?? 0) - (b.priority ?? 0));
    for (const entry of [...applied.filter((e) => !e.layered), ...layers]) {
      const forModule = entry.content.modulesContent?.[module.moduleId];
      if (isPlainObject(forModule)) contents.push(forModule);
    }
  }
  if (contents.length === 0) return module.desired;
  const fromConfigurations = contents.reduce<TwinProperties>(applyTwinContent, {});
  return mergeOver(fromConfigurations, module.desired) as TwinDocument;
}

/** The ids of the configurations a twin says are applied to it (none when the twin cannot be read). */
async function appliedIds(registry: Registry, deviceId: string, moduleId: string): Promise<Set<string>> {
  try {
    const twin = (await registry.getModuleTwin(deviceId, moduleId)).responseBody as unknown as {
      configurations?: Record<string, { status?: string }>;
    };
    return new Set(
      Object.entries(twin.configurations ?? {})
        .filter(([, entry]) => entry.status === "Applied")
        .map(([id]) => id),
    );
  } catch {
    return new Set();
  }
}

/** `over`'s keys on top of `base`, objects merged key by key. */
function mergeOver(base: TwinProperties, over: TwinProperties): TwinProperties {
  const merged: TwinProperties = { ...base };
  for (const [key, value] of Object.entries(over)) {
    merged[key] =
      isPlainObject(value) && isPlainObject(merged[key])
        ? mergeOver(merged[key] as TwinProperties, value)
        : value;
  }
  return merged;
}
