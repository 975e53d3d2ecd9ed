import type * as pulumi from "@pulumi/pulumi";
import {
  checkDeviceId,
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

export interface DeviceTwinInputs extends HubConnectionInputs {
  deviceId: string;
  desired?: Record<string, unknown>;
  tags?: Record<string, unknown>;
}

export interface DeviceTwinOutputs extends DeviceTwinInputs {
  desired: Record<string, unknown>;
  tags: Record<string, unknown>;
  version: number;
  etag: string;
}

function label(inputs: { deviceId?: unknown }): string {
  return `device twin "${String(inputs.deviceId)}"`;
}

export function checkDeviceTwin(inputs: Partial<DeviceTwinInputs>): RuleViolation[] {
  const violations = [...checkHubConnection(inputs), ...checkDeviceId(inputs.deviceId)];
  if (inputs.desired !== undefined) violations.push(...checkTwinSection("desired", inputs.desired));
  if (inputs.tags !== undefined) violations.push(...checkTwinSection("tags", inputs.tags));
  return violations;
}

function assertValid(inputs: DeviceTwinInputs): void {
  const violations = checkDeviceTwin(inputs);
  if (violations.length > 0) throw new Error(`${label(inputs)}: ${describeViolations(violations)}`);
}

function twinPatch(previous: Partial<DeviceTwinOutputs> | undefined, declared: DeviceTwinInputs): unknown {
  return {
    tags: ownedPatch(previous?.tags, declared.tags ?? {}),
    properties: { desired: ownedPatch(previous?.desired, declared.desired ?? {}) },
  };
}

async function write(
  inputs: DeviceTwinInputs,
  previous: DeviceTwinOutputs | undefined,
  etag: string,
  action: string,
): Promise<DeviceTwinOutputs> {
  try {
    const twin = await patchWithEtag(
      new HubClient(inputs),
      inputs.deviceId,
      undefined,
      twinPatch(previous, inputs),
      etag,
    );
    return {
      ...inputs,
      desired: inputs.desired ?? {},
      tags: inputs.tags ?? {},
      version: twin.version ?? 0,
      etag: twin.etag,
    };
  } catch (error) {
    throw describeFailure(label(inputs), action, error);
  }
}

export const deviceTwinProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds: DeviceTwinInputs, news: DeviceTwinInputs) {
    return { inputs: news, failures: checkFailures(label(news), checkDeviceTwin(news), news) };
  },

  async diff(_id: string, olds: DeviceTwinOutputs, news: DeviceTwinInputs) {
    const replaces: string[] = [];
    if (olds.deviceId !== news.deviceId) replaces.push("deviceId");
    if (!sameHub(olds, news)) {
      replaces.push("serviceConnectionString");
    }
    const changes =
      replaces.length > 0 ||
      !jsonEqual(olds.desired ?? {}, news.desired ?? {}) ||
      !jsonEqual(olds.tags ?? {}, news.tags ?? {}) ||
      olds.serviceConnectionString !== news.serviceConnectionString ||
      olds.caCertificate !== news.caCertificate ||
      olds.gatewayHostName !== news.gatewayHostName ||
      !jsonEqual(olds.registry ?? null, news.registry ?? null);
    return { changes, replaces, deleteBeforeReplace: false };
  },

  async create(inputs: DeviceTwinInputs) {
    assertValid(inputs);
    return { id: inputs.deviceId, outs: asState(await write(inputs, undefined, "*", "create")) };
  },

  async read(id: string, props: DeviceTwinOutputs) {
    try {
      const twin = await new HubClient(props).getTwin(props.deviceId);
      return {
        id,
        props: asState({
          ...props,
          desired: ownedView(twin.desired, props.desired ?? {}),
          tags: ownedView(twin.tags, props.tags ?? {}),
          version: twin.version ?? props.version,
          etag: twin.etag,
        }),
      };
    } catch (error) {
      if (isNotFound(error)) return { id: "", props: {} };
      throw describeFailure(label(props), "read", error);
    }
  },

  async update(_id: string, olds: DeviceTwinOutputs, news: DeviceTwinInputs) {
    assertValid(news);
    return { outs: asState(await write(news, olds, olds.etag, "update")) };
  },

  /** Removes the owned keys and tags; a device already gone took its twin with it. */
  async delete(_id: string, props: DeviceTwinOutputs) {
    try {
      const patch = twinPatch(props, { ...props, desired: {}, tags: {} });
      await patchWithEtag(new HubClient(props), props.deviceId, undefined, patch, props.etag);
    } catch (error) {
      if (!isNotFound(error)) throw describeFailure(label(props), "delete", error);
    }
  },
};
