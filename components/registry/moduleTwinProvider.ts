import type * as pulumi from "@pulumi/pulumi";
import { checkDeviceId, checkModuleId, checkTwinSection, type RuleViolation } from "../../lib/iothub/rules";
import { checkHubConnection } from "./hubConnection";
import type { ModuleTwinArgs } from "./moduleTwin";
import { plainOutput, type OutputsOf } from "./providerKit";
import { TWIN_OUTPUTS, twinProvider } from "./twinProvider";

/** The inputs as the provider receives them. */
export type ModuleTwinInputs = pulumi.Unwrap<ModuleTwinArgs>;

/** The outputs besides the inputs: the owned desired keys as the hub holds them (after refresh: drift shows here). */
export const MODULE_TWIN_OUTPUTS = {
  ...TWIN_OUTPUTS,
  desired: plainOutput<Record<string, unknown>>(),
};

export type ModuleTwinOutputs = OutputsOf<ModuleTwinInputs, typeof MODULE_TWIN_OUTPUTS>;

export function checkModuleTwin(inputs: Partial<ModuleTwinInputs>): RuleViolation[] {
  return [
    ...checkHubConnection(inputs),
    ...checkDeviceId(inputs.deviceId),
    ...checkModuleId(inputs.moduleId),
    ...checkTwinSection("desired", inputs.desired),
  ];
}

/** A module twin owns keys in its desired properties only (required: check refuses a missing `desired`). */
export const moduleTwinProvider: pulumi.dynamic.ResourceProvider = twinProvider<ModuleTwinInputs>({
  target: "module",
  check: checkModuleTwin,
  sections: ["desired"],
});
