/**
 * Runs the Pulumi program (index.ts) under pulumi.runtime.setMocks with a given stack config, the way
 * `pulumi up` would run it, and returns what it registered and exported. Each run loads a fresh copy of
 * @pulumi/pulumi and the program (jest.isolateModules), so runs do not share runtime state.
 */
import * as path from "node:path";
import type * as PulumiModule from "@pulumi/pulumi";

export const PROJECT_DIR = path.resolve(__dirname, "../../..");
export const PROJECT_NAME = "iothub-provisioner";

/** The engine's marker of a secret value, as mocks receive secret inputs. */
export const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export interface Registration {
  type: string;
  name: string;
  /** As the engine receives them: secrets are `{[SECRET_SIG_KEY]: SECRET_SIG, value}`. */
  inputs: Record<string, unknown>;
  /** The outputs the resource asks the engine to keep secret (encrypted in state) besides secret inputs. */
  additionalSecretOutputs: string[];
  /** Whether a replacement deletes the old resource first. */
  deleteBeforeReplace: boolean;
  /** The URNs of the resources it waits for (`dependsOn` and the resources its inputs come from). */
  dependencies: string[];
}

/** The parts of the engine's RegisterResourceRequest the runner reads. */
interface RegisterRequest {
  getType(): string;
  getName(): string;
  getAdditionalsecretoutputsList(): string[];
  getDeletebeforereplace(): boolean;
  getDependenciesList(): string[];
}

export interface MockEngine {
  newResource(
    args: PulumiModule.runtime.MockResourceArgs,
  ): Promise<{ id: string | undefined; state: Record<string, unknown> }>;
  call(args: PulumiModule.runtime.MockCallArgs): Record<string, unknown> | Promise<Record<string, unknown>>;
}

export interface ProgramRun {
  /** Every resource the program registered, in registration order. */
  registrations: Registration[];
  /** The stack outputs, resolved to plain values. */
  outputs: Record<string, unknown>;
  /** Which stack outputs (top-level, and entries' like `modules[i].connectionString`) are secret. */
  secretOutputs: string[];
}

/** Config values as `pulumi config set` stores them: strings, structured values as JSON. */
function configStrings(config: Record<string, unknown>): Record<string, string> {
  const strings: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    strings[key.includes(":") ? key : `${PROJECT_NAME}:${key}`] =
      typeof value === "string" ? value : JSON.stringify(value);
  }
  return strings;
}

export function isSecretInput(value: unknown): value is { value: unknown } {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG
  );
}

/** True when `needle` occurs in `value` anywhere outside a secret wrapper (a key the engine would hold in clear). */
export function appearsInClear(value: unknown, needle: string): boolean {
  if (isSecretInput(value)) return false;
  if (typeof value === "string") return value.includes(needle);
  if (Array.isArray(value)) return value.some((item) => appearsInClear(item, needle));
  if (value !== null && typeof value === "object") {
    return Object.values(value).some((item) => appearsInClear(item, needle));
  }
  return false;
}

/** The one registration of `type` (the test fails unless there is exactly one). */
export function onlyRegistration(registrations: Registration[], type: string): Registration {
  const found = registrations.filter((registration) => registration.type === type);
  expect(found).toHaveLength(1);
  return found[0];
}

/** Inputs with secrets unwrapped: what a provider receives from the engine. */
export function plainInputs(value: unknown): unknown {
  if (isSecretInput(value)) return plainInputs(value.value);
  if (Array.isArray(value)) return value.map(plainInputs);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, plainInputs(item)]));
  }
  return value;
}

/**
 * Runs index.ts with `config` (keys with or without the `iothub-provisioner:` prefix) on stack `stack`.
 * Rejects with the program's error when it throws (e.g. an invalid config) or when a resource fails.
 */
export async function runProgram(options: {
  stack: string;
  config: Record<string, unknown>;
  secretKeys?: string[];
  engine: MockEngine;
  /** `pulumi preview`: outputs the engine does not return stay unknown, so only the registrations are returned. */
  preview?: boolean;
}): Promise<ProgramRun> {
  const registrations: Registration[] = [];
  const registrationOptions = new Map<
    string,
    { additionalSecretOutputs: string[]; deleteBeforeReplace: boolean; dependencies: string[] }
  >();
  const failures: unknown[] = [];
  let onFailure: (error: unknown) => void = () => undefined;
  // A failed resource never resolves the outputs that depend on it: its error ends the run instead.
  const failed = new Promise<never>((_, reject) => (onFailure = reject));
  failed.catch(() => undefined);
  let inFlight = 0;
  let settled: () => void = () => undefined;

  const mocks: PulumiModule.runtime.Mocks = {
    async newResource(args) {
      registrations.push({
        type: args.type,
        name: args.name,
        inputs: args.inputs as Record<string, unknown>,
        additionalSecretOutputs:
          registrationOptions.get(`${args.type}::${args.name}`)?.additionalSecretOutputs ?? [],
        deleteBeforeReplace:
          registrationOptions.get(`${args.type}::${args.name}`)?.deleteBeforeReplace ?? false,
        dependencies: registrationOptions.get(`${args.type}::${args.name}`)?.dependencies ?? [],
      });
      inFlight++;
      try {
        const result = await options.engine.newResource(args);
        return { id: result.id, state: result.state };
      } catch (error) {
        failures.push(error);
        onFailure(error);
        throw error;
      } finally {
        inFlight--;
        settled();
      }
    },
    call: (args) => options.engine.call(args),
  };

  let pulumi!: typeof PulumiModule;
  let program!: Record<string, unknown>;
  let waitForRPCs!: () => Promise<void>;
  jest.isolateModules(() => {
    pulumi = require("@pulumi/pulumi") as typeof PulumiModule;
    // internal, but what the Pulumi runtime itself awaits before a program ends
    ({ waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> });
    void pulumi.runtime.setMocks(mocks, PROJECT_NAME, options.stack, options.preview ?? false);
    // The mock monitor drops the registration options the engine honours (secret outputs, replacement order): record them.
    const monitor = pulumi.runtime.getMonitor() as unknown as {
      registerResource(request: RegisterRequest, callback: unknown): void;
    };
    const registerResource = monitor.registerResource.bind(monitor);
    monitor.registerResource = (request, callback) => {
      registrationOptions.set(`${request.getType()}::${request.getName()}`, {
        additionalSecretOutputs: request.getAdditionalsecretoutputsList(),
        deleteBeforeReplace: request.getDeletebeforereplace(),
        dependencies: request.getDependenciesList(),
      });
      registerResource(request, callback);
    };
    pulumi.runtime.setAllConfig(
      configStrings(options.config),
      (options.secretKeys ?? []).map((key) => (key.includes(":") ? key : `${PROJECT_NAME}:${key}`)),
    );
    program = require("../../../index") as Record<string, unknown>;
  });

  if (options.preview) {
    // Unknown outputs never resolve: the run is over when every registration has been answered.
    await Promise.race([waitForRPCs(), failed]);
    return { registrations, outputs: {}, secretOutputs: [] };
  }

  const exported = Object.fromEntries(
    Object.entries(program).filter(([, value]) => value !== undefined && typeof value !== "function"),
  );
  const outputs = await Promise.race([
    new Promise<Record<string, unknown>>((resolve) =>
      pulumi.output(exported).apply((value) => resolve(value as Record<string, unknown>)),
    ),
    failed,
  ]);

  // Resources that no output depends on (twins) may still be in flight: wait for every registration to finish.
  while (inFlight > 0) await new Promise<void>((resolve) => (settled = resolve));
  await new Promise((resolve) => setImmediate(resolve));
  while (inFlight > 0) await new Promise<void>((resolve) => (settled = resolve));
  if (failures.length > 0) throw failures[0];

  const secretOutputs: string[] = [];
  for (const [key, value] of Object.entries(exported)) {
    if (pulumi.Output.isInstance(value) && (await pulumi.isSecret(value))) secretOutputs.push(key);
  }
  for (const list of ["modules", "deployments", "configurations"]) {
    const entries = program[list] as Array<Record<string, unknown>> | undefined;
    for (const [index, entry] of (entries ?? []).entries()) {
      for (const [key, value] of Object.entries(entry)) {
        if (pulumi.Output.isInstance(value) && (await pulumi.isSecret(value))) {
          secretOutputs.push(`${list}[${index}].${key}`);
        }
      }
    }
  }
  return { registrations, outputs, secretOutputs };
}
