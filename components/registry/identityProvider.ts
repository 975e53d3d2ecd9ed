import type * as pulumi from "@pulumi/pulumi";
import type { RuleViolation } from "../../lib/iothub/rules";
import { authenticationFromOutputs, authenticationOutputs } from "./authentication";
import { HubClient, type IdentityBody } from "./client";
import { describeFailure, isAlreadyExists, isNotFound, isPreconditionFailed } from "./errors";
import { connectionHostName, identityConnectionString } from "./hubConnection";
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
import {
  activeKeySlot,
  checkRotationStep,
  declaresKeys,
  isRotationStep,
  previousKeySlot,
  rotatedKeys,
  type RotationState,
} from "./rotation";

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
  /**
   * `HostName=..;DeviceId=..[;ModuleId=..];SharedAccessKey=..[;GatewayHostName=..]` with the active key (the
   * primary at an even `rotation`, the secondary at an odd one); `x509=true` without a key.
   */
  connectionString: secretOutput<string>(),
  /** The same with the other key: the one active before the last rotation, valid until the next. None for X.509. */
  previousConnectionString: secretOutput<string | undefined>(),
};

export type IdentityOutputFields = DeclaredOutputs<typeof IDENTITY_OUTPUTS>;

/** Inputs every identity echoes that hold key material: secret outputs even when the input was plain. */
export const IDENTITY_SECRET_INPUTS = ["serviceConnectionString", "entra", "authentication"];

/**
 * The outputs a device and a module identity share, from the hub's identity: `moduleId` undefined for a device.
 * The connection string carries the key `rotation` makes active (x509=true without one), the previous connection
 * string the other key.
 */
export function identityOutputFields(
  inputs: IdentityInputs,
  identity: IdentityBody,
  moduleId: string | undefined,
): IdentityOutputFields {
  const auth = authenticationOutputs(identity);
  const previousKey = auth[previousKeySlot(inputs.rotation)];
  return {
    hostName: connectionHostName(inputs),
    etag: identity.etag ?? "",
    generationId: identity.generationId ?? "",
    ...auth,
    connectionString: identityConnectionString(
      inputs,
      inputs.deviceId,
      moduleId,
      auth[activeKeySlot(inputs.rotation)],
    ),
    previousConnectionString:
      previousKey === undefined
        ? undefined
        : identityConnectionString(inputs, inputs.deviceId, moduleId, previousKey),
  };
}

/** The stored rotation and keys a rotation step is checked against (diff: the state's keys, as the hub held them). */
function storedRotation(olds: IdentityInputs & IdentityOutputFields): RotationState {
  return { rotation: olds.rotation, keys: { primaryKey: olds.primaryKey, secondaryKey: olds.secondaryKey } };
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
export interface IdentityKind<I extends IdentityInputs, O extends I & IdentityOutputFields> {
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
  /** A full replace: If-Match `etag` when given (refused with 412 when the identity changed since), else "*". */
  update(client: HubClient, identity: IdentityBody, etag?: string): Promise<IdentityBody>;
  remove(client: HubClient, inputs: I): Promise<void>;
}

/** The dynamic provider of one kind of identity (loaded by the lazy stub in the provider process: lazyProvider.ts). */
export function identityProvider<I extends IdentityInputs, O extends I & IdentityOutputFields>(
  kind: IdentityKind<I, O>,
): pulumi.dynamic.ResourceProvider {
  const label = (inputs: { deviceId?: unknown; moduleId?: unknown }): string =>
    targetLabel(kind.target, kind.target, inputs);
  /** The same registry entry: the ids are equal (otherwise diff replaces, and the new entry starts afresh). */
  const sameEntry = (olds: Partial<I>, news: I): boolean =>
    olds.deviceId !== undefined && resourceId(kind.target, olds as I) === resourceId(kind.target, news);

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

  /**
   * A rotation step: one PUT with If-Match the stored etag that carries the new key and the kept one together, so
   * no moment leaves a device in the field without a valid key, and a registry changed behind the state's back is
   * refused instead of overwritten. Hub-generated keys: the slot that becomes active gets a key generated here.
   */
  async function rotate(client: HubClient, olds: O, news: I): Promise<IdentityBody> {
    const current = kind.fromState(olds);
    const stored = current.authentication?.symmetricKey;
    if (!declaresKeys(news.authentication) && stored?.primaryKey && stored.secondaryKey) {
      const keys = rotatedKeys(
        { primaryKey: stored.primaryKey, secondaryKey: stored.secondaryKey },
        news.rotation ?? 0,
      );
      current.authentication = { ...current.authentication, symmetricKey: keys };
    }
    const body = kind.body(news, current);
    try {
      return await kind.update(client, body, olds.etag);
    } catch (error) {
      if (!isPreconditionFailed(error)) throw error;
      // A retried PUT whose first attempt was applied (its answer lost) meets its own etag change: the hub then
      // holds exactly the keys sent.
      const now = await kind.get(client, news);
      const sent = body.authentication?.symmetricKey;
      const held = now.authentication?.symmetricKey;
      if (sent && held && sent.primaryKey === held.primaryKey && sent.secondaryKey === held.secondaryKey)
        return now;
      throw new RotationConflict(
        `${label(news)}: rotation ${news.rotation ?? 0} refused: the ${kind.target} changed in hub ` +
          `${client.hostName} since the state was written (its etag differs), so nothing was changed. Run ` +
          "`pulumi refresh` to read what the hub holds, then `pulumi up` again.",
      );
    }
  }

  return {
    async check(olds: Partial<I>, news: I) {
      const violations = kind.check(news);
      // A new resource (no olds) or a replace (another entry) starts at any rotation.
      if (sameEntry(olds, news)) {
        const previous = { rotation: olds.rotation, keys: declaredKeys(olds.authentication) };
        violations.push(...checkRotationStep(previous, news));
      }
      return checkAnswer(label(news), violations, news);
    },

    async diff(_id: string, olds: O, news: I) {
      if (sameEntry(olds, news)) assertValid(label(news), checkRotationStep(storedRotation(olds), news));
      const settingsDiffer =
        !kind.matches(news, kind.fromState(olds)) ||
        (olds.adopt ?? false) !== (news.adopt ?? false) ||
        (olds.rotation ?? 0) !== (news.rotation ?? 0);
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
      assertValid(label(news), [...kind.check(news), ...checkRotationStep(storedRotation(olds), news)]);
      const client = new HubClient(news);
      try {
        const identity = isRotationStep(olds, news)
          ? await rotate(client, olds, news)
          : await kind.update(client, kind.body(news, kind.fromState(olds)));
        return { outs: asState(kind.outputs(news, identity)) };
      } catch (error) {
        if (error instanceof RotationConflict) throw error;
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

/** The keys an old declaration gave itself (check() sees old inputs: hub-generated keys are not among them). */
function declaredKeys(authentication: unknown): RotationState["keys"] {
  if (!declaresKeys(authentication)) return undefined;
  const { primaryKey, secondaryKey } = authentication as { primaryKey: string; secondaryKey: string };
  return { primaryKey, secondaryKey };
}

/** A rotation the hub refused because the identity changed since the state was written (its own message says so). */
class RotationConflict extends Error {}
