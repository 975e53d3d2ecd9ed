import { z } from "zod";
import type { RuleViolation } from "../lib/iothub/rules";
import { isPlainObject } from "../lib/iothub/twin";
import { checkConfigurationSettings, type TwinContent } from "./adm/configurationProvider";
import { checkEdgeDeploymentSettings, type ModulesContent } from "./adm/edgeDeploymentProvider";
import { readContentFile } from "./contentFiles";
import { closedObject, dottedPath } from "./schemaViolations";

/**
 * The stack config's `deployments` (IoT Edge deployments) and `configurations` (ADM configurations of device or
 * module twins): the shape of an entry (zod, unknown keys with suggestions, as every key of the namespace), and
 * what the shape cannot say: the content, inline or from a JSON file relative to the project, checked with the
 * providers' own rules (components/adm/), and the rules between entries. Field names are config paths
 * (`deployments[0].manifest.modulesContent.$edgeAgent...`); a file's problems name the file.
 */

const settingsShape = {
  /** The configuration's name in the hub (its id adds a content hash); also names the resource. */
  name: z.string(),
  targetCondition: z.string(),
  priority: z.number().optional(),
  labels: z.record(z.string()).optional(),
  /** Custom metrics: name -> query. */
  metrics: z.record(z.string()).optional(),
};

/** Inline content, or the path of a JSON file that holds it. */
const contentSource = z.union([z.string().min(1, "must not be empty"), z.record(z.unknown())], {
  errorMap: () => ({ message: "must be a path to a JSON file (relative to the project) or an object" }),
});

export const deploymentSchema = closedObject({
  ...settingsShape,
  /** Adds to the base deployment of the devices it targets (default false: a base deployment). */
  layered: z.boolean().optional(),
  /** The manifest: `{modulesContent}` (or `{content: {modulesContent}}`, as `az` takes it), inline or a file. */
  manifest: contentSource,
});

export const configurationSchema = closedObject({
  ...settingsShape,
  /** `{deviceContent}` or `{moduleContent}` (or either under `content`), inline or a file. */
  content: contentSource,
});

type DeploymentEntry = z.infer<typeof deploymentSchema>;
type ConfigurationEntry = z.infer<typeof configurationSchema>;

interface Settings {
  name: string;
  targetCondition: string;
  priority: number;
  labels?: Record<string, string>;
  metrics?: Record<string, string>;
}

/** A declared deployment, its manifest read and checked. */
export interface DeploymentConfig extends Settings {
  layered: boolean;
  modulesContent: ModulesContent;
}

/** A declared configuration, its content read and checked. */
export interface ConfigurationConfig extends Settings {
  content: TwinContent;
}

export interface AdmConfig {
  deployments: DeploymentConfig[];
  configurations: ConfigurationConfig[];
}

/**
 * The raw `deployments` and `configurations` resolved: each entry of the right shape gets its content (read from
 * its file) and the providers' rules; then the rules between entries. Entries of the wrong shape are the schema's
 * to report and are left out here (`fieldOf` makes config paths).
 */
export function resolveAdmConfig(
  raw: { deployments?: unknown; configurations?: unknown },
  projectDir: string,
  fieldOf: (path: ReadonlyArray<string | number>) => string,
): { config: AdmConfig; violations: RuleViolation[] } {
  const violations: RuleViolation[] = [];
  const config: AdmConfig = { deployments: [], configurations: [] };
  entries(raw.deployments).forEach((value, index) => {
    const entry = deploymentSchema.safeParse(value);
    if (!entry.success) return;
    const at = fieldOf(["deployments", index]);
    const deployment = resolveDeployment(entry.data, at, projectDir, violations);
    if (deployment) config.deployments.push(deployment);
  });
  entries(raw.configurations).forEach((value, index) => {
    const entry = configurationSchema.safeParse(value);
    if (!entry.success) return;
    const at = fieldOf(["configurations", index]);
    const configuration = resolveConfiguration(entry.data, at, projectDir, violations);
    if (configuration) config.configurations.push(configuration);
  });
  violations.push(...checkAdmEntries(raw, fieldOf));
  return { config, violations };
}

const entries = (list: unknown): unknown[] => (Array.isArray(list) ? list : []);

function resolveDeployment(
  entry: DeploymentEntry,
  at: string,
  projectDir: string,
  violations: RuleViolation[],
): DeploymentConfig | undefined {
  const content = contentOf(entry.manifest, `${at}.manifest`, projectDir, violations);
  if (!content) return undefined;
  const modulesContent = unwrap(content.value, "modulesContent");
  if (modulesContent === undefined) {
    violations.push({
      field: content.field,
      rule: "must hold modulesContent (or content.modulesContent), as a deployment manifest does",
    });
    return undefined;
  }
  const deployment: DeploymentConfig = {
    ...settingsOf(entry),
    layered: entry.layered ?? false,
    modulesContent: modulesContent as ModulesContent,
  };
  const found = checkEdgeDeploymentSettings(deployment);
  violations.push(...found.map((violation) => placed(violation, at, "modulesContent", content.field)));
  return found.length === 0 ? deployment : undefined;
}

function resolveConfiguration(
  entry: ConfigurationEntry,
  at: string,
  projectDir: string,
  violations: RuleViolation[],
): ConfigurationConfig | undefined {
  const content = contentOf(entry.content, `${at}.content`, projectDir, violations);
  if (!content) return undefined;
  const inner =
    isPlainObject(content.value) && isPlainObject(content.value.content)
      ? content.value.content
      : content.value;
  const configuration: ConfigurationConfig = { ...settingsOf(entry), content: inner as TwinContent };
  const found = checkConfigurationSettings(configuration);
  violations.push(...found.map((violation) => placed(violation, at, "content", content.field, "content")));
  return found.length === 0 ? configuration : undefined;
}

function settingsOf(entry: DeploymentEntry | ConfigurationEntry): Settings {
  return {
    name: entry.name,
    targetCondition: entry.targetCondition,
    priority: entry.priority ?? 0,
    ...(entry.labels && { labels: entry.labels }),
    ...(entry.metrics && { metrics: entry.metrics }),
  };
}

/**
 * The content of an entry and the field its problems are named by: inline (`<at>`), or a file's JSON
 * (`<at> (file <path>)`).
 */
function contentOf(
  source: string | Record<string, unknown>,
  at: string,
  projectDir: string,
  violations: RuleViolation[],
): { value: unknown; field: string } | undefined {
  if (typeof source !== "string") return { value: source, field: at };
  const reading = readContentFile(source, projectDir);
  if (reading.rule !== undefined) {
    violations.push({ field: at, rule: `${JSON.stringify(source)} ${reading.rule}` });
    return undefined;
  }
  return { value: reading.value, field: `${at} (file ${source})` };
}

/** `{key}` or `{content: {key}}` (both as `az` takes a file): the value under `key`. */
function unwrap(value: unknown, key: string): unknown {
  if (!isPlainObject(value)) return undefined;
  if (value[key] !== undefined) return value[key];
  return isPlainObject(value.content) ? value.content[key] : undefined;
}

/**
 * A provider rule's violation as a config path: content fields (`modulesContent...`, `content...`) below where the
 * content was written (`contentField`), the other settings below the entry.
 */
function placed(
  violation: RuleViolation,
  at: string,
  contentPrefix: string,
  contentField: string,
  replacement = contentPrefix,
): RuleViolation {
  if (violation.field === contentPrefix || violation.field.startsWith(`${contentPrefix}.`)) {
    const below = violation.field.slice(contentPrefix.length);
    return {
      field: `${contentField}${replacement === "content" ? below : `.${replacement}${below}`}`,
      rule: violation.rule,
    };
  }
  return { field: `${at}.${violation.field}`, rule: violation.rule };
}

/**
 * The rules between entries, on the raw lists (so an entry of the wrong shape elsewhere does not hide them): names
 * unique across both lists (both are configurations in the hub, and name their resources), and each layered
 * deployment's priority above some declared base deployment's (a layer applies only over a base of lower
 * priority).
 */
export function checkAdmEntries(
  raw: { deployments?: unknown; configurations?: unknown },
  fieldOf: (path: ReadonlyArray<string | number>) => string,
): RuleViolation[] {
  const violations: RuleViolation[] = [];
  const firstByName = new Map<string, string>();
  const bases: number[] = [];
  const layers: Array<{ index: number; priority: number }> = [];
  for (const list of ["deployments", "configurations"] as const) {
    entries(raw[list]).forEach((value, index) => {
      if (!isPlainObject(value)) return;
      const priority = typeof value.priority === "number" ? value.priority : 0;
      if (list === "deployments") {
        if (value.layered === true) layers.push({ index, priority });
        else bases.push(priority);
      }
      if (typeof value.name !== "string") return;
      const here = dottedPath([list, index]);
      const first = firstByName.get(value.name);
      if (first === undefined) firstByName.set(value.name, here);
      else {
        violations.push({
          field: fieldOf([list, index, "name"]),
          rule: `must be unique among deployments and configurations (${first} has the same name)`,
        });
      }
    });
  }
  // Without a base here, the bases are in another stack or the hub already: nothing to compare with.
  const lowest = Math.min(...bases);
  for (const layer of bases.length === 0 ? [] : layers) {
    if (layer.priority <= lowest) {
      violations.push({
        field: fieldOf(["deployments", layer.index, "priority"]),
        rule: `must be higher than a base deployment's priority (the lowest declared is ${lowest}): a layered deployment applies only over bases of lower priority`,
      });
    }
  }
  return violations;
}
