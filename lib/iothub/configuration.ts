import { checkTwinSection, type RuleViolation } from "./rules";
import { isPlainObject, type TwinProperties } from "./twin";

/**
 * IoT Hub's automatic device management (ADM) configurations and IoT Edge deployments, as the service API carries
 * them (`PUT /configurations/{id}`, api-version 2021-04-12), and IoT Hub's rules for them. The local hub enforces
 * these rules and the Pulumi side checks its inputs with them, so a bad configuration fails the same way on both.
 * Target conditions and metric queries are query-language text: their syntax is checked where the query engine
 * is (local-hub/adm/targetCondition.ts).
 */

export const CONFIGURATION_LIMITS = {
  /** IoT Hub: at most 100 configurations and deployments per hub (both kinds count). */
  configurationsPerHub: 100,
  /** IoT Hub: at most 50 modules per deployment. */
  modulesPerDeployment: 50,
  idMaxLength: 128,
  labelMaxLength: 128,
} as const;

/** What a configuration writes: into device twins, module twins, or the module twins of IoT Edge devices. */
export type ConfigurationKind = "device" | "module" | "edge";

/** `deviceContent`/`moduleContent`: `properties.desired[.path]` -> value; `modulesContent`: module -> such a map. */
export interface ConfigurationContent {
  deviceContent?: TwinProperties;
  moduleContent?: TwinProperties;
  modulesContent?: Record<string, TwinProperties>;
}

/** A configuration as a client sends it (PUT body), already checked. */
export interface ConfigurationInput {
  id: string;
  schemaVersion: string | null;
  labels: Record<string, string> | null;
  content: ConfigurationContent;
  targetCondition: string;
  priority: number;
  /** Custom metrics: name -> query. */
  metricQueries: Record<string, string>;
}

export interface ConfigurationMetrics {
  results: Record<string, number>;
  queries: Record<string, string>;
}

/** A configuration as the service API returns it (GET, and the answer to a PUT). */
export interface ConfigurationRecord {
  id: string;
  schemaVersion: string | null;
  labels: Record<string, string> | null;
  content: ConfigurationContent;
  targetCondition: string;
  createdTimeUtc: string;
  lastUpdatedTimeUtc: string;
  priority: number;
  systemMetrics: ConfigurationMetrics;
  metrics: ConfigurationMetrics;
  etag: string;
}

/** The IoT Edge runtime's two system modules: every edge device has them, every deployment sets `$edgeAgent`. */
export const EDGE_AGENT = "$edgeAgent";
export const EDGE_HUB = "$edgeHub";

/** The one content key that writes a module's (or device's) whole desired document; other keys are paths below it. */
export const DESIRED_ROOT = "properties.desired";

/** Measured on IoT Hub: ids are lowercase letters, digits and `- + % _ * ! '` (uppercase and other punctuation: 400). */
const CONFIGURATION_ID_PATTERN = /^[a-z0-9\-+%_*!']+$/;

export function checkConfigurationId(value: unknown, field = "id"): RuleViolation[] {
  if (typeof value !== "string" || value.length === 0) return [{ field, rule: "must be a non-empty string" }];
  const violations: RuleViolation[] = [];
  if (value.length > CONFIGURATION_LIMITS.idMaxLength) {
    violations.push({ field, rule: `must be at most ${CONFIGURATION_LIMITS.idMaxLength} characters` });
  }
  if (!CONFIGURATION_ID_PATTERN.test(value)) {
    violations.push({ field, rule: "may contain only lowercase letters, digits and - + % _ * ! '" });
  }
  return violations;
}

/** IoT Hub's label alphabet: ASCII alphanumerics and `- : . + % _ # * ? ! ( ) , = @ ; '` ($ is reserved). */
const LABEL_PATTERN = /^[A-Za-z0-9\-:.+%_#*?!(),=@;']+$/;

function checkLabelText(value: unknown, field: string): RuleViolation[] {
  if (typeof value !== "string" || value.length === 0) return [{ field, rule: "must be a non-empty string" }];
  const violations: RuleViolation[] = [];
  if (value.length > CONFIGURATION_LIMITS.labelMaxLength) {
    violations.push({ field, rule: `must be at most ${CONFIGURATION_LIMITS.labelMaxLength} characters` });
  }
  if (!LABEL_PATTERN.test(value)) {
    violations.push({
      field,
      rule: "may contain only ASCII letters, digits and - : . + % _ # * ? ! ( ) , = @ ; ' ($ is reserved)",
    });
  }
  return violations;
}

/** Labels (and custom metric names, which follow the same rules): string keys and string values. */
export function checkLabels(value: unknown, field = "labels"): RuleViolation[] {
  if (value === undefined || value === null) return [];
  if (!isPlainObject(value)) return [{ field, rule: "must be an object of strings" }];
  return Object.entries(value).flatMap(([key, text]) => [
    ...checkLabelText(key, `${field} key '${key}'`),
    ...checkLabelText(text, `${field}.${key}`),
  ]);
}

/** IoT Hub: a non-negative integer; higher wins. */
export function checkPriority(value: unknown, field = "priority"): RuleViolation[] {
  if (value === undefined || value === null) return [];
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    return [{ field, rule: "must be a non-negative integer" }];
  }
  return [];
}

/** `metrics.queries`: metric name (label rules) -> query text (checked by the query engine). */
export function checkMetricQueries(value: unknown, field = "metrics.queries"): RuleViolation[] {
  if (value === undefined || value === null) return [];
  if (!isPlainObject(value)) return [{ field, rule: "must be an object of query strings" }];
  return Object.entries(value).flatMap(([name, query]) => [
    ...checkLabelText(name, `${field} key '${name}'`),
    ...(typeof query === "string" && query.trim() !== ""
      ? []
      : [{ field: `${field}.${name}`, rule: "must be a query string" }]),
  ]);
}

/** The name a path's value is checked under (a key no twin property can have: `$` is not allowed in names). */
const PATH_VALUE = "$value";

/**
 * One twin's content: keys `properties.desired` (the whole desired document) or `properties.desired.<path>` (one
 * property), IoT Hub refuses anything else (`tags.x`: 400 InvalidConfigurationContent). Values follow the twin
 * rules: the content's desired document as a whole must fit one twin's desired section (32 KB, depth, names).
 */
function checkTwinContent(value: unknown, field: string): RuleViolation[] {
  if (!isPlainObject(value)) return [{ field, rule: "must be an object of properties.desired paths" }];
  const violations: RuleViolation[] = [];
  for (const key of Object.keys(value)) {
    if (
      key !== DESIRED_ROOT &&
      !(key.startsWith(`${DESIRED_ROOT}.`) && key.length > DESIRED_ROOT.length + 1)
    ) {
      violations.push({
        field: `${field}.${key}`,
        rule: `keys must be '${DESIRED_ROOT}' or '${DESIRED_ROOT}.<property path>'`,
      });
    }
  }
  if (violations.length > 0) return violations;
  // Each value's own depth first, bounded: applyTwinContent copies values whole, through any depth. A path's
  // value is checked as the one property of a document (its depth counted from there: too kind to deep paths,
  // which the check of the whole document below then names).
  for (const [key, item] of Object.entries(value)) {
    if (!isPlainObject(item) && !Array.isArray(item)) continue;
    const root = key === DESIRED_ROOT;
    const at = root ? field : `${field}.${key.slice(DESIRED_ROOT.length + 1)}`;
    const document = root && isPlainObject(item) ? item : { [PATH_VALUE]: item };
    for (const violation of checkTwinSection("desired", document, at)) {
      if (!violation.rule.startsWith("must be nested")) continue;
      const inner = violation.field.slice(at.length);
      const below = inner.startsWith(`.${PATH_VALUE}`) ? inner.slice(PATH_VALUE.length + 1) : inner;
      violations.push({ field: `${at}${below}`, rule: violation.rule });
    }
  }
  if (violations.length > 0) return violations;
  return checkTwinSection("desired", applyTwinContent({}, value), field);
}

/**
 * What a twin content makes of the desired document `base` (a copy; `base` is left as it is), as IoT Hub applies
 * it: `properties.desired` replaces the whole document, then each `properties.desired.a.b` replaces the value at
 * `a.b` (a value in the way of the path is replaced by an object). A layered deployment merges over the base so.
 */
export function applyTwinContent(base: Readonly<TwinProperties>, content: TwinProperties): TwinProperties {
  const root = content[DESIRED_ROOT];
  const document = structuredClone(isPlainObject(root) ? root : base) as TwinProperties;
  for (const [key, value] of Object.entries(content)) {
    if (key === DESIRED_ROOT) continue;
    const path = key.slice(DESIRED_ROOT.length + 1).split(".");
    let node = document;
    for (const segment of path.slice(0, -1)) {
      if (!isPlainObject(node[segment])) node[segment] = {};
      node = node[segment] as TwinProperties;
    }
    node[path[path.length - 1]] = structuredClone(value);
  }
  return document;
}

/** The modules a deployment sets: the custom ones under `$edgeAgent`'s `modules`, and each module it has content for. */
function deploymentModules(modulesContent: Record<string, unknown>): Set<string> {
  const modules = new Set(Object.keys(modulesContent).filter((m) => m !== EDGE_AGENT && m !== EDGE_HUB));
  const agent = modulesContent[EDGE_AGENT];
  if (isPlainObject(agent)) {
    const base = agent[DESIRED_ROOT];
    if (isPlainObject(base) && isPlainObject(base.modules)) {
      for (const name of Object.keys(base.modules)) modules.add(name);
    }
    for (const key of Object.keys(agent)) {
      const match = /^properties\.desired\.modules\.([^.]+)/.exec(key);
      if (match) modules.add(match[1]);
    }
  }
  return modules;
}

/**
 * `content`: exactly one of deviceContent, moduleContent, modulesContent (IoT Hub refuses a mix). A deployment
 * (modulesContent) must carry `$edgeAgent` (an `$edgeHub`-only document is refused too) and set at most 50 modules.
 */
export function checkConfigurationContent(value: unknown, field = "content"): RuleViolation[] {
  if (!isPlainObject(value)) return [{ field, rule: "must be an object" }];
  const kinds = (["deviceContent", "moduleContent", "modulesContent"] as const).filter(
    (kind) => value[kind] !== undefined && value[kind] !== null,
  );
  if (kinds.length !== 1) {
    return [{ field, rule: "must hold exactly one of deviceContent, moduleContent, modulesContent" }];
  }
  const kind = kinds[0];
  const content = value[kind];
  if (kind !== "modulesContent") return checkTwinContent(content, `${field}.${kind}`);
  const at = `${field}.modulesContent`;
  if (!isPlainObject(content)) return [{ field: at, rule: "must be an object of modules" }];
  if (!(EDGE_AGENT in content)) return [{ field: at, rule: `must set ${EDGE_AGENT}` }];
  const violations: RuleViolation[] = [];
  for (const [module, moduleContent] of Object.entries(content)) {
    // `$edgeAgent: {}` is how a layered deployment that changes no module of the agent is written.
    if (isPlainObject(moduleContent) && Object.keys(moduleContent).length === 0) continue;
    violations.push(...checkTwinContent(moduleContent, `${at}.${module}`));
  }
  const modules = deploymentModules(content);
  if (modules.size > CONFIGURATION_LIMITS.modulesPerDeployment) {
    violations.push({
      field: at,
      rule: `may set at most ${CONFIGURATION_LIMITS.modulesPerDeployment} modules (it sets ${modules.size})`,
    });
  }
  return violations;
}

export function configurationKind(content: ConfigurationContent): ConfigurationKind {
  if (content.modulesContent) return "edge";
  return content.moduleContent ? "module" : "device";
}

/**
 * A layered deployment sets paths below modules' desired documents only; a base deployment sets `$edgeAgent`'s
 * whole desired document (runtime, system modules, modules). IoT Hub tells them apart the same way.
 */
export function isLayeredDeployment(content: ConfigurationContent): boolean {
  const agent = content.modulesContent?.[EDGE_AGENT];
  return content.modulesContent !== undefined && !(isPlainObject(agent) && DESIRED_ROOT in agent);
}

/** A text field a configuration may leave out (absent or null). */
function checkOptionalText(value: unknown, field: string): RuleViolation[] {
  return value === undefined || value === null || typeof value === "string"
    ? []
    : [{ field, rule: "must be a string" }];
}

/**
 * A PUT body with IoT Hub's rules: `id` (when present) as in the path, `content`, `targetCondition` a string,
 * `priority` (default 0), `labels`, `metrics.queries`, `schemaVersion` a string. `input` is valid only when
 * `violations` is empty.
 */
export function parseConfigurationBody(
  id: string,
  body: unknown,
): { input: ConfigurationInput; violations: RuleViolation[] } {
  const violations = checkConfigurationId(id);
  const record = isPlainObject(body) ? body : {};
  if (!isPlainObject(body)) violations.push({ field: "body", rule: "must be a configuration object" });
  if (record.id !== undefined && record.id !== id) {
    violations.push({ field: "id", rule: `must match the id in the path '${id}'` });
  }
  violations.push(...checkOptionalText(record.schemaVersion, "schemaVersion"));
  violations.push(...checkConfigurationContent(record.content));
  violations.push(...checkOptionalText(record.targetCondition, "targetCondition"));
  violations.push(...checkPriority(record.priority));
  violations.push(...checkLabels(record.labels));
  const metrics = record.metrics;
  if (metrics !== undefined && metrics !== null && !isPlainObject(metrics)) {
    violations.push({ field: "metrics", rule: "must be an object with queries" });
  }
  const queries = isPlainObject(metrics) ? metrics.queries : undefined;
  violations.push(...checkMetricQueries(queries));
  return {
    input: {
      id,
      schemaVersion: typeof record.schemaVersion === "string" ? record.schemaVersion : null,
      labels: isPlainObject(record.labels) ? (record.labels as Record<string, string>) : null,
      content: (isPlainObject(record.content)
        ? withoutNullKinds(record.content)
        : {}) as ConfigurationContent,
      targetCondition: typeof record.targetCondition === "string" ? record.targetCondition : "",
      priority: typeof record.priority === "number" ? record.priority : 0,
      metricQueries: isPlainObject(queries) ? (queries as Record<string, string>) : {},
    },
    violations,
  };
}

function withoutNullKinds(content: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(content).filter(([, value]) => value !== null && value !== undefined),
  );
}
