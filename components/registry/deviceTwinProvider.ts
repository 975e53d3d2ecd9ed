import type * as pulumi from "@pulumi/pulumi";
import { checkDeviceId, checkTwinSection, type RuleViolation } from "../../lib/iothub/rules";
import type { DeviceTwinArgs } from "./deviceTwin";
import { checkHubConnection } from "./hubConnection";
import { plainOutput, type OutputsOf } from "./providerKit";
import { TWIN_OUTPUTS, twinProvider } from "./twinProvider";

/** The inputs as the provider receives them. */
export type DeviceTwinInputs = pulumi.Unwrap<DeviceTwinArgs>;

/** The outputs besides the inputs: the owned keys as the hub holds them (`{}` for an undeclared section). */
export const DEVICE_TWIN_OUTPUTS = {
  ...TWIN_OUTPUTS,
  desired: plainOutput<Record<string, unknown>>(),
  tags: plainOutput<Record<string, unknown>>(),
};

export type DeviceTwinOutputs = OutputsOf<DeviceTwinInputs, typeof DEVICE_TWIN_OUTPUTS>;

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
