import type * as pulumi from "@pulumi/pulumi";
import type { RuleViolation } from "../../lib/iothub/rules";
import type { TwinPatchBody, TwinProperties } from "../../lib/iothub/twin";
import { HubClient, type TwinBody } from "./client";
import type { DeviceTwinArgs } from "./deviceTwin";
import { describeFailure, isNotFound, isPreconditionFailed } from "./errors";
import type { ModuleTwinArgs } from "./moduleTwin";
import {
  assertValid,
  asState,
  checkAnswer,
  diffAnswer,
  moduleIdOf,
  plainOutput,
  resourceId,
  targetLabel,
  type DeclaredOutputs,
  type RegistryTarget,
} from "./providerKit";
import { jsonEqual, ownedPatch, ownedView } from "./twinOwnership";

/** A twin section a resource can own keys in (desired properties are under `properties` in a patch). */
export type TwinSection = "tags" | "desired";

/**
 * The inputs every twin resource's provider receives, as the resources declare them: a device twin's (the hub, the
 * device, the owned keys of each section) and, for a module twin, its moduleId.
 */
export type TwinInputs = pulumi.Unwrap<DeviceTwinArgs> &
  Partial<Pick<pulumi.Unwrap<ModuleTwinArgs>, "moduleId">>;

/** What the hub says about the whole twin, kept in state with the owned sections. */
export const TWIN_OUTPUTS = {
  version: plainOutput<number>(),
  etag: plainOutput<string>(),
};

/** A twin derives no key: only the hub credentials it echoes (connection string, Entra settings) are secret. */
export const TWIN_SECRET_INPUTS = ["serviceConnectionString", "entra"];

/** The outputs: each owned section as the hub holds it (drift shows there), plus the twin's version and etag. */
export type TwinOutputs = TwinInputs & DeclaredOutputs<typeof TWIN_OUTPUTS>;

/** How many times a patch is re-based on a fresh etag after 412 before giving up. */
const PRECONDITION_ATTEMPTS = 5;

/**
 * PATCHes a twin with If-Match `etag`. On 412 (someone else changed the twin since), reads the twin for its new
 * etag and patches again: the patch only touches the keys this resource owns, so re-sending it over the other
 * writer's change is correct; the etag makes sure no write of ours is based on a guess about the twin.
 */
async function patchWithEtag(
  client: HubClient,
  deviceId: string,
  moduleId: string | undefined,
  patch: TwinPatchBody,
  etag: string,
): Promise<TwinBody> {
  let currentEtag = etag || "*";
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.patchTwin(deviceId, moduleId, patch, currentEtag);
    } catch (error) {
      if (!isPreconditionFailed(error) || attempt >= PRECONDITION_ATTEMPTS) throw error;
      currentEtag = (await client.getTwin(deviceId, moduleId)).etag;
    }
  }
}

/**
 * What differs between a device twin and a module twin: which twin they address and which sections they own keys
 * in. The ownership rules (patch only owned keys, report only owned keys, release owned keys on delete) are the
 * same for every section and live in twinProvider().
 */
export interface TwinKind<I extends TwinInputs> {
  target: RegistryTarget;
  /** Violations of the inputs, each naming the field and the rule. */
  check(inputs: Partial<I>): RuleViolation[];
  /** The sections the resource owns keys in, in patch order. A section not declared owns no keys. */
  sections: readonly TwinSection[];
}

/** The patch moving each owned section from the keys owned before (`previous`) to the keys declared now. */
function sectionsPatch(
  sections: readonly TwinSection[],
  previous: Partial<Record<TwinSection, TwinProperties>> | undefined,
  declared: Partial<Record<TwinSection, TwinProperties>>,
): TwinPatchBody {
  const patch: TwinPatchBody = {};
  for (const section of sections) {
    const owned = ownedPatch(previous?.[section], declared[section] ?? {});
    if (section === "tags") patch.tags = owned;
    else patch.properties = { desired: owned };
  }
  return patch;
}

/** Each owned section as declared (an undeclared section owns nothing: `{}`). */
function declaredSections(
  sections: readonly TwinSection[],
  inputs: TwinInputs,
): Record<string, TwinProperties> {
  return Object.fromEntries(sections.map((section) => [section, inputs[section] ?? {}]));
}

/** The dynamic provider of one kind of twin (loaded by the lazy stub in the provider process: lazyProvider.ts). */
export function twinProvider<I extends TwinInputs>(kind: TwinKind<I>): pulumi.dynamic.ResourceProvider {
  const label = (inputs: { deviceId?: unknown; moduleId?: unknown }): string =>
    targetLabel(`${kind.target} twin`, kind.target, inputs);

  /** Patches the owned keys (If-Match `etag`, re-based on 412) and returns the new outputs. */
  async function write(
    inputs: I,
    previous: TwinOutputs | undefined,
    etag: string,
    action: string,
  ): Promise<TwinOutputs> {
    try {
      const twin = await patchWithEtag(
        new HubClient(inputs),
        inputs.deviceId,
        moduleIdOf(kind.target, inputs),
        sectionsPatch(kind.sections, previous, inputs),
        etag,
      );
      return {
        ...inputs,
        ...declaredSections(kind.sections, inputs),
        version: twin.version ?? 0,
        etag: twin.etag,
      };
    } catch (error) {
      throw describeFailure(label(inputs), action, error);
    }
  }

  return {
    async check(_olds: I, news: I) {
      return checkAnswer(label(news), kind.check(news), news);
    },

    async diff(_id: string, olds: TwinOutputs, news: I) {
      const ownedDiffer = kind.sections.some(
        (section) => !jsonEqual(olds[section] ?? {}, news[section] ?? {}),
      );
      return diffAnswer(kind.target, olds, news, ownedDiffer);
    },

    async create(inputs: I) {
      assertValid(label(inputs), kind.check(inputs));
      // "*": nothing owned yet, and the patch touches only the declared keys.
      const outs = asState(await write(inputs, undefined, "*", "create"));
      return { id: resourceId(kind.target, inputs), outs };
    },

    async read(id: string, props: TwinOutputs) {
      try {
        const twin = await new HubClient(props).getTwin(props.deviceId, moduleIdOf(kind.target, props));
        const owned = Object.fromEntries(
          kind.sections.map((section) => [
            section,
            ownedView(sectionOf(twin, section), props[section] ?? {}),
          ]),
        );
        return {
          id,
          props: asState({ ...props, ...owned, version: twin.version ?? props.version, etag: twin.etag }),
        };
      } catch (error) {
        if (isNotFound(error)) return { id: "", props: {} };
        throw describeFailure(label(props), "read", error);
      }
    },

    async update(_id: string, olds: TwinOutputs, news: I) {
      assertValid(label(news), kind.check(news));
      return { outs: asState(await write(news, olds, olds.etag, "update")) };
    },

    /** Removes the owned keys (null each); a device or module already gone took its twin with it. */
    async delete(_id: string, props: TwinOutputs) {
      try {
        const patch = sectionsPatch(kind.sections, props, {});
        const moduleId = moduleIdOf(kind.target, props);
        await patchWithEtag(new HubClient(props), props.deviceId, moduleId, patch, props.etag);
      } catch (error) {
        if (!isNotFound(error)) throw describeFailure(label(props), "delete", error);
      }
    },
  };
}

function sectionOf(twin: TwinBody, section: TwinSection): TwinProperties | undefined {
  return section === "tags" ? twin.tags : twin.desired;
}
