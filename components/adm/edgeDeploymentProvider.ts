import type * as pulumi from "@pulumi/pulumi";
import { checkConfigurationContent } from "../../lib/iothub/configuration";
import { checkDeploymentManifest } from "../../lib/iothub/edgeManifest";
import type { RuleViolation } from "../../lib/iothub/rules";
import type { TwinProperties } from "../../lib/iothub/twin";
import type { OutputsOf } from "../registry/providerKit";
import {
  ADM_OUTPUTS,
  admProvider,
  checkAdmInputs,
  checkAdmSettings,
  type AdmInputs,
  type AdmKind,
} from "./admProvider";

/** A deployment manifest's `modulesContent`: module (`$edgeAgent`, `$edgeHub`, custom ones) -> twin content. */
export type ModulesContent = Record<string, TwinProperties>;

export type EdgeDeploymentInputs = AdmInputs & { modulesContent: ModulesContent; layered?: boolean };

export const EDGE_DEPLOYMENT_OUTPUTS = ADM_OUTPUTS;

export type EdgeDeploymentOutputs = OutputsOf<EdgeDeploymentInputs, typeof EDGE_DEPLOYMENT_OUTPUTS>;

/**
 * A manifest's rules where its field is `modulesContent` (the twin-content rules name the IoT Hub body's
 * `content.modulesContent`): the content's, then the manifest's shape once the content is sound.
 */
export function checkModulesContent(modulesContent: unknown, layered: boolean): RuleViolation[] {
  const contentViolations = checkConfigurationContent({ modulesContent }, "content").map((violation) => ({
    ...violation,
    field: violation.field.replace(/^content\.modulesContent/, "modulesContent"),
  }));
  if (contentViolations.length > 0) return contentViolations;
  return checkDeploymentManifest(modulesContent, layered);
}

function checkContent(inputs: Partial<EdgeDeploymentInputs>): RuleViolation[] {
  if (inputs.layered !== undefined && typeof inputs.layered !== "boolean") {
    return [{ field: "layered", rule: "must be true or false" }];
  }
  return checkModulesContent(inputs.modulesContent, inputs.layered ?? false);
}

const edgeDeploymentKind: AdmKind<EdgeDeploymentInputs> = {
  noun: "edge deployment",
  contentField: "modulesContent",
  checkContent,
  content: (inputs) => ({ modulesContent: inputs.modulesContent }),
  contentInputs: (content) => ({ modulesContent: content.modulesContent ?? {} }),
};

export function checkEdgeDeployment(inputs: Partial<EdgeDeploymentInputs>): RuleViolation[] {
  return checkAdmInputs(edgeDeploymentKind, inputs);
}

/** What checkEdgeDeployment checks but the hub arguments (the stack config's entries). */
export function checkEdgeDeploymentSettings(inputs: Partial<EdgeDeploymentInputs>): RuleViolation[] {
  return checkAdmSettings(edgeDeploymentKind, inputs);
}

/** An IoT Edge deployment, base or layered. */
export const edgeDeploymentProvider: pulumi.dynamic.ResourceProvider = admProvider(edgeDeploymentKind);
