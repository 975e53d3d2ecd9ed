import type * as pulumi from "@pulumi/pulumi";
import type { RuleViolation } from "../../lib/iothub/rules";
import { authenticationFromOutputs, authenticationOutputs } from "./authentication";
import { HubClient, type IdentityBody } from "./client";
import { describeFailure, isAlreadyExists, isNotFound } from "./errors";
import { hubHostName, identityConnectionString } from "./hubConnection";
import {
  assertValid,
  asState,
  checkAnswer,
  diffAnswer,
  plainOutput,
  resourceId,
  secretOutput,
  targetLabel,
  type DeclaredOutputs,
  type RegistryTarget,
} from "./providerKit";
import type { IdentityArgs } from "./registryResource";

/** The inputs every identity (device or module) takes besides its own settings, as the provider receives them. */
export type IdentityInputs = pulumi.Unwrap<IdentityArgs> & { deviceId: string };

/** The outputs every identity has besides its inputs and its own settings: what the hub says. */
export const IDENTITY_OUTPUTS = {
  hostName: plainOutput<string>(),
  etag: plainOutput<string>(),
  generationId: plainOutput<string>(),
  authenticationType: plainOutput<string>(),
  primaryKey: secretOutput<string | undefined>(),
  secondaryKey: secretOutput<string | undefined>(),
  primaryThumbprint: plainOutput<string | undefined>(),
  secondaryThumbprint: plainOutput<string | undefined>(),
  /** `HostName=..;DeviceId=..[;ModuleId=..];SharedAccessKey=..[;GatewayHostName=..]`, `x509=true` without a key. */
  connectionString: secretOutput<string>(),
};

export type IdentityOutputFields = DeclaredOutputs<typeof IDENTITY_OUTPUTS>;

/** Inputs every identity echoes that hold key material: secret outputs even when the input was plain. */
export const IDENTITY_SECRET_INPUTS = ["serviceConnectionString", "authentication"];

/**
 * The outputs a device and a module identity share, from the hub's identity: `moduleId` undefined for a device.
 * The connection string carries the primary key (x509=true without one).
 */
export function identityOutputFields(
  inputs: IdentityInputs,
  identity: IdentityBody,
  moduleId: string | undefined,
): IdentityOutputFields {
  const auth = authenticationOutputs(identity);
  return {
    hostName: hubHostName(inputs.serviceConnectionString),
    etag: identity.etag ?? "",
    generationId: identity.generationId ?? "",
    ...auth,
    connectionString: identityConnectionString(inputs, inputs.deviceId, moduleId, auth.primaryKey),
  };
}

/**
 * The stored outputs seen as the hub's identity, for what a device and a module share (the id and the
 * authentication with its keys): diff compares the declaration with it, and an update's PUT keeps its keys.
 */
export function identityFromOutputs(olds: IdentityInputs & IdentityOutputFields): IdentityBody {
  return { deviceId: olds.deviceId, authentication: authenticationFromOutputs(olds) };
}

/**
 * What differs between a device identity and a module identity: their settings, and which registry calls reach
 * them. Everything else (check, diff, create or adopt, read, update, delete) is the same and lives in
 * identityProvider().
 */
export interface IdentityKind<I extends IdentityInputs, O extends I> {
  target: RegistryTarget;
  /** Violations of the inputs, each naming the field and the rule. */
  check(inputs: Partial<I>): RuleViolation[];
  /** The full identity a PUT sends. `current` supplies what the program does not declare but must be kept (keys). */
  body(inputs: I, current?: IdentityBody): IdentityBody;
  /** True when the hub's identity is as declared (adopt then has nothing to send, diff nothing to change). */
  matches(inputs: I, identity: IdentityBody): boolean;
  /** The outputs kept in state: the inputs plus what the hub says. */
  outputs(inputs: I, identity: IdentityBody): O;
  /** The stored outputs seen as the hub's identity (for diff, and for the keys an update must carry over). */
  fromState(olds: O): IdentityBody;
  // The registry calls for this kind of identity.
  get(client: HubClient, inputs: I): Promise<IdentityBody>;
  create(client: HubClient, identity: IdentityBody): Promise<IdentityBody>;
  update(client: HubClient, identity: IdentityBody): Promise<IdentityBody>;
  remove(client: HubClient, inputs: I): Promise<void>;
}

/** The dynamic provider of one kind of identity (loaded by the lazy stub in the provider process: lazyProvider.ts). */
export function identityProvider<I extends IdentityInputs, O extends I>(
  kind: IdentityKind<I, O>,
): pulumi.dynamic.ResourceProvider {
  const label = (inputs: { deviceId?: unknown; moduleId?: unknown }): string =>
    targetLabel(kind.target, kind.target, inputs);

  /** An existing identity taken over (`adopt: true`): read, and brought to the declared state if it differs. */
  async function adopt(client: HubClient, inputs: I): Promise<IdentityBody> {
    try {
      const current = await kind.get(client, inputs);
      if (kind.matches(inputs, current)) return current;
      return await kind.update(client, kind.body(inputs, current));
    } catch (error) {
      throw describeFailure(label(inputs), "adopt", error);
    }
  }

  return {
    async check(_olds: I, news: I) {
      return checkAnswer(label(news), kind.check(news), news);
    },

    async diff(_id: string, olds: O, news: I) {
      const settingsDiffer =
        !kind.matches(news, kind.fromState(olds)) || (olds.adopt ?? false) !== (news.adopt ?? false);
      return diffAnswer(kind.target, olds, news, settingsDiffer);
    },

    async create(inputs: I) {
      assertValid(label(inputs), kind.check(inputs));
      const client = new HubClient(inputs);
      let identity: IdentityBody;
      try {
        identity = await kind.create(client, kind.body(inputs));
      } catch (error) {
        if (!isAlreadyExists(error)) throw describeFailure(label(inputs), "create", error);
        if (!inputs.adopt) {
          throw new Error(
            `${label(inputs)} already exists in hub ${client.hostName}. To manage the existing ${kind.target} ` +
              `with this resource, set \`adopt: true\`: it is then read and brought to the declared state ` +
              `(\`pulumi import\` cannot work for dynamic resources).`,
          );
        }
        identity = await adopt(client, inputs);
      }
      return { id: resourceId(kind.target, inputs), outs: asState(kind.outputs(inputs, identity)) };
    },

    async read(id: string, props: O) {
      try {
        const identity = await kind.get(new HubClient(props), props);
        return { id, props: asState(kind.outputs(props, identity)) };
      } catch (error) {
        if (isNotFound(error)) return { id: "", props: {} };
        throw describeFailure(label(props), "read", error);
      }
    },

    async update(_id: string, olds: O, news: I) {
      assertValid(label(news), kind.check(news));
      try {
        const identity = await kind.update(new HubClient(news), kind.body(news, kind.fromState(olds)));
        return { outs: asState(kind.outputs(news, identity)) };
      } catch (error) {
        throw describeFailure(label(news), "update", error);
      }
    },

    /** An identity already gone counts as deleted. */
    async delete(_id: string, props: O) {
      try {
        await kind.remove(new HubClient(props), props);
      } catch (error) {
        if (!isNotFound(error)) throw describeFailure(label(props), "delete", error);
      }
    },
  };
}
