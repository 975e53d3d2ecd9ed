import type * as pulumi from "@pulumi/pulumi";
import { checkDeviceId, describeViolations, type RuleViolation } from "../../lib/iothub/rules";
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

/** The inputs as the provider receives them. */
export interface DeviceIdentityInputs extends HubConnectionInputs {
  deviceId: string;
  authentication?: AuthenticationInputs;
  status?: "enabled" | "disabled";
  statusReason?: string;
  edgeEnabled?: boolean;
  parentScope?: string;
  adopt?: boolean;
}

/** The outputs kept in state: the inputs plus what the hub says. */
export interface DeviceIdentityOutputs extends DeviceIdentityInputs {
  hostName: string;
  status: "enabled" | "disabled";
  etag: string;
  generationId: string;
  deviceScope?: string;
  authenticationType: string;
  primaryKey?: string;
  secondaryKey?: string;
  primaryThumbprint?: string;
  secondaryThumbprint?: string;
  connectionString: string;
}

function label(inputs: { deviceId?: unknown }): string {
  return `device "${String(inputs.deviceId)}"`;
}

export function checkDeviceIdentity(inputs: Partial<DeviceIdentityInputs>): RuleViolation[] {
  const violations = [...checkHubConnection(inputs), ...checkDeviceId(inputs.deviceId)];
  violations.push(...checkAuthentication(inputs.authentication));
  if (inputs.status !== undefined && inputs.status !== "enabled" && inputs.status !== "disabled") {
    violations.push({ field: "status", rule: 'must be "enabled" or "disabled"' });
  }
  if (
    inputs.statusReason !== undefined &&
    (typeof inputs.statusReason !== "string" || inputs.statusReason.length > 128)
  ) {
    violations.push({ field: "statusReason", rule: "must be a string of at most 128 characters" });
  }
  if (inputs.edgeEnabled !== undefined && typeof inputs.edgeEnabled !== "boolean") {
    violations.push({ field: "edgeEnabled", rule: "must be a boolean" });
  }
  if (
    inputs.parentScope !== undefined &&
    (typeof inputs.parentScope !== "string" || inputs.parentScope === "")
  ) {
    violations.push({
      field: "parentScope",
      rule: "must be a non-empty string (the parent edge device's deviceScope)",
    });
  }
  return violations;
}

/** The full device a PUT sends. `current` supplies what the program does not declare but must be kept (keys). */
function deviceBody(inputs: DeviceIdentityInputs, current?: IdentityBody): IdentityBody {
  return {
    deviceId: inputs.deviceId,
    status: inputs.status ?? "enabled",
    statusReason: inputs.statusReason,
    capabilities: { iotEdge: inputs.edgeEnabled ?? false },
    authentication: authenticationBody(inputs.authentication, current),
    deviceScope: current?.deviceScope,
    parentScopes: inputs.parentScope ? [inputs.parentScope] : [],
  };
}

/** True when the hub's device is as declared (so adopt or update has nothing to send). */
function deviceMatches(inputs: DeviceIdentityInputs, device: IdentityBody): boolean {
  return (
    (device.status ?? "enabled") === (inputs.status ?? "enabled") &&
    (device.statusReason ?? "") === (inputs.statusReason ?? "") &&
    (device.capabilities?.iotEdge ?? false) === (inputs.edgeEnabled ?? false) &&
    (device.parentScopes?.[0] ?? "") === (inputs.parentScope ?? "") &&
    authenticationMatches(inputs.authentication, device)
  );
}

function deviceOutputs(inputs: DeviceIdentityInputs, device: IdentityBody): DeviceIdentityOutputs {
  const auth = authenticationOutputs(device);
  return {
    ...inputs,
    hostName: hubHostName(inputs.serviceConnectionString),
    status: device.status ?? "enabled",
    statusReason: device.statusReason || undefined,
    edgeEnabled: device.capabilities?.iotEdge ?? false,
    parentScope: device.parentScopes?.[0] || undefined,
    etag: device.etag ?? "",
    generationId: device.generationId ?? "",
    deviceScope: device.deviceScope || undefined,
    ...auth,
    connectionString: identityConnectionString(inputs, inputs.deviceId, undefined, auth.primaryKey),
  };
}

/** The outputs seen as "the hub's current device", to carry keys and scope into a full PUT. */
function currentFromOutputs(olds: DeviceIdentityOutputs): IdentityBody {
  return {
    deviceId: olds.deviceId,
    deviceScope: olds.deviceScope,
    authentication: { symmetricKey: { primaryKey: olds.primaryKey, secondaryKey: olds.secondaryKey } },
  };
}

export const deviceIdentityProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds: DeviceIdentityInputs, news: DeviceIdentityInputs) {
    return { inputs: news, failures: checkFailures(label(news), checkDeviceIdentity(news), news) };
  },

  async diff(_id: string, olds: DeviceIdentityOutputs, news: DeviceIdentityInputs) {
    const replaces: string[] = [];
    if (olds.deviceId !== news.deviceId) replaces.push("deviceId");
    if (!sameHub(olds, news)) {
      replaces.push("serviceConnectionString");
    }
    const asDeclared =
      olds.status === (news.status ?? "enabled") &&
      (olds.statusReason ?? "") === (news.statusReason ?? "") &&
      (olds.edgeEnabled ?? false) === (news.edgeEnabled ?? false) &&
      (olds.parentScope ?? "") === (news.parentScope ?? "") &&
      authenticationMatches(news.authentication, {
        deviceId: olds.deviceId,
        authentication: {
          type: olds.authenticationType as AuthenticationInputs["type"],
          symmetricKey: { primaryKey: olds.primaryKey, secondaryKey: olds.secondaryKey },
          x509Thumbprint: {
            primaryThumbprint: olds.primaryThumbprint,
            secondaryThumbprint: olds.secondaryThumbprint,
          },
        },
      });
    const sameSettings =
      olds.serviceConnectionString === news.serviceConnectionString &&
      olds.caCertificate === news.caCertificate &&
      olds.gatewayHostName === news.gatewayHostName &&
      (olds.adopt ?? false) === (news.adopt ?? false) &&
      jsonEqual(olds.registry ?? null, news.registry ?? null);
    return {
      changes: replaces.length > 0 || !asDeclared || !sameSettings,
      replaces,
      deleteBeforeReplace: false,
    };
  },

  async create(inputs: DeviceIdentityInputs) {
    assertValid(inputs);
    const client = new HubClient(inputs);
    let device: IdentityBody;
    try {
      device = await client.createDevice(deviceBody(inputs));
    } catch (error) {
      if (!isAlreadyExists(error)) throw describeFailure(label(inputs), "create", error);
      if (!inputs.adopt) {
        throw new Error(
          `${label(inputs)} already exists in hub ${client.hostName}. To manage the existing device with this ` +
            `resource, set \`adopt: true\`: it is then read and brought to the declared state ` +
            `(\`pulumi import\` cannot work for dynamic resources).`,
        );
      }
      device = await adopt(client, inputs);
    }
    return { id: inputs.deviceId, outs: asState(deviceOutputs(inputs, device)) };
  },

  async read(id: string, props: DeviceIdentityOutputs) {
    const client = new HubClient(props);
    try {
      const device = await client.getDevice(props.deviceId);
      return { id, props: asState(deviceOutputs(props, device)) };
    } catch (error) {
      if (isNotFound(error)) return { id: "", props: {} };
      throw describeFailure(label(props), "read", error);
    }
  },

  async update(_id: string, olds: DeviceIdentityOutputs, news: DeviceIdentityInputs) {
    assertValid(news);
    const client = new HubClient(news);
    try {
      const device = await client.updateDevice(deviceBody(news, currentFromOutputs(olds)));
      return { outs: asState(deviceOutputs(news, device)) };
    } catch (error) {
      throw describeFailure(label(news), "update", error);
    }
  },

  async delete(_id: string, props: DeviceIdentityOutputs) {
    try {
      await new HubClient(props).deleteDevice(props.deviceId);
    } catch (error) {
      if (!isNotFound(error)) throw describeFailure(label(props), "delete", error);
    }
  },
};

async function adopt(client: HubClient, inputs: DeviceIdentityInputs): Promise<IdentityBody> {
  try {
    const current = await client.getDevice(inputs.deviceId);
    if (deviceMatches(inputs, current)) return current;
    return await client.updateDevice(deviceBody(inputs, current));
  } catch (error) {
    throw describeFailure(label(inputs), "adopt", error);
  }
}

/** create/update run without check() when the engine skips it; never send what check() would refuse. */
function assertValid(inputs: DeviceIdentityInputs): void {
  const violations = checkDeviceIdentity(inputs);
  if (violations.length > 0) throw new Error(`${label(inputs)}: ${describeViolations(violations)}`);
}

/** Outputs holding key material: secret even when the input they derive from was not. */
export const IDENTITY_SECRET_OUTPUTS = [
  "serviceConnectionString",
  "authentication",
  "primaryKey",
  "secondaryKey",
  "connectionString",
];
