import type * as pulumi from "@pulumi/pulumi";
import { DESIRED_ROOT } from "../../lib/iothub/configuration";
import { checkDeviceId, type RuleViolation } from "../../lib/iothub/rules";
import { isPlainObject, type TwinProperties } from "../../lib/iothub/twin";
import { HubClient } from "../registry/client";
import { describeFailure, isNotFound } from "../registry/errors";
import { checkHubConnection, type HubConnectionArgs } from "../registry/hubConnection";
import {
  assertValid,
  asState,
  checkAnswer,
  sameConnectionSettings,
  sameHub,
  type OutputsOf,
} from "../registry/providerKit";
import { sameContent } from "./configurationId";
import { checkModulesContent, type ModulesContent } from "./edgeDeploymentProvider";

/**
 * One IoT Edge device's modules set directly, as `az iot edge set-modules` does: a whole manifest written into the
 * device's module twins (`applyConfigurationContentOnDevice`), outside ADM. The device's deployments are not
 * re-evaluated, so the content stays until a deployment that targets the device changes, as on IoT Hub.
 */

export interface EdgeDeviceModulesArgs extends HubConnectionArgs {
  /** The IoT Edge device (`edgeEnabled`) whose modules these are. */
  deviceId: pulumi.Input<string>;
  /** A whole deployment manifest's `modulesContent` (a base deployment's: `$edgeAgent` and `$edgeHub` included). */
  modulesContent: pulumi.Input<ModulesContent>;
}

export type EdgeDeviceModulesInputs = pulumi.Unwrap<EdgeDeviceModulesArgs>;

/** No outputs besides the inputs; `modulesContent` is what the device's module twins hold (after refresh). */
export const EDGE_DEVICE_MODULES_OUTPUTS = {};

export type EdgeDeviceModulesOutputs = OutputsOf<EdgeDeviceModulesInputs, typeof EDGE_DEVICE_MODULES_OUTPUTS>;

export function checkEdgeDeviceModules(inputs: Partial<EdgeDeviceModulesInputs>): RuleViolation[] {
  return [
    ...checkHubConnection(inputs),
    ...checkDeviceId(inputs.deviceId),
    ...checkModulesContent(inputs.modulesContent, false),
  ];
}

const label = (inputs: { deviceId?: unknown }): string => `edge device modules "${String(inputs.deviceId)}"`;

async function apply(inputs: EdgeDeviceModulesInputs, action: string): Promise<EdgeDeviceModulesOutputs> {
  assertValid(label(inputs), checkEdgeDeviceModules(inputs));
  try {
    await new HubClient(inputs).applyConfigurationContentOnDevice(inputs.deviceId, {
      modulesContent: inputs.modulesContent,
    });
    return asState({ ...inputs });
  } catch (error) {
    throw describeFailure(label(inputs), action, error);
  }
}

/**
 * The content as the device's module twins hold it, key by key: a `properties.desired` key reads the whole desired
 * document, a `properties.desired.<path>` key the value at the path. A module the device does not have (yet) keeps
 * its declared content: the runtime creates it, and there is nothing to compare.
 */
async function heldContent(client: HubClient, props: EdgeDeviceModulesOutputs): Promise<ModulesContent> {
  const held: ModulesContent = {};
  for (const [moduleId, content] of Object.entries(props.modulesContent)) {
    let desired: TwinProperties;
    try {
      desired = (await client.getTwin(props.deviceId, moduleId)).desired;
    } catch (error) {
      if (!isNotFound(error)) throw error;
      held[moduleId] = content;
      continue;
    }
    held[moduleId] = Object.fromEntries(
      Object.keys(content).map((key) => [key, key === DESIRED_ROOT ? desired : valueAt(desired, key)]),
    );
  }
  return held;
}

function valueAt(desired: TwinProperties, key: string): unknown {
  let node: unknown = desired;
  for (const segment of key.slice(DESIRED_ROOT.length + 1).split(".")) {
    node = isPlainObject(node) ? node[segment] : undefined;
  }
  return node ?? null;
}

export const edgeDeviceModulesProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds: EdgeDeviceModulesInputs, news: EdgeDeviceModulesInputs) {
    return checkAnswer(label(news), checkEdgeDeviceModules(news), news);
  },

  async diff(_id: string, olds: EdgeDeviceModulesOutputs, news: EdgeDeviceModulesInputs) {
    const replaces: string[] = [];
    if (olds.deviceId !== news.deviceId) replaces.push("deviceId");
    if (!sameHub(olds, news)) replaces.push("serviceConnectionString");
    const changes =
      replaces.length > 0 ||
      !sameContent({ modulesContent: olds.modulesContent }, { modulesContent: news.modulesContent }) ||
      !sameConnectionSettings(olds, news);
    return { changes, replaces, deleteBeforeReplace: false };
  },

  async create(inputs: EdgeDeviceModulesInputs) {
    return { id: inputs.deviceId, outs: await apply(inputs, "create") };
  },

  async read(id: string, props: EdgeDeviceModulesOutputs) {
    const client = new HubClient(props);
    try {
      await client.getDevice(props.deviceId);
      return { id, props: asState({ ...props, modulesContent: await heldContent(client, props) }) };
    } catch (error) {
      if (isNotFound(error)) return { id: "", props: {} };
      throw describeFailure(label(props), "read", error);
    }
  },

  /** Applies the whole manifest again (set-modules replaces what the module twins held). */
  async update(_id: string, _olds: EdgeDeviceModulesOutputs, news: EdgeDeviceModulesInputs) {
    return { outs: await apply(news, "update") };
  },

  /**
   * Leaves the module twins as they are: IoT Hub has no way to take set-modules back (the modules keep running, as
   * when a deployment is deleted); a deployment that targets the device replaces them when it changes.
   */
  async delete() {},
};
