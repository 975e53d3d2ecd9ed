import type * as pulumi from "@pulumi/pulumi";
import { checkDeviceId, checkModuleId, describeViolations, type RuleViolation } from "../../lib/iothub/rules";
import {
  authenticationBody,
  authenticationMatches,
  authenticationOutputs,
  checkAuthentication,
  type AuthenticationInputs,
} from "./authentication";
import { HubClient, type IdentityBody } from "./client";
import { asState } from "./state";
import { describeFailure, isAlreadyExists, isNotFound } from "./errors";
import {
  checkFailures,
  checkHubConnection,
  hubHostName,
  sameHub,
  identityConnectionString,
  type HubConnectionInputs,
} from "./hubConnection";
import { jsonEqual } from "./twinOwnership";

export interface ModuleIdentityInputs extends HubConnectionInputs {
  deviceId: string;
  moduleId: string;
  authentication?: AuthenticationInputs;
  managedBy?: string;
  adopt?: boolean;
}

export interface ModuleIdentityOutputs extends ModuleIdentityInputs {
  hostName: string;
  etag: string;
  generationId: string;
  authenticationType: string;
  primaryKey?: string;
  secondaryKey?: string;
  primaryThumbprint?: string;
  secondaryThumbprint?: string;
  connectionString: string;
}

function label(inputs: { deviceId?: unknown; moduleId?: unknown }): string {
  return `module "${String(inputs.deviceId)}/${String(inputs.moduleId)}"`;
}

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
  const auth = authenticationOutputs(module);
  return {
    ...inputs,
    hostName: hubHostName(inputs.serviceConnectionString),
    managedBy: module.managedBy || undefined,
    etag: module.etag ?? "",
    generationId: module.generationId ?? "",
    ...auth,
    connectionString: identityConnectionString(inputs, inputs.deviceId, inputs.moduleId, auth.primaryKey),
  };
}

function oldsAsBody(olds: ModuleIdentityOutputs): IdentityBody {
  return {
    deviceId: olds.deviceId,
    moduleId: olds.moduleId,
    managedBy: olds.managedBy,
    authentication: {
      type: olds.authenticationType as AuthenticationInputs["type"],
      symmetricKey: { primaryKey: olds.primaryKey, secondaryKey: olds.secondaryKey },
      x509Thumbprint: {
        primaryThumbprint: olds.primaryThumbprint,
        secondaryThumbprint: olds.secondaryThumbprint,
      },
    },
  };
}

export const moduleIdentityProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds: ModuleIdentityInputs, news: ModuleIdentityInputs) {
    return { inputs: news, failures: checkFailures(label(news), checkModuleIdentity(news), news) };
  },

  async diff(_id: string, olds: ModuleIdentityOutputs, news: ModuleIdentityInputs) {
    const replaces: string[] = [];
    if (olds.deviceId !== news.deviceId) replaces.push("deviceId");
    if (olds.moduleId !== news.moduleId) replaces.push("moduleId");
    if (!sameHub(olds, news)) {
      replaces.push("serviceConnectionString");
    }
    const sameSettings =
      olds.serviceConnectionString === news.serviceConnectionString &&
      olds.caCertificate === news.caCertificate &&
      olds.gatewayHostName === news.gatewayHostName &&
      (olds.adopt ?? false) === (news.adopt ?? false) &&
      jsonEqual(olds.registry ?? null, news.registry ?? null);
    const changes = replaces.length > 0 || !sameSettings || !moduleMatches(news, oldsAsBody(olds));
    return { changes, replaces, deleteBeforeReplace: false };
  },

  async create(inputs: ModuleIdentityInputs) {
    assertValid(inputs);
    const client = new HubClient(inputs);
    let module: IdentityBody;
    try {
      module = await client.createModule(moduleBody(inputs));
    } catch (error) {
      if (!isAlreadyExists(error)) throw describeFailure(label(inputs), "create", error);
      if (!inputs.adopt) {
        throw new Error(
          `${label(inputs)} already exists in hub ${client.hostName}. To manage the existing module with this ` +
            `resource, set \`adopt: true\`: it is then read and brought to the declared state ` +
            `(\`pulumi import\` cannot work for dynamic resources).`,
        );
      }
      module = await adopt(client, inputs);
    }
    return { id: `${inputs.deviceId}/${inputs.moduleId}`, outs: asState(moduleOutputs(inputs, module)) };
  },

  async read(id: string, props: ModuleIdentityOutputs) {
    try {
      const module = await new HubClient(props).getModule(props.deviceId, props.moduleId);
      return { id, props: asState(moduleOutputs(props, module)) };
    } catch (error) {
      if (isNotFound(error)) return { id: "", props: {} };
      throw describeFailure(label(props), "read", error);
    }
  },

  async update(_id: string, olds: ModuleIdentityOutputs, news: ModuleIdentityInputs) {
    assertValid(news);
    try {
      const module = await new HubClient(news).updateModule(moduleBody(news, oldsAsBody(olds)));
      return { outs: asState(moduleOutputs(news, module)) };
    } catch (error) {
      throw describeFailure(label(news), "update", error);
    }
  },

  async delete(_id: string, props: ModuleIdentityOutputs) {
    try {
      await new HubClient(props).deleteModule(props.deviceId, props.moduleId);
    } catch (error) {
      if (!isNotFound(error)) throw describeFailure(label(props), "delete", error);
    }
  },
};

async function adopt(client: HubClient, inputs: ModuleIdentityInputs): Promise<IdentityBody> {
  try {
    const current = await client.getModule(inputs.deviceId, inputs.moduleId);
    if (moduleMatches(inputs, current)) return current;
    return await client.updateModule(moduleBody(inputs, current));
  } catch (error) {
    throw describeFailure(label(inputs), "adopt", error);
  }
}

function assertValid(inputs: ModuleIdentityInputs): void {
  const violations = checkModuleIdentity(inputs);
  if (violations.length > 0) throw new Error(`${label(inputs)}: ${describeViolations(violations)}`);
}
