import type * as pulumi from "@pulumi/pulumi";
import { checkDeviceId, checkModuleId, type RuleViolation } from "../../lib/iothub/rules";
import { authenticationBody, authenticationMatches, checkAuthentication } from "./authentication";
import type { IdentityBody } from "./client";
import { checkHubConnection } from "./hubConnection";
import {
  IDENTITY_OUTPUTS,
  identityFromOutputs,
  identityOutputFields,
  identityProvider,
} from "./identityProvider";
import type { ModuleIdentityArgs } from "./moduleIdentity";
import { plainOutput, type OutputsOf } from "./providerKit";
import { checkRotation } from "./rotation";

/** The inputs as the provider receives them. */
export type ModuleIdentityInputs = pulumi.Unwrap<ModuleIdentityArgs>;

/** The outputs besides the inputs: what the hub says about the module, and its settings as the hub holds them. */
export const MODULE_IDENTITY_OUTPUTS = {
  ...IDENTITY_OUTPUTS,
  managedBy: plainOutput<string | undefined>(),
};

/** The outputs kept in state: the inputs plus what the hub says. */
export type ModuleIdentityOutputs = OutputsOf<ModuleIdentityInputs, typeof MODULE_IDENTITY_OUTPUTS>;

export function checkModuleIdentity(inputs: Partial<ModuleIdentityInputs>): RuleViolation[] {
  const violations = [
    ...checkHubConnection(inputs),
    ...checkDeviceId(inputs.deviceId),
    ...checkModuleId(inputs.moduleId),
    ...checkAuthentication(inputs.authentication),
    ...checkRotation(inputs.rotation, inputs.authentication),
  ];
  if (inputs.managedBy !== undefined && typeof inputs.managedBy !== "string") {
    violations.push({ field: "managedBy", rule: "must be a string" });
  }
  return violations;
}

function moduleBody(inputs: ModuleIdentityInputs, current?: IdentityBody): IdentityBody {
  return {
    deviceId: inputs.deviceId,
    moduleId: inputs.moduleId,
    managedBy: inputs.managedBy,
    authentication: authenticationBody(inputs.authentication, current),
  };
}

function moduleMatches(inputs: ModuleIdentityInputs, module: IdentityBody): boolean {
  return (
    (module.managedBy ?? "") === (inputs.managedBy ?? "") &&
    authenticationMatches(inputs.authentication, module)
  );
}

function moduleOutputs(inputs: ModuleIdentityInputs, module: IdentityBody): ModuleIdentityOutputs {
  return {
    ...inputs,
    ...identityOutputFields(inputs, module, inputs.moduleId),
    managedBy: module.managedBy || undefined,
  };
}

function moduleFromState(olds: ModuleIdentityOutputs): IdentityBody {
  return { ...identityFromOutputs(olds), moduleId: olds.moduleId, managedBy: olds.managedBy };
}

export const moduleIdentityProvider: pulumi.dynamic.ResourceProvider = identityProvider({
  target: "module",
  check: checkModuleIdentity,
  body: moduleBody,
  matches: moduleMatches,
  outputs: moduleOutputs,
  fromState: moduleFromState,
  get: (client, inputs) => client.getModule(inputs.deviceId, inputs.moduleId),
  create: (client, module) => client.createModule(module),
  update: (client, module, etag) => client.updateModule(module, etag),
  remove: (client, inputs) => client.deleteModule(inputs.deviceId, inputs.moduleId),
});
