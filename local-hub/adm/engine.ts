import {
  EDGE_AGENT,
  configurationKind,
  isLayeredDeployment,
  type ConfigurationKind,
} from "../../lib/iothub/configuration";
import { isPlainObject, type ServiceTwin, type TwinProperties } from "../../lib/iothub/twin";
import { IotHubError } from "../errors/iotHubError";
import type { HubEvents, IdentityRef } from "../events";
import { matches } from "../handlers/twinQueryEvaluation";
import type { ConfigurationStore, StoredConfiguration } from "../persistence/configurationStore";
import type { ConfigurationView, IdentityStore } from "../persistence/identityStore";
import { sqlPrefilter } from "../persistence/twinPrefilter";
import type { ConfigurationsSection } from "../persistence/twinState";
import { desiredPatchFor } from "./content";
import { systemMetricQueries } from "./metrics";
import { parseMetricQuery, parseTargetCondition, targets, type Target } from "./targetCondition";

/** Changes that arrive together (a bulk create, a fleet reporting) are evaluated once. */
const COALESCE_MS = 20;

export interface AdmEngineOptions {
  store: IdentityStore;
  configurations: ConfigurationStore;
  events: HubEvents;
  /** The period of the full evaluation, in milliseconds. */
  intervalMs: number;
  log: (line: string) => void;
}

interface Evaluated {
  configuration: StoredConfiguration;
  kind: ConfigurationKind;
  layered: boolean;
  target: Target;
}

/** One configuration's view of one pass: which twins it targets and on which it is applied. */
interface Tally {
  targeted: number;
  applied: number;
  reportedSuccessful: number;
  reportedFailed: number;
}

/**
 * The ADM engine: applies configurations and deployments to the twins their target conditions select, on every
 * relevant change (a twin's tags or reported properties, an identity created or deleted, a configuration created,
 * updated or deleted) and on a period.
 *
 * Per twin, as IoT Hub decides: of the device (or module) configurations that target it, the one with the highest
 * priority is applied, a tie going to the newest; of the edge deployments that target an IoT Edge device, the
 * highest base deployment, and over it every layered deployment of higher priority (ascending, so the highest wins
 * where they overlap). Applied content lands in desired properties; each twin's `configurations` section says
 * `Applied` or `Targeted` (for edge deployments the `$edgeAgent` twin's, as on IoT Hub). Content is written when
 * the set of applied configurations (ids and etags) changes, so content applied directly
 * (applyConfigurationContent) stays until a deployment changes; a deleted configuration leaves its content.
 */
export class AdmEngine {
  private timer: NodeJS.Timeout | undefined;
  private pending: NodeJS.Timeout | undefined;
  private readonly targetCache = new Map<string, Target>();
  private readonly listeners: Array<() => void> = [];
  /** Twins whose desired properties refused an applied set (by twin key): not tried again until the set changes. */
  private readonly refused = new Map<string, string>();
  /** The last pass found no configuration and went over every twin: until one is added, passes have nothing to do. */
  private clearedWithoutConfigurations = false;

  constructor(private readonly options: AdmEngineOptions) {}

  start(): void {
    const schedule = (): void => this.schedule();
    const { events } = this.options;
    events.on("twinChanged", schedule);
    events.on("configurationChanged", schedule);
    events.on("identityRevoked", schedule);
    this.listeners.push(
      () => events.off("twinChanged", schedule),
      () => events.off("configurationChanged", schedule),
      () => events.off("identityRevoked", schedule),
    );
    this.timer = setInterval(() => this.evaluate(), this.options.intervalMs);
    this.timer.unref();
    this.schedule();
  }

  stop(): void {
    for (const off of this.listeners.splice(0)) off();
    clearInterval(this.timer);
    clearTimeout(this.pending);
  }

  private schedule(): void {
    if (this.pending) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.evaluate();
    }, COALESCE_MS);
    this.pending.unref();
  }

  /** One full pass over every configuration and twin. Synchronous: nothing changes the store meanwhile. */
  evaluate(): void {
    try {
      this.pass();
    } catch (error) {
      this.options.log(`adm: evaluation failed: ${(error as Error).stack ?? String(error)}`);
    }
  }

  private pass(): void {
    const { store, configurations } = this.options;
    const listed = configurations.list();
    // With no configuration, a pass has nothing to apply or count, and the pass that saw the last one go cleared
    // the twins' configurations sections (the service API cannot write them): skip the scan of every twin, which
    // each twin change would otherwise cost a hub that uses no ADM.
    if (listed.length === 0 && this.clearedWithoutConfigurations) return;
    const evaluated = listed.map((configuration) => this.evaluated(configuration));
    const tallies = new Map<string, Tally>(
      evaluated.map((e) => [
        e.configuration.id,
        { targeted: 0, applied: 0, reportedSuccessful: 0, reportedFailed: 0 },
      ]),
    );
    const deviceConfigurations = evaluated.filter((e) => e.kind === "device");
    const moduleConfigurations = evaluated.filter((e) => e.kind === "module");
    const deployments = evaluated.filter((e) => e.kind === "edge");

    // Read first, then write: the store cannot write while one of its scans is open.
    const devices = [...store.scanTwins("devices")];
    const edgeDevices = new Set(devices.filter(isEdgeDevice).map((twin) => twin.deviceId));
    const modulesOfEdgeDevices = new Map<string, ServiceTwin[]>();
    const otherModules: ServiceTwin[] = [];
    for (const twin of store.scanTwins("modules")) {
      if (!edgeDevices.has(twin.deviceId)) otherModules.push(twin);
      else
        modulesOfEdgeDevices.set(twin.deviceId, [...(modulesOfEdgeDevices.get(twin.deviceId) ?? []), twin]);
    }
    // Module configurations are for the modules of devices; the modules of IoT Edge devices get deployments.
    for (const twin of otherModules) this.applyWinner(twin, moduleConfigurations, tallies);
    for (const twin of devices) {
      this.applyWinner(twin, deviceConfigurations, tallies);
      if (edgeDevices.has(twin.deviceId)) {
        this.applyDeployments(twin, modulesOfEdgeDevices.get(twin.deviceId) ?? [], deployments, tallies);
      }
    }
    for (const e of evaluated) this.recordMetrics(e, tallies.get(e.configuration.id)!);
    this.clearedWithoutConfigurations = listed.length === 0;
  }

  private evaluated(configuration: StoredConfiguration): Evaluated {
    const kind = configurationKind(configuration.content);
    const key = `${kind}\u0000${configuration.targetCondition}`;
    let target = this.targetCache.get(key);
    if (!target) {
      // Stored conditions passed the same parse when they were written.
      target = parseTargetCondition(configuration.targetCondition, kind);
      if (this.targetCache.size > 500) this.targetCache.clear();
      this.targetCache.set(key, target);
    }
    return { configuration, kind, layered: isLayeredDeployment(configuration.content), target };
  }

  /** Device or module configurations: the highest priority (then the newest) of those that target the twin. */
  private applyWinner(twin: ServiceTwin, candidates: Evaluated[], tallies: Map<string, Tally>): void {
    const targeting = candidates.filter((e) => targets(e.target, twin));
    for (const e of targeting) tallies.get(e.configuration.id)!.targeted++;
    const winner = highest(targeting);
    const applied = winner ? [winner] : [];
    const ok = this.write(refOf(twin), twin, targeting, applied, (desired) =>
      desiredPatchFor(
        desired,
        applied.map((e) => contentFor(e, undefined)),
      ),
    );
    if (winner && ok) tallies.get(winner.configuration.id)!.applied++;
  }

  /**
   * Edge deployments on one IoT Edge device: the base deployment that wins, then the layered ones above it. Their
   * merged content goes to each module twin of the device they have content for; the statuses to `$edgeAgent`.
   */
  private applyDeployments(
    device: ServiceTwin,
    modules: ServiceTwin[],
    deployments: Evaluated[],
    tallies: Map<string, Tally>,
  ): void {
    const targeting = deployments.filter((e) => targets(e.target, device));
    for (const e of targeting) tallies.get(e.configuration.id)!.targeted++;
    const agent = modules.find((m) => m.moduleId === EDGE_AGENT);
    if (!agent) return;
    const base = highest(targeting.filter((e) => !e.layered));
    const layers = base
      ? targeting
          .filter((e) => e.layered && e.configuration.priority > base.configuration.priority)
          .sort((a, b) => (outranks(a, b) ? 1 : -1))
      : [];
    const applied = base ? [base, ...layers] : [];
    const fingerprint = fingerprintOf(applied);
    let ok = true;
    for (const module of modules) {
      if (module.moduleId === EDGE_AGENT) continue;
      const contents = applied
        .map((e) => contentFor(e, module.moduleId))
        .filter((c) => Object.keys(c).length > 0);
      ok = this.writeContent(refOf(module), contents.length > 0 ? fingerprint : "", contents) && ok;
    }
    ok =
      this.write(refOf(agent), agent, targeting, applied, (desired) =>
        desiredPatchFor(
          desired,
          applied.map((e) => contentFor(e, EDGE_AGENT)),
        ),
      ) && ok;
    if (!ok) return;
    const reported = isPlainObject(agent.properties.reported) ? agent.properties.reported : {};
    const status = isPlainObject(reported.lastDesiredStatus) ? reported.lastDesiredStatus.code : undefined;
    const inSync = reported.lastDesiredVersion === agent.properties.desired.$version;
    for (const e of applied) {
      const tally = tallies.get(e.configuration.id)!;
      tally.applied++;
      // IoT Hub's reported metrics read $edgeAgent's report on the desired version it holds.
      if (inSync && status === 200) tally.reportedSuccessful++;
      else if (inSync && typeof status === "number") tally.reportedFailed++;
    }
  }

  /**
   * Writes the statuses (and, when the applied set changed, the content) into one twin. Returns false when IoT Hub's
   * twin rules refuse the content: the twin then stays Targeted by all of them (and is tried again when the set
   * of configurations changes).
   */
  private write(
    ref: IdentityRef,
    twin: ServiceTwin,
    targeting: Evaluated[],
    applied: Evaluated[],
    patchFor: (desired: Readonly<TwinProperties>) => TwinProperties,
  ): boolean {
    const fingerprint = fingerprintOf(applied);
    const refused = this.refused.get(keyOf(ref)) === fingerprint && fingerprint !== "";
    const section: ConfigurationsSection = {};
    for (const e of targeting) {
      section[e.configuration.id] = { status: !refused && applied.includes(e) ? "Applied" : "Targeted" };
    }
    const hadSection = isPlainObject(twin.configurations) && Object.keys(twin.configurations).length > 0;
    if (targeting.length === 0 && !hadSection && applied.length === 0) return true;
    const sameSection = (view: ConfigurationView): boolean =>
      JSON.stringify(view.configurations) === JSON.stringify(section);
    try {
      this.options.store.updateConfigurationState(ref, (view) => {
        const contentChanged = !refused && (view.appliedConfigurations ?? "") !== fingerprint;
        if (!contentChanged) return sameSection(view) ? undefined : { configurations: section };
        return {
          configurations: section,
          desiredPatch: patchFor(view.desired),
          appliedConfigurations: fingerprint,
        };
      });
      if (!refused) this.refused.delete(keyOf(ref));
      return !refused;
    } catch (error) {
      if (!(error instanceof IotHubError)) throw error;
      this.options.log(`adm: cannot apply ${fingerprint} to ${describe(ref)}: ${error.message}`);
      this.refused.set(keyOf(ref), fingerprint);
      return this.write(ref, twin, targeting, applied, patchFor);
    }
  }

  /**
   * The content of an edge deployment for one custom module of the device (`fingerprint` "" and no contents: the
   * device has no deployment for it any more), written when the applied set changed.
   */
  private writeContent(ref: IdentityRef, fingerprint: string, contents: TwinProperties[]): boolean {
    if (this.refused.get(keyOf(ref)) === fingerprint && fingerprint !== "") return false;
    try {
      this.options.store.updateConfigurationState(ref, (view) =>
        (view.appliedConfigurations ?? "") === fingerprint
          ? undefined
          : {
              configurations: { ...view.configurations },
              desiredPatch: desiredPatchFor(view.desired, contents),
              appliedConfigurations: fingerprint,
            },
      );
      return true;
    } catch (error) {
      if (!(error instanceof IotHubError)) throw error;
      this.options.log(`adm: cannot apply ${fingerprint} to ${describe(ref)}: ${error.message}`);
      this.refused.set(keyOf(ref), fingerprint);
      return false;
    }
  }

  private recordMetrics(e: Evaluated, tally: Tally): void {
    const { configuration } = e;
    const results: Record<string, number> = { targetedCount: tally.targeted, appliedCount: tally.applied };
    if (e.kind === "edge") {
      results.reportedSuccessfulCount = tally.reportedSuccessful;
      results.reportedFailedCount = tally.reportedFailed;
    }
    const custom: Record<string, number> = {};
    for (const [name, text] of Object.entries(configuration.metrics.queries)) {
      custom[name] = this.count(text);
    }
    const systemMetrics = {
      results,
      queries: systemMetricQueries(configuration.id, e.kind, configuration.targetCondition),
    };
    if (this.options.configurations.setMetrics(configuration.id, systemMetrics, custom)) {
      const all = { ...results, ...custom };
      this.options.log(
        `adm: ${configuration.id} ${Object.entries(all)
          .map(([name, value]) => `${name}=${value}`)
          .join(" ")}`,
      );
    }
  }

  /** A custom metric: how many twins its query selects. */
  private count(text: string): number {
    const query = parseMetricQuery(text);
    let count = 0;
    for (const twin of this.options.store.scanTwins(
      query.from,
      undefined,
      sqlPrefilter(query.where, query.from),
    )) {
      if (matches(query.where, twin)) count++;
    }
    return count;
  }
}

/** The configuration that wins among `candidates`, if any. */
function highest(candidates: Evaluated[]): Evaluated | undefined {
  return candidates.reduce<Evaluated | undefined>(
    (best, e) => (best && outranks(best, e) ? best : e),
    undefined,
  );
}

const isEdgeDevice = (twin: ServiceTwin): boolean =>
  isPlainObject(twin.capabilities) && twin.capabilities.iotEdge === true;

const keyOf = (ref: IdentityRef): string => `${ref.deviceId}/${ref.moduleId ?? ""}`;

/** True when `a` wins over `b`: the higher priority, on a tie the newer. */
function outranks(a: Evaluated, b: Evaluated): boolean {
  if (a.configuration.priority !== b.configuration.priority)
    return a.configuration.priority > b.configuration.priority;
  return a.configuration.createdSequence > b.configuration.createdSequence;
}

/** The content one configuration has for a twin: its device/module content, or its content for one edge module. */
function contentFor(e: Evaluated, moduleId: string | undefined): TwinProperties {
  const { content } = e.configuration;
  if (e.kind === "edge") {
    const forModule = moduleId === undefined ? undefined : content.modulesContent?.[moduleId];
    return isPlainObject(forModule) ? forModule : {};
  }
  return (e.kind === "module" ? content.moduleContent : content.deviceContent) ?? {};
}

const fingerprintOf = (applied: Evaluated[]): string =>
  applied.map((e) => `${e.configuration.id}@${e.configuration.etag}`).join(",");

const refOf = (twin: ServiceTwin): IdentityRef =>
  twin.moduleId === undefined
    ? { deviceId: twin.deviceId }
    : { deviceId: twin.deviceId, moduleId: twin.moduleId };

const describe = (ref: IdentityRef): string =>
  ref.moduleId === undefined ? `device ${ref.deviceId}` : `module ${ref.deviceId}/${ref.moduleId}`;
