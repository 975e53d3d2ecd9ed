import type * as pulumi from "@pulumi/pulumi";
import { checkDeviceId, checkModuleId, type RuleViolation } from "../../lib/iothub/rules";
import {
  authenticationBody,
  authenticationMatches,
  checkAuthentication,
  type AuthenticationInputs,
} from "./authentication";
import type { IdentityBody } from "./client";
import { checkHubConnection } from "./hubConnection";
import {
  identityFromOutputs,
  identityOutputFields,
  type IdentityInputs,
  type IdentityOutputFields,
} from "./identityOutputs";
import { identityProvider } from "./identityProvider";

export interface ModuleIdentityInputs extends IdentityInputs {
  moduleId: string;
  authentication?: AuthenticationInputs;
  managedBy?: string;
}

export interface ModuleIdentityOutputs extends ModuleIdentityInputs, IdentityOutputFields {}

export function checkModuleIdentity(inputs: Partial<ModuleIdentityInputs>): RuleViolation[] {
  const violations = [
    ...checkHubConnection(inputs),
    ...checkDeviceId(inputs.deviceId),
    ...checkModuleId(inputs.moduleId),
    ...checkAuthentication(inputs.authentication),
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
  update: (client, module) => client.updateModule(module),
  remove: (client, inputs) => client.deleteModule(inputs.deviceId, inputs.moduleId),
});
