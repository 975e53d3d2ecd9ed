import type * as pulumi from "@pulumi/pulumi";
import { checkDeviceId, checkModuleId, checkTwinSection, type RuleViolation } from "../../lib/iothub/rules";
import { checkHubConnection } from "./hubConnection";
import { twinProvider, type TwinInputs, type TwinVersion } from "./twinProvider";

export interface ModuleTwinInputs extends TwinInputs {
  moduleId: string;
  desired: Record<string, unknown>;
}

export interface ModuleTwinOutputs extends ModuleTwinInputs, TwinVersion {
  /** The owned desired keys as the hub holds them (after refresh: drift shows here). */
  desired: Record<string, unknown>;
}

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
