import type * as pulumi from "@pulumi/pulumi";
import { checkDeviceId, checkTwinSection, type RuleViolation } from "../../lib/iothub/rules";
import { checkHubConnection } from "./hubConnection";
import { twinProvider, type TwinInputs, type TwinVersion } from "./twinProvider";

export interface DeviceTwinInputs extends TwinInputs {
  desired?: Record<string, unknown>;
  tags?: Record<string, unknown>;
}

export interface DeviceTwinOutputs extends DeviceTwinInputs, TwinVersion {
  desired: Record<string, unknown>;
  tags: Record<string, unknown>;
}

export function checkDeviceTwin(inputs: Partial<DeviceTwinInputs>): RuleViolation[] {
  const violations = [...checkHubConnection(inputs), ...checkDeviceId(inputs.deviceId)];
  if (inputs.desired !== undefined) violations.push(...checkTwinSection("desired", inputs.desired));
  if (inputs.tags !== undefined) violations.push(...checkTwinSection("tags", inputs.tags));
  return violations;
}

/** A device twin owns keys in its tags and desired properties (each optional: undeclared owns none). */
export const deviceTwinProvider: pulumi.dynamic.ResourceProvider = twinProvider<DeviceTwinInputs>({
  target: "device",
  check: checkDeviceTwin,
  sections: ["tags", "desired"],
});
