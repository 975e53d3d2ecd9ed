import type * as pulumi from "@pulumi/pulumi";
import { checkConfigurationContent, type ConfigurationContent } from "../../lib/iothub/configuration";
import type { RuleViolation } from "../../lib/iothub/rules";
import { isPlainObject, type TwinProperties } from "../../lib/iothub/twin";
import {
  ADM_OUTPUTS,
  admProvider,
  checkAdmInputs,
  checkAdmSettings,
  type AdmInputs,
  type AdmKind,
} from "./admProvider";
import type { OutputsOf } from "../registry/providerKit";

/** A configuration's content: what it writes into the device twins or module twins it targets. */
export interface TwinContent {
  /** `properties.desired` (the whole desired document) or `properties.desired.<path>` -> value, in device twins. */
  deviceContent?: TwinProperties;
  /** The same, in module twins (the target condition then starts with `FROM devices.modules WHERE`). */
  moduleContent?: TwinProperties;
}

export type ConfigurationInputs = AdmInputs & { content: TwinContent };

export const CONFIGURATION_OUTPUTS = ADM_OUTPUTS;

export type ConfigurationOutputs = OutputsOf<ConfigurationInputs, typeof CONFIGURATION_OUTPUTS>;

const hasKeys = (value: unknown): boolean => isPlainObject(value) && Object.keys(value).length > 0;

function checkContent(inputs: Partial<ConfigurationInputs>): RuleViolation[] {
  const content = inputs.content as Record<string, unknown> | undefined;
  if (isPlainObject(content) && content.modulesContent !== undefined) {
    return [
      {
        field: "content.modulesContent",
        rule: "is an IoT Edge deployment's content: declare it as an EdgeDeployment",
      },
    ];
  }
  return checkConfigurationContent(content, "content");
}

const configurationKind: AdmKind<ConfigurationInputs> = {
  noun: "configuration",
  contentField: "content",
  checkContent,
  content: (inputs) => inputs.content as ConfigurationContent,
  // IoT Hub answers the kind a configuration does not use as `{}`: the one with content is the configuration's.
  contentInputs: (content) => ({
    content: hasKeys(content.moduleContent)
      ? { moduleContent: content.moduleContent }
      : { deviceContent: content.deviceContent ?? {} },
  }),
};

export function checkConfiguration(inputs: Partial<ConfigurationInputs>): RuleViolation[] {
  return checkAdmInputs(configurationKind, inputs);
}

/** What checkConfiguration checks but the hub arguments (the stack config's entries). */
export function checkConfigurationSettings(inputs: Partial<ConfigurationInputs>): RuleViolation[] {
  return checkAdmSettings(configurationKind, inputs);
}

/** An ADM configuration of device twins or module twins. */
export const configurationProvider: pulumi.dynamic.ResourceProvider = admProvider(configurationKind);
