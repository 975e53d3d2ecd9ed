import { createCipheriv, createHash, randomBytes } from "node:crypto";
import * as path from "node:path";

/**
 * A stack's state as `pulumi stack export` writes it (apitype.UntypedDeployment with a DeploymentV3: version 3,
 * deployment.manifest, .secrets_providers, .resources[] of ResourceV3), so a benchmark can tell what a stack of its
 * resources costs in state. The shapes are those of pulumi/pulumi's sdk/go/common/apitype (core.go and the JSON
 * schemas deployments.json, resources.json, property-values.json); how values land there is
 * pkg/resource/stack/deployment.go's (SerializeResource, SerializePropertyValue).
 */

/** The key marking a special property value (secret, asset, ...), and the value that says "secret". */
export const SIGNATURE_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIGNATURE = "1b47061264138c4ac30d75fd1eb44270";

/** A secret as the state holds it: the JSON text of its value, encrypted by the stack's secrets provider. */
export interface SecretV1 {
  [SIGNATURE_KEY]: typeof SECRET_SIGNATURE;
  ciphertext: string;
}

/** A stack frame as the state holds it: `project:///<path in the project>#line,column`, or {} when unknown. */
export interface StackFrameV1 {
  sourcePosition?: string;
}

/** The ResourceV3 fields a program's resources use (every other field is omitted when empty, as Go does). */
export interface ResourceV3 {
  urn: string;
  custom: boolean;
  id?: string;
  type: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  parent?: string;
  dependencies?: string[];
  provider?: string;
  propertyDependencies?: Record<string, string[]>;
  additionalSecretOutputs?: string[];
  created?: string;
  modified?: string;
  sourcePosition?: string;
  stackTrace?: StackFrameV1[];
}

export interface DeploymentV3 {
  manifest: { time: string; magic: string; version: string };
  secrets_providers?: { type: string; state: unknown };
  resources: ResourceV3[];
}

/** What `pulumi stack export` prints. */
export interface UntypedDeployment {
  version: 3;
  deployment: DeploymentV3;
}

/** Encrypts a secret's plaintext the way a secrets provider does, and the provider's entry in the state. */
export interface SecretsEncrypter {
  encrypt(plaintext: string): string;
  secretsProvider: { type: string; state: unknown };
}

/**
 * The passphrase secrets provider's encryption (sdk/go/common/resource/config/crypt.go, symmetricCrypter):
 * AES-256-GCM, a random 12-byte nonce per value, `v1:<base64 nonce>:<base64 ciphertext and tag>`. The key here is
 * random instead of PBKDF2 of a passphrase (1,000,000 rounds): the ciphertexts have the same size, which is what a
 * benchmark measures. The salt state holds `pulumi` encrypted, as the provider's own check value.
 */
export function passphraseEncrypter(key: Buffer = randomBytes(32)): SecretsEncrypter {
  const encrypt = (plaintext: string): string => {
    const nonce = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", key, nonce);
    const sealed = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
    return `v1:${nonce.toString("base64")}:${sealed.toString("base64")}`;
  };
  return {
    encrypt,
    secretsProvider: {
      type: "passphrase",
      state: { salt: `v1:${randomBytes(8).toString("base64")}:${encrypt("pulumi")}` },
    },
  };
}

/**
 * A resource's URN: `urn:pulumi:<stack>::<project>::<qualified type>::<name>`, where the qualified type is the
 * parent's qualified type, `$`, and the resource's type, except under the root stack resource (whose own type is
 * left out).
 */
export function resourceUrn(
  stack: string,
  project: string,
  parentUrn: string | undefined,
  type: string,
  name: string,
): string {
  const parentType = parentUrn?.split("::")[2];
  const qualified = parentType && parentType !== STACK_TYPE ? `${parentType}$${type}` : type;
  return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
}

export const STACK_TYPE = "pulumi:pulumi:Stack";

/** The root stack resource's name: `<project>-<stack>`. */
export const stackResourceName = (project: string, stack: string): string => `${project}-${stack}`;

/** A provider reference, as a resource's `provider` field holds it: the provider's URN and id. */
export const providerReference = (providerUrn: string, providerId: string): string =>
  `${providerUrn}::${providerId}`;

/**
 * Properties as the state holds them: `secretKeys` become SecretV1 (the JSON text of the value, encrypted, as
 * SerializePropertyValue does); everything else as it is.
 */
export function stateProperties(
  values: Record<string, unknown>,
  secretKeys: ReadonlySet<string>,
  encrypter: SecretsEncrypter,
): Record<string, unknown> {
  const state: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) continue;
    state[key] = secretKeys.has(key) ? secretValue(value, encrypter) : value;
  }
  return state;
}

export function secretValue(value: unknown, encrypter: SecretsEncrypter): SecretV1 {
  return { [SIGNATURE_KEY]: SECRET_SIGNATURE, ciphertext: encrypter.encrypt(JSON.stringify(value)) };
}

/** A source position as the language SDK sends it: a file URL, a line and a column. */
export interface SdkSourcePosition {
  uri: string;
  line: number;
  column: number;
}

/** A source position the language SDK sent, as the engine stores it: relative to the project. */
export function projectSourcePosition(
  projectRoot: string,
  position: SdkSourcePosition | undefined,
): string | undefined {
  if (!position?.uri.startsWith("file://")) return undefined;
  const relative = path.relative(projectRoot, new URL(position.uri).pathname).split(path.sep).join("/");
  return `project:///${relative}#${position.line}${position.column ? `,${position.column}` : ""}`;
}

/** The deployment `pulumi stack export` would print for these resources, made by engine `version` at `time`. */
export function exportedDeployment(
  resources: ResourceV3[],
  encrypter: SecretsEncrypter,
  engine: { version: string; time: Date },
): UntypedDeployment {
  return {
    version: 3,
    deployment: {
      manifest: {
        time: engine.time.toISOString(),
        // deploy.Manifest's magic: the SHA-256 of the engine version, in hex.
        magic: createHash("sha256").update(engine.version).digest("hex"),
        version: engine.version,
      },
      secrets_providers: encrypter.secretsProvider,
      resources,
    },
  };
}

/**
 * The text `pulumi stack export` writes: Go's json.Encoder with a four-space indent and its default HTML escaping
 * (`<`, `>`, `&`, U+2028 and U+2029 as \uXXXX, which occur only inside strings), and a final newline.
 */
export function exportedText(deployment: UntypedDeployment): string {
  return (
    JSON.stringify(deployment, null, 4).replace(
      /[<>&\u2028\u2029]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
    ) + "\n"
  );
}

/** What the engine keeps of a resource's registration by the program (bench/support/programRegistrations.ts). */
export interface RegisteredResource {
  type: string;
  name: string;
  /** The parent's URN; "" for a child of the root stack. */
  parent: string;
  dependencies: string[];
  propertyDependencies: Record<string, string[]>;
  additionalSecretOutputs: string[];
  /** Inputs the program marked secret. */
  secretInputs: string[];
  sourcePosition?: SdkSourcePosition;
  /** Innermost frame first; undefined where the SDK could not place a frame (the engine stores {}). */
  stackTrace: (SdkSourcePosition | undefined)[];
}

/** The stack a checkpoint is of, and the default provider its custom resources reference. */
export interface StackIdentity {
  stack: string;
  project: string;
  /** The project directory: source positions are stored relative to it. */
  projectRoot: string;
  /** The default provider's id (a UUID the engine assigns). */
  providerId: string;
}

export const stackUrn = (s: StackIdentity): string =>
  resourceUrn(s.stack, s.project, undefined, STACK_TYPE, stackResourceName(s.project, s.stack));

/** The default provider of dynamic resources, `pulumi:providers:pulumi-nodejs::default`. */
export const DYNAMIC_PROVIDER_TYPE = "pulumi:providers:pulumi-nodejs";
export const dynamicProviderUrn = (s: StackIdentity): string =>
  resourceUrn(s.stack, s.project, undefined, DYNAMIC_PROVIDER_TYPE, "default");

/** The root stack resource and the default dynamic provider, which every stack of dynamic resources holds. */
export function stackResources(s: StackIdentity, time: string): ResourceV3[] {
  return [
    { urn: stackUrn(s), custom: false, type: STACK_TYPE, created: time, modified: time },
    {
      urn: dynamicProviderUrn(s),
      custom: true,
      id: s.providerId,
      type: DYNAMIC_PROVIDER_TYPE,
      created: time,
      modified: time,
    },
  ];
}

/** The URN the engine gives a registration (its parent "" is the root stack). */
export const registeredUrn = (s: StackIdentity, registration: RegisteredResource): string =>
  resourceUrn(s.stack, s.project, registration.parent || stackUrn(s), registration.type, registration.name);

function registrationFields(s: StackIdentity, registration: RegisteredResource) {
  return {
    sourcePosition: projectSourcePosition(s.projectRoot, registration.sourcePosition),
    stackTrace: registration.stackTrace.map((frame) => {
      const sourcePosition = projectSourcePosition(s.projectRoot, frame);
      return sourcePosition ? { sourcePosition } : {};
    }),
  };
}

/** A component resource's entry (no provider, no inputs or outputs of its own here). */
export function componentState(s: StackIdentity, registration: RegisteredResource, time: string): ResourceV3 {
  return {
    urn: registeredUrn(s, registration),
    custom: false,
    type: registration.type,
    parent: registration.parent || stackUrn(s),
    created: time,
    modified: time,
    ...registrationFields(s, registration),
  };
}

/**
 * A custom resource's entry after its create: the checked inputs and the provider's outputs, each secret where the
 * engine makes it one (inputs the program marked; outputs named in additionalSecretOutputs or whose input of the
 * same name was secret), with the registration's parent, dependencies and source position.
 */
export function customResourceState(
  s: StackIdentity,
  registration: RegisteredResource,
  step: { id: string; inputs: Record<string, unknown>; outputs: Record<string, unknown> },
  encrypter: SecretsEncrypter,
  time: string,
): ResourceV3 {
  const secretInputs = new Set(registration.secretInputs);
  const secretOutputs = new Set([...registration.secretInputs, ...registration.additionalSecretOutputs]);
  return {
    urn: registeredUrn(s, registration),
    custom: true,
    id: step.id,
    type: registration.type,
    inputs: stateProperties(step.inputs, secretInputs, encrypter),
    outputs: stateProperties(step.outputs, secretOutputs, encrypter),
    parent: registration.parent || stackUrn(s),
    ...(registration.dependencies.length > 0 && { dependencies: registration.dependencies }),
    provider: providerReference(dynamicProviderUrn(s), s.providerId),
    propertyDependencies: registration.propertyDependencies,
    ...(registration.additionalSecretOutputs.length > 0 && {
      additionalSecretOutputs: registration.additionalSecretOutputs,
    }),
    created: time,
    modified: time,
    ...registrationFields(s, registration),
  };
}
