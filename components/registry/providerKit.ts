import type * as pulumi from "@pulumi/pulumi";
import { describeViolations, type RuleViolation } from "../../lib/iothub/rules";
import { connectionHostName, type HubConnectionInputs } from "./hubConnection";
import { jsonEqual } from "./twinOwnership";

/**
 * The engine-facing half of every registry provider: what a resource addresses and how it is named, the answers
 * to check() and diff(), the engine's placeholder for unknown values, the form outputs are stored in, and how a
 * resource declares its outputs (once, with their types and secrecy).
 *
 * Loaded in the provider process only through the `<name>Provider.ts` modules (the stub in lazyProvider.ts loads
 * those), and by the resource classes for their output declarations; it imports no runtime code from
 * @pulumi/pulumi, so the provider process loads none of it again.
 */

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
  return target === "device" ? inputs.deviceId : `${inputs.deviceId}/${inputs.moduleId}`;
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

/** The engine's placeholder for a value not known yet, e.g. during preview (@pulumi/pulumi's rpc.unknownValue). */
export const UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/**
 * True unless the hub arguments are known to point at another hub (a connection string or host name unknown during
 * preview: decided at up). Switching auth mode on the same host is the same hub.
 */
export function sameHub(olds: HubConnectionInputs, news: HubConnectionInputs): boolean {
  return (
    news.serviceConnectionString === UNKNOWN_VALUE ||
    news.hostName === UNKNOWN_VALUE ||
    connectionHostName(olds) === connectionHostName(news)
  );
}

/**
 * True when the hub arguments are exactly the same. Any change is an update (even to the same hub): the outputs
 * echo these inputs, and a new key, credential or CA must reach the state that delete will run with.
 */
export function sameConnectionSettings(olds: HubConnectionInputs, news: HubConnectionInputs): boolean {
  return (
    (olds.auth ?? "sas") === (news.auth ?? "sas") &&
    olds.serviceConnectionString === news.serviceConnectionString &&
    // An identity's state holds a hostName output whatever the mode: only entra's hostName is an input.
    (news.auth !== "entra" || olds.hostName === news.hostName) &&
    jsonEqual(olds.entra ?? null, news.entra ?? null) &&
    olds.caCertificate === news.caCertificate &&
    olds.gatewayHostName === news.gatewayHostName &&
    jsonEqual(olds.registry ?? null, news.registry ?? null)
  );
}

/**
 * check()'s answer for every registry resource: the inputs unchanged, and each violation as a failure in the
 * engine's shape, whose reason names the resource, the field and the rule. Fields whose value is not known yet
 * (preview of a hub that does not exist yet) are left out: they are checked again when known.
 */
export function checkAnswer<I extends object>(
  resource: string,
  violations: RuleViolation[],
  news: I,
): pulumi.dynamic.CheckResult<I> {
  const unknown = unknownPaths(news, "");
  const failures = violations
    .filter(
      (violation) =>
        !unknown.some(
          (path) =>
            violation.field === path ||
            violation.field.startsWith(`${path}.`) ||
            violation.field.startsWith(`${path}[`),
        ),
    )
    .map((violation) => ({
      property: violation.field.split(/[.[]/)[0],
      reason: `${resource}: ${violation.field}: ${violation.rule}`,
    }));
  return { inputs: news, failures };
}

function unknownPaths(value: unknown, path: string): string[] {
  if (value === UNKNOWN_VALUE) return [path];
  if (Array.isArray(value)) return value.flatMap((item, index) => unknownPaths(item, `${path}[${index}]`));
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).flatMap(([key, child]) =>
      unknownPaths(child, path ? `${path}.${key}` : key),
    );
  }
  return [];
}

/** create/update run without check() when the engine skips it; never send what check() would refuse. */
export function assertValid(resource: string, violations: RuleViolation[]): void {
  if (violations.length > 0) throw new Error(`${resource}: ${describeViolations(violations)}`);
}

type Addressed = HubConnectionInputs & { deviceId: string; moduleId?: string };

/**
 * diff()'s answer for every registry resource: a replace when an id or the hub changed (a known connection
 * string's host); else an update when the resource's own settings differ (`settingsDiffer`) or any hub argument
 * does. Never delete-before-replace: the old entry and the new one are different ids or different hubs.
 */
export function diffAnswer(
  target: RegistryTarget,
  olds: Addressed,
  news: Addressed,
  settingsDiffer: boolean,
): pulumi.dynamic.DiffResult {
  const replaces: string[] = idFields(target).filter((field) => olds[field] !== news[field]);
  if (!sameHub(olds, news)) replaces.push(news.auth === "entra" ? "hostName" : "serviceConnectionString");
  const changes = replaces.length > 0 || settingsDiffer || !sameConnectionSettings(olds, news);
  return { changes, replaces, deleteBeforeReplace: false };
}

/**
 * Outputs as the engine can store them: the provider server turns them into a protobuf Struct, which rejects
 * `undefined` ("Unexpected struct type"), so absent values are dropped (at the top level, where the providers put
 * them; nested values come from the hub's JSON or from the engine's own inputs, which hold no `undefined`).
 */
export function asState<T extends object>(outputs: T): T {
  const state: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(outputs)) if (value !== undefined) state[key] = value;
  return state as T;
}

/** One output of a resource: its type (for the compiler only) and whether the engine must store it as a secret. */
export interface OutputDeclaration<T> {
  secret: boolean;
  /** Never set: carries the output's type. */
  readonly type?: T;
}

/** An output stored in clear. */
export const plainOutput = <T>(): OutputDeclaration<T> => ({ secret: false });

/** An output holding key material: secret even when the input it derives from was not. */
export const secretOutput = <T>(): OutputDeclaration<T> => ({ secret: true });

/** The outputs a resource declares (besides its inputs), each named once with its type and secrecy. */
export type OutputDeclarations = Record<string, OutputDeclaration<unknown>>;

/** The values of declared outputs, as the provider returns them. */
export type DeclaredOutputs<D extends OutputDeclarations> = {
  [K in keyof D]: D[K] extends OutputDeclaration<infer T> ? T : never;
};

/** A resource's outputs: its inputs as the provider received them, with the declared outputs over them. */
export type OutputsOf<I, D extends OutputDeclarations> = Omit<I, keyof D> & DeclaredOutputs<D>;

/** The names of the declared outputs that must be secret. */
export function secretOutputNames(declarations: OutputDeclarations): string[] {
  return Object.keys(declarations).filter((name) => declarations[name].secret);
}
