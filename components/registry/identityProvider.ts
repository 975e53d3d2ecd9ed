import type * as pulumi from "@pulumi/pulumi";
import type { RuleViolation } from "../../lib/iothub/rules";
import { HubClient, type IdentityBody } from "./client";
import { describeFailure, isAlreadyExists, isNotFound } from "./errors";
import { assertValid } from "./hubConnection";
import type { IdentityInputs } from "./identityOutputs";
import { checkAnswer, diffAnswer } from "./providerAnswers";
import { resourceId, targetLabel, type RegistryTarget } from "./registryTarget";
import { asState } from "./state";

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

/**
 * The dynamic provider of one kind of identity. Loaded by the lazy stub in the provider process (never serialized
 * itself), but kept to plain functions and objects like the rest of the provider code (no class field
 * initializers, no captured Symbols: see lazyProvider.ts).
 */
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
