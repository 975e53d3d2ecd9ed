import type * as pulumi from "@pulumi/pulumi";
import {
  checkDeviceId,
  checkModuleId,
  checkTwinSection,
  describeViolations,
  type RuleViolation,
} from "../../lib/iothub/rules";
import { HubClient } from "./client";
import { asState } from "./state";
import { describeFailure, isNotFound } from "./errors";
import { checkFailures, checkHubConnection, sameHub, type HubConnectionInputs } from "./hubConnection";
import { patchWithEtag } from "./twinPatching";
import { jsonEqual, ownedPatch, ownedView } from "./twinOwnership";

export interface ModuleTwinInputs extends HubConnectionInputs {
  deviceId: string;
  moduleId: string;
  desired: Record<string, unknown>;
}

export interface ModuleTwinOutputs extends ModuleTwinInputs {
  /** The owned desired keys as the hub holds them (after refresh: drift shows here). */
  desired: Record<string, unknown>;
  version: number;
  etag: string;
}

function label(inputs: { deviceId?: unknown; moduleId?: unknown }): string {
  return `module twin "${String(inputs.deviceId)}/${String(inputs.moduleId)}"`;
}

export function checkModuleTwin(inputs: Partial<ModuleTwinInputs>): RuleViolation[] {
  return [
    ...checkHubConnection(inputs),
    ...checkDeviceId(inputs.deviceId),
    ...checkModuleId(inputs.moduleId),
    ...checkTwinSection("desired", inputs.desired),
  ];
}

function assertValid(inputs: ModuleTwinInputs): void {
  const violations = checkModuleTwin(inputs);
  if (violations.length > 0) throw new Error(`${label(inputs)}: ${describeViolations(violations)}`);
}

async function write(
  inputs: ModuleTwinInputs,
  previous: Record<string, unknown> | undefined,
  etag: string,
  action: string,
): Promise<ModuleTwinOutputs> {
  try {
    const twin = await patchWithEtag(
      new HubClient(inputs),
      inputs.deviceId,
      inputs.moduleId,
      { properties: { desired: ownedPatch(previous, inputs.desired) } },
      etag,
    );
    return { ...inputs, desired: inputs.desired, version: twin.version ?? 0, etag: twin.etag };
  } catch (error) {
    throw describeFailure(label(inputs), action, error);
  }
}

export const moduleTwinProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds: ModuleTwinInputs, news: ModuleTwinInputs) {
    return { inputs: news, failures: checkFailures(label(news), checkModuleTwin(news), news) };
  },

  async diff(_id: string, olds: ModuleTwinOutputs, news: ModuleTwinInputs) {
    const replaces: string[] = [];
    if (olds.deviceId !== news.deviceId) replaces.push("deviceId");
    if (olds.moduleId !== news.moduleId) replaces.push("moduleId");
    if (!sameHub(olds, news)) {
      replaces.push("serviceConnectionString");
    }
    const changes =
      replaces.length > 0 ||
      !jsonEqual(olds.desired, news.desired) ||
      olds.serviceConnectionString !== news.serviceConnectionString ||
      olds.caCertificate !== news.caCertificate ||
      olds.gatewayHostName !== news.gatewayHostName ||
      !jsonEqual(olds.registry ?? null, news.registry ?? null);
    return { changes, replaces, deleteBeforeReplace: false };
  },

  async create(inputs: ModuleTwinInputs) {
    assertValid(inputs);
    // "*": nothing owned yet, and the patch touches only the declared keys.
    const outs = asState(await write(inputs, undefined, "*", "create"));
    return { id: `${inputs.deviceId}/${inputs.moduleId}`, outs };
  },

  async read(id: string, props: ModuleTwinOutputs) {
    try {
      const twin = await new HubClient(props).getTwin(props.deviceId, props.moduleId);
      const desired = ownedView(twin.desired, props.desired);
      return {
        id,
        props: asState({ ...props, desired, version: twin.version ?? props.version, etag: twin.etag }),
      };
    } catch (error) {
      if (isNotFound(error)) return { id: "", props: {} };
      throw describeFailure(label(props), "read", error);
    }
  },

  async update(_id: string, olds: ModuleTwinOutputs, news: ModuleTwinInputs) {
    assertValid(news);
    return { outs: asState(await write(news, olds.desired, olds.etag, "update")) };
  },

  /** Removes the owned keys (null each); a module already gone took its twin with it. */
  async delete(_id: string, props: ModuleTwinOutputs) {
    const client = new HubClient(props);
    try {
      const patch = { properties: { desired: ownedPatch(props.desired, {}) } };
      await patchWithEtag(client, props.deviceId, props.moduleId, patch, props.etag);
    } catch (error) {
      if (!isNotFound(error)) throw describeFailure(label(props), "delete", error);
    }
  },
};
