import { setTimeout as delay } from "node:timers/promises";
import { isDeepStrictEqual } from "node:util";
import type { Registry } from "azure-iothub";
import {
  DESIRED_ROOT,
  EDGE_AGENT,
  applyTwinContent,
  type ConfigurationRecord,
} from "../lib/iothub/configuration";
import { isPlainObject, type TwinProperties } from "../lib/iothub/twin";
import type { ConfigurationOutput } from "./outputs";

/**
 * The check of one declared deployment or configuration in the hub: every twin it targets has it applied (the
 * twin's `configurations` entry says Applied, and the twin carries its content), or has another configuration of
 * higher priority applied (superseded, as IoT Hub decides); and the hub's system metrics count the same twins.
 * ADM applies in its own time (IoT Hub: within 5 minutes), so a check that does not pass yet is tried again until
 * --timeout.
 */

export interface ConfigurationResult {
  name: string;
  configurationId: string;
  kind: ConfigurationOutput["kind"];
  ok: boolean;
  /** Twins the target condition selects now (for deployments: IoT Edge devices). */
  targeted: number;
  applied: number;
  /** Targeted twins where a configuration of higher priority is applied instead. */
  superseded: number;
  /** The hub's systemMetrics.results when last read. */
  systemMetrics: Record<string, number>;
  /** What is wrong, when not ok: at most MAX_PROBLEMS entries, then a count of the rest. */
  problems: string[];
  durationMs: number;
}

export interface ConfigurationCheckContext {
  registry: Registry;
  timeoutSeconds: number;
}

const MAX_PROBLEMS = 20;
const RETRY_INTERVAL_MS = 1000;

/** A twin as the query returns it: ids, desired properties, the configurations section. */
interface QueriedTwin {
  deviceId: string;
  moduleId?: string;
  configurations?: Record<string, { status?: string }>;
  properties?: { desired?: TwinProperties };
}

export async function checkConfiguration(
  declared: ConfigurationOutput,
  context: ConfigurationCheckContext,
): Promise<ConfigurationResult> {
  const started = Date.now();
  const deadline = started + context.timeoutSeconds * 1000;
  for (;;) {
    const result = await checkOnce(declared, context.registry);
    if (result.ok || Date.now() + RETRY_INTERVAL_MS > deadline) {
      return { ...result, durationMs: Date.now() - started };
    }
    await delay(RETRY_INTERVAL_MS);
  }
}

async function checkOnce(
  declared: ConfigurationOutput,
  registry: Registry,
): Promise<Omit<ConfigurationResult, "durationMs">> {
  const base = {
    name: declared.name,
    configurationId: declared.configurationId,
    kind: declared.kind,
    targeted: 0,
    applied: 0,
    superseded: 0,
    systemMetrics: {},
  };
  let configuration: ConfigurationRecord;
  try {
    configuration = (await registry.getConfiguration(declared.configurationId))
      .responseBody as unknown as ConfigurationRecord;
  } catch (error) {
    return {
      ...base,
      ok: false,
      problems: [
        `the hub has no configuration ${declared.configurationId}: ${String((error as Error).message ?? error)}`,
      ],
    };
  }
  const systemMetrics = configuration.systemMetrics?.results ?? {};
  const targetedQuery = configuration.systemMetrics?.queries?.targetedCount;
  if (!targetedQuery) {
    return {
      ...base,
      systemMetrics,
      ok: false,
      problems: ["the hub has not evaluated it yet (no systemMetrics queries)"],
    };
  }
  const targets = await queryTwins(
    registry,
    targetedQuery.replace(/^\s*SELECT\s+[\s\S]+?\s+FROM\s+/i, "SELECT * FROM "),
  );
  const priorities = new Map<string, number>();
  const priorityOf = async (id: string): Promise<number> => {
    if (!priorities.has(id)) {
      const other = await registry.getConfiguration(id).then(
        (answer) => (answer.responseBody as unknown as ConfigurationRecord).priority ?? 0,
        () => -1,
      );
      priorities.set(id, other);
    }
    return priorities.get(id)!;
  };
  const problems: string[] = [];
  let applied = 0;
  let superseded = 0;
  for (const target of targets) {
    // A deployment's statuses are on the device's $edgeAgent twin, as on IoT Hub.
    const twin = declared.kind === "edge" ? await agentTwin(registry, target.deviceId) : target;
    const where = twin?.moduleId === undefined ? target.deviceId : `${twin.deviceId}/${twin.moduleId}`;
    if (!twin) {
      problems.push(`${where}: has no ${EDGE_AGENT} twin`);
      continue;
    }
    const statuses = twin.configurations ?? {};
    if (statuses[declared.configurationId]?.status === "Applied") {
      const missing = missingContent(declared, twin.properties?.desired ?? {});
      if (missing) problems.push(`${where}: says Applied but ${missing}`);
      else applied++;
      continue;
    }
    const winners = Object.entries(statuses).filter(
      ([id, entry]) => id !== declared.configurationId && entry.status === "Applied",
    );
    let outranked = false;
    for (const [id] of winners) if ((await priorityOf(id)) >= configuration.priority) outranked = true;
    if (outranked) superseded++;
    else
      problems.push(
        `${where}: targeted, but not applied (${statuses[declared.configurationId]?.status ?? "no status"})`,
      );
  }
  if (systemMetrics.targetedCount !== targets.length) {
    problems.push(
      `the hub's systemMetrics count ${systemMetrics.targetedCount} targeted, the target condition selects ${targets.length}`,
    );
  }
  if (systemMetrics.appliedCount !== applied) {
    problems.push(
      `the hub's systemMetrics count ${systemMetrics.appliedCount} applied, the twins say ${applied}`,
    );
  }
  const shown =
    problems.length > MAX_PROBLEMS
      ? [...problems.slice(0, MAX_PROBLEMS), `... and ${problems.length - MAX_PROBLEMS} more`]
      : problems;
  return {
    ...base,
    targeted: targets.length,
    applied,
    superseded,
    systemMetrics,
    ok: problems.length === 0,
    problems: shown,
  };
}

/** What the twin lacks of the content, in words; undefined when it carries all of it. */
function missingContent(declared: ConfigurationOutput, desired: TwinProperties): string | undefined {
  const { $metadata: _metadata, $version: _version, ...document } = desired;
  if (declared.kind !== "edge") {
    const content = declared.content.deviceContent ?? declared.content.moduleContent ?? {};
    return isDeepStrictEqual(applyTwinContent(document, content), document)
      ? undefined
      : "its desired properties do not carry the configuration's content";
  }
  // Layers merge over the base and may change a base module's settings: what every applied deployment keeps is
  // that the agent runs each module it declares.
  const missing = declaredModules(declared.content.modulesContent?.[EDGE_AGENT] ?? {}).filter(
    (module) => !isPlainObject(document.modules) || !(module in document.modules),
  );
  return missing.length === 0 ? undefined : `${EDGE_AGENT}'s desired modules lack ${missing.join(", ")}`;
}

/** The custom modules an `$edgeAgent` content declares: in its whole document, or as `properties.desired.modules.<m>`. */
function declaredModules(agent: TwinProperties): string[] {
  const names: string[] = [];
  for (const [key, value] of Object.entries(agent)) {
    if (key === DESIRED_ROOT && isPlainObject(value) && isPlainObject(value.modules))
      names.push(...Object.keys(value.modules));
    const match = /^properties\.desired\.modules\.([^.]+)$/.exec(key);
    if (match) names.push(match[1]);
  }
  return names;
}

/** An IoT Edge device's `$edgeAgent` twin (read by id: ids may hold characters a query string cannot). */
async function agentTwin(registry: Registry, deviceId: string): Promise<QueriedTwin | undefined> {
  try {
    return (await registry.getModuleTwin(deviceId, EDGE_AGENT)).responseBody as unknown as QueriedTwin;
  } catch {
    return undefined;
  }
}

/** Every twin a query selects, page by page (`next()` without the token would ask for the first page again). */
async function queryTwins(registry: Registry, sql: string): Promise<QueriedTwin[]> {
  const query = registry.createQuery(sql, 1000);
  const rows: QueriedTwin[] = [];
  do {
    const page = await query.next(query.continuationToken);
    rows.push(...((page.result as QueriedTwin[] | undefined) ?? []));
  } while (query.hasMoreResults);
  return rows;
}
