import type * as pulumi from "@pulumi/pulumi";
import {
  checkConfigurationId,
  checkLabels,
  checkMetricQueries,
  checkPriority,
  type ConfigurationContent,
  type ConfigurationKind,
  type ConfigurationRecord,
} from "../../lib/iothub/configuration";
import type { RuleViolation } from "../../lib/iothub/rules";
import { isPlainObject } from "../../lib/iothub/twin";
import {
  TargetConditionError,
  parseMetricQuery,
  parseTargetCondition,
} from "../../local-hub/adm/targetCondition";
import { HubClient, type ConfigurationBody } from "../registry/client";
import { describeFailure, isAlreadyExists, isNotFound, isPreconditionFailed } from "../registry/errors";
import { checkHubConnection, type HubConnectionArgs } from "../registry/hubConnection";
import {
  assertValid,
  asState,
  checkAnswer,
  plainOutput,
  sameConnectionSettings,
  sameHub,
  type DeclaredOutputs,
} from "../registry/providerKit";
import { jsonEqual } from "../registry/twinOwnership";
import { CONFIGURATION_NAME_MAX_LENGTH, configurationIdFor, sameContent } from "./configurationId";

/**
 * The flow every ADM resource (Configuration, EdgeDeployment) shares: one configuration in the hub, whose id is
 * derived from the resource's name and its content (configurationId.ts). diff answers "replace" for other content
 * (never delete-before-replace: the new configuration, with the same target and priority, is created while the old
 * one still exists, and wins the tie as the newer one, so each targeted twin goes from one applied configuration to
 * the other); priority, target condition, labels and metrics update in place with If-Match the stored etag.
 */

/** What every ADM resource takes besides its content. */
export interface AdmArgs extends HubConnectionArgs {
  /**
   * The configuration's name in the hub (default: the resource's name): lowercase letters, digits and
   * `- + % _ * ! '`, at most 119 characters. The configuration id is `<name>-<content hash>`.
   */
  name?: pulumi.Input<string>;
  /**
   * The twins it targets, in IoT Hub's query language: a condition on device twins (`tags.site = 'munich'`, `*` for
   * every device), for module configurations `FROM devices.modules WHERE <condition>`. It may read `deviceId`,
   * `tags` and `properties.reported` (module configurations also `moduleId`).
   */
  targetCondition: pulumi.Input<string>;
  /** Higher wins where several target one twin; a tie goes to the newer (default 0). */
  priority?: pulumi.Input<number>;
  labels?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Custom metrics: name -> query (`SELECT deviceId FROM devices WHERE ...`); their counts are `metricResults`. */
  metrics?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** The args as the provider receives them, with the name filled in by the resource class. */
export type AdmInputs = Omit<pulumi.Unwrap<AdmArgs>, "name"> & { name: string };

/** What the hub says about the configuration, besides the inputs (read after refresh: drift shows there). */
export const ADM_OUTPUTS = {
  /** The id in the hub: `<name>-<content hash>`; also the resource's id. */
  configurationId: plainOutput<string>(),
  etag: plainOutput<string>(),
  /** targetedCount, appliedCount (edge deployments also reportedSuccessfulCount, reportedFailedCount). */
  systemMetrics: plainOutput<Record<string, number>>(),
  /** The custom metrics' counts, by name. */
  metricResults: plainOutput<Record<string, number>>(),
};

/** Only the connection string the resources echo is secret (an EdgeDeployment may add its content). */
export const ADM_SECRET_INPUTS = ["serviceConnectionString", "entra"];

export type AdmOutputs<I extends AdmInputs> = I & DeclaredOutputs<typeof ADM_OUTPUTS>;

/** What differs between a configuration and a deployment: the content's field, its rules, its wire form. */
export interface AdmKind<I extends AdmInputs> {
  /** How errors name the resource: `configuration`, `edge deployment`. */
  noun: string;
  /** The input holding the content (named in a replace). */
  contentField: string;
  /** Violations of the content inputs, each naming the field and the rule. */
  checkContent(inputs: Partial<I>): RuleViolation[];
  /** The content as the hub carries it (only called on checked inputs). */
  content(inputs: I): ConfigurationContent;
  /** The content inputs as the hub holds them (read). */
  contentInputs(content: ConfigurationContent): Partial<I>;
}

/** The largest body the service API takes (the local hub answers 413 above it). */
const MAX_BODY_BYTES = 256 * 1024;

/** The rules every ADM resource's inputs follow: the hub arguments', and checkAdmSettings'. */
export function checkAdmInputs<I extends AdmInputs>(kind: AdmKind<I>, inputs: Partial<I>): RuleViolation[] {
  return [...checkHubConnection(inputs), ...checkAdmSettings(kind, inputs)];
}

/**
 * The rules of what a configuration is (all but the hub arguments; the stack config checks its entries with
 * them): name, content (the kind's rules), target condition, priority, labels, metrics, the body's size.
 */
export function checkAdmSettings<I extends AdmInputs>(
  kind: AdmKind<I>,
  inputs: Partial<Omit<I, keyof HubConnectionArgs>>,
): RuleViolation[] {
  const violations = [...checkName(inputs.name)];
  const contentViolations = kind.checkContent(inputs as Partial<I>);
  violations.push(...contentViolations);
  const configurationKind = contentViolations.length === 0 ? kindOf(kind.content(inputs as I)) : undefined;
  violations.push(...checkTargetCondition(inputs.targetCondition, configurationKind));
  violations.push(...checkPriority(inputs.priority));
  violations.push(...checkLabels(inputs.labels));
  violations.push(...checkMetricQueries(inputs.metrics, "metrics"));
  if (isPlainObject(inputs.metrics)) {
    for (const [name, query] of Object.entries(inputs.metrics)) {
      if (typeof query !== "string") continue;
      const error = conditionError(() => parseMetricQuery(query));
      if (error) violations.push({ field: `metrics.${name}`, rule: error });
    }
  }
  if (violations.length === 0) {
    const bytes = Buffer.byteLength(JSON.stringify(kind.content(inputs as I)), "utf8");
    if (bytes > MAX_BODY_BYTES) {
      violations.push({
        field: kind.contentField,
        rule: `must be at most ${MAX_BODY_BYTES} bytes as JSON, the largest request the service API takes (it is ${bytes})`,
      });
    }
  }
  return violations;
}

function checkName(name: unknown): RuleViolation[] {
  const violations = checkConfigurationId(name, "name").filter((v) => !v.rule.startsWith("must be at most"));
  if (typeof name === "string" && name.length > CONFIGURATION_NAME_MAX_LENGTH) {
    violations.push({
      field: "name",
      rule: `must be at most ${CONFIGURATION_NAME_MAX_LENGTH} characters (the configuration id adds '-' and an 8-digit content hash)`,
    });
  }
  return violations;
}

/** The condition's syntax and reach, as the hub's query engine takes it; `kind` unknown: syntax is checked later. */
function checkTargetCondition(value: unknown, kind: ConfigurationKind | undefined): RuleViolation[] {
  const field = "targetCondition";
  if (typeof value !== "string" || value.trim() === "") {
    return [{ field, rule: "must be a non-empty condition ('*' targets every device)" }];
  }
  if (kind === undefined) return [];
  const error = conditionError(() => parseTargetCondition(value, kind));
  return error ? [{ field, rule: error }] : [];
}

function conditionError(parse: () => unknown): string | undefined {
  try {
    parse();
    return undefined;
  } catch (error) {
    if (error instanceof TargetConditionError) return error.message;
    throw error;
  }
}

function kindOf(content: ConfigurationContent): ConfigurationKind {
  if (content.modulesContent) return "edge";
  return content.moduleContent ? "module" : "device";
}

/** The PUT body for `inputs` (`etag` for an update). */
function bodyOf<I extends AdmInputs>(kind: AdmKind<I>, inputs: I, etag?: string): ConfigurationBody {
  const content = kind.content(inputs);
  return {
    id: configurationIdFor(inputs.name, content),
    schemaVersion: "1.0",
    ...(inputs.labels && { labels: inputs.labels }),
    content,
    targetCondition: inputs.targetCondition,
    priority: inputs.priority ?? 0,
    metrics: { queries: inputs.metrics ?? {} },
    ...(etag !== undefined && { etag }),
  };
}

/** The in-place settings: what an update changes (absent = IoT Hub's default). */
function settingsOf(inputs: AdmInputs): unknown {
  return {
    targetCondition: inputs.targetCondition,
    priority: inputs.priority ?? 0,
    labels: inputs.labels ?? {},
    metrics: inputs.metrics ?? {},
  };
}

/** The dynamic provider of one ADM kind (loaded by the lazy stub in the provider process: lazyProvider.ts). */
export function admProvider<I extends AdmInputs>(kind: AdmKind<I>): pulumi.dynamic.ResourceProvider {
  const label = (inputs: { name?: unknown; configurationId?: unknown }): string =>
    `${kind.noun} "${String(inputs.configurationId ?? inputs.name)}"`;

  /** The outputs: the inputs, the hub's id, etag and metrics. */
  const outputsOf = (inputs: I, record: ConfigurationRecord): AdmOutputs<I> => ({
    ...inputs,
    configurationId: record.id,
    etag: record.etag,
    systemMetrics: record.systemMetrics?.results ?? {},
    metricResults: record.metrics?.results ?? {},
  });

  return {
    async check(_olds: I, news: I) {
      return checkAnswer(label(news), checkAdmInputs(kind, news), news);
    },

    async diff(_id: string, olds: AdmOutputs<I>, news: I) {
      const replaces: string[] = [];
      if (!sameHub(olds, news)) replaces.push("serviceConnectionString");
      const content = kind.content(news);
      let deleteBeforeReplace = false;
      if (configurationIdFor(news.name, content) !== olds.configurationId) {
        replaces.push(olds.name !== news.name ? "name" : kind.contentField);
      } else if (!sameContent(kind.content(olds), content)) {
        // The hub's configuration under this very id holds other content (deleted and made again out of band):
        // the declared one needs the id, so this one replace deletes first.
        replaces.push(kind.contentField);
        deleteBeforeReplace = replaces.length === 1;
      }
      const changes =
        replaces.length > 0 ||
        !jsonEqual(settingsOf(olds), settingsOf(news)) ||
        !sameConnectionSettings(olds, news);
      return { changes, replaces, deleteBeforeReplace };
    },

    async create(inputs: I) {
      assertValid(label(inputs), checkAdmInputs(kind, inputs));
      const body = bodyOf(kind, inputs);
      try {
        const record = await new HubClient(inputs).createConfiguration(body);
        return { id: record.id, outs: asState(outputsOf(inputs, record)) };
      } catch (error) {
        if (isAlreadyExists(error)) {
          throw new Error(
            `${label({ configurationId: body.id })}: create failed: the hub already ` +
              `has a configuration with this id (another stack, or a run whose state was lost, made it); ` +
              `remove it from the hub or give this resource another name`,
          );
        }
        throw describeFailure(label({ configurationId: body.id }), "create", error);
      }
    },

    async read(id: string, props: AdmOutputs<I>) {
      try {
        const record = await new HubClient(props).getConfiguration(props.configurationId ?? id);
        const asHeld: AdmOutputs<I> = {
          ...outputsOf(props, record),
          ...kind.contentInputs(record.content),
          targetCondition: record.targetCondition,
          priority: record.priority,
          labels: emptyAsAbsent(record.labels, props.labels),
          metrics: emptyAsAbsent(record.metrics?.queries, props.metrics),
        };
        return { id, props: asState(asHeld) };
      } catch (error) {
        if (isNotFound(error)) return { id: "", props: {} };
        throw describeFailure(label(props), "read", error);
      }
    },

    async update(_id: string, olds: AdmOutputs<I>, news: I) {
      assertValid(label(news), checkAdmInputs(kind, news));
      const body = bodyOf(kind, news, olds.etag);
      try {
        const record = await new HubClient(news).updateConfiguration({ ...body, etag: olds.etag });
        return { outs: asState(outputsOf(news, record)) };
      } catch (error) {
        if (isPreconditionFailed(error)) {
          throw new Error(
            `${label(olds)}: update failed: the configuration changed in the hub since the state was written ` +
              `(etag ${olds.etag}); run \`pulumi refresh\` and look at the change before \`pulumi up\`; nothing was changed`,
          );
        }
        throw describeFailure(label(olds), "update", error);
      }
    },

    /** Removes the configuration; one already gone counts as deleted. The content it applied stays in the twins. */
    async delete(id: string, props: AdmOutputs<I>) {
      try {
        await new HubClient(props).deleteConfiguration(props.configurationId ?? id);
      } catch (error) {
        if (!isNotFound(error)) throw describeFailure(label(props), "delete", error);
      }
    },
  };
}

/** The hub answers `{}` (or null) for labels and metrics nobody set: keep them absent when the state has none. */
function emptyAsAbsent<T extends Record<string, unknown>>(
  held: T | null | undefined,
  declared: T | undefined,
): T | undefined {
  if (held && Object.keys(held).length > 0) return held;
  return declared === undefined ? undefined : ({} as T);
}
