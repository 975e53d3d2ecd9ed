import { isCredentialError } from "../lib/iothub/entraCredential";
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { ModuleClient, Twin } from "azure-iot-device";
import type { Registry } from "azure-iothub";
import { diagnoseConnectFailure } from "./connectDiagnosis";
import { compareDesired, describeMismatch } from "./desired";
import { describeError, StepTimeoutError, withTimeout, type Failure, type StepName } from "./failures";
import { closeQuietly, listenForDesiredPatches, openModuleClient } from "./moduleClient";
import type { ModuleOutput } from "./outputs";
import { patchModuleDesired } from "./serviceTwin";

/** The reported property a verified module carries afterwards. */
export const VERIFIED_REPORTED_PROPERTY = "provisionerVerify";
/** The desired property set and removed again for the live round trip. */
export const CANARY_DESIRED_PROPERTY = "provisionerVerifyCanary";

export interface ModuleResult {
  deviceId: string;
  moduleId: string;
  /** Which of the module's connection strings was checked; only set with `--all-keys`. */
  key?: "active" | "previous";
  ok: boolean;
  /** Steps that completed, in order. */
  passedSteps: StepName[];
  failure?: Failure;
  /** Service-side canary write to the module's receipt of the patch, in milliseconds. */
  roundTripMs?: number;
  durationMs: number;
}

export interface CheckContext {
  registry: Registry;
  caPem?: string;
  trustDescription: string;
  timeoutSeconds: number;
}

class StepFailure extends Error {
  constructor(readonly failure: Failure) {
    super(failure.message);
  }
}

/**
 * One module, end to end, as the module itself sees it: connect over MQTT, read the twin, check the declared
 * desired properties, report that it was verified, then prove the live path with a canary patch.
 */
export async function checkModule(module: ModuleOutput, context: CheckContext): Promise<ModuleResult> {
  const started = performance.now();
  const passedSteps: StepName[] = [];
  const result = (failure?: Failure, roundTripMs?: number): ModuleResult => ({
    deviceId: module.deviceId,
    moduleId: module.moduleId,
    ok: failure === undefined,
    passedSteps,
    failure,
    roundTripMs,
    durationMs: performance.now() - started,
  });
  let running: StepName = "connect";
  const step = async <T>(name: StepName, work: () => Promise<T>): Promise<T> => {
    running = name;
    const value = await work();
    passedSteps.push(name);
    return value;
  };

  let client: ModuleClient | undefined;
  let canarySet = false;
  try {
    client = await step("connect", () => connect(module, context));
    const twin = await step("readTwin", () => readTwin(client!, context.timeoutSeconds));
    await step("checkDesired", async () => checkDesired(module, twin));
    await step("report", () => report(twin, context.timeoutSeconds));
    const roundTripMs = await step("roundTrip", () =>
      roundTrip(module, twin, context, () => (canarySet = true)),
    );
    await step("cleanup", () => removeCanary(module, context));
    canarySet = false;
    return result(undefined, roundTripMs);
  } catch (error) {
    if (error instanceof StepFailure) return result(error.failure);
    // Anything else is still this module's failure: one surprise must not abort the other modules' checks.
    return result({
      kind: "unexpected-error",
      step: running,
      message: `unexpected error: ${describeError(error)}`,
    });
  } finally {
    // A failed round trip must not leave the canary behind in the module's desired properties.
    if (canarySet) await removeCanary(module, context).catch(() => undefined);
    await closeQuietly(client, context.timeoutSeconds);
  }
}

async function connect(module: ModuleOutput, context: CheckContext): Promise<ModuleClient> {
  const opening = openModuleClient(module.connectionString, context.caPem);
  try {
    return await withTimeout(opening, context.timeoutSeconds);
  } catch (error) {
    // A client that opens after we gave up must not stay connected.
    opening.then((late) => closeQuietly(late, context.timeoutSeconds)).catch(() => undefined);
    throw new StepFailure(
      await diagnoseConnectFailure({
        deviceId: module.deviceId,
        moduleId: module.moduleId,
        connectionString: module.connectionString,
        caPem: context.caPem,
        trustDescription: context.trustDescription,
        registry: context.registry,
        timeoutSeconds: context.timeoutSeconds,
        clientError: error,
        timedOut: error instanceof StepTimeoutError,
      }),
    );
  }
}

async function readTwin(client: ModuleClient, timeoutSeconds: number): Promise<Twin> {
  try {
    return await withTimeout(client.getTwin(), timeoutSeconds);
  } catch (error) {
    throw new StepFailure({
      kind: "twin-read-failed",
      step: "readTwin",
      message: `twin read failed: the module connected but could not read its twin (${describeError(error)})`,
    });
  }
}

function checkDesired(module: ModuleOutput, twin: Twin): void {
  const mismatches = compareDesired(module.desired, twin.properties.desired);
  if (mismatches.length === 0) return;
  throw new StepFailure({
    kind: "desired-mismatch",
    step: "checkDesired",
    message:
      `desired mismatch: ${mismatches.map(describeMismatch).join("; ")}. Another writer changed the declared ` +
      "keys, or the outputs are stale: run `pulumi up` to set them again (`pulumi preview --refresh` shows the drift).",
    mismatches,
  });
}

async function report(twin: Twin, timeoutSeconds: number): Promise<void> {
  const patch = {
    [VERIFIED_REPORTED_PROPERTY]: {
      status: "verified",
      at: new Date().toISOString(),
      desiredVersion: twin.properties.desired.$version ?? null,
    },
  };
  try {
    await withTimeout(
      new Promise<void>((resolve, reject) =>
        twin.properties.reported.update(patch, (error?: Error) => (error ? reject(error) : resolve())),
      ),
      timeoutSeconds,
    );
  } catch (error) {
    throw new StepFailure({
      kind: "report-failed",
      step: "report",
      message: `reporting failed: the hub did not accept the reported property ${VERIFIED_REPORTED_PROPERTY} (${describeError(error)})`,
    });
  }
}

/** Sets a fresh canary with the service SDK and waits for the module to receive exactly that patch. */
async function roundTrip(
  module: ModuleOutput,
  twin: Twin,
  context: CheckContext,
  onCanarySet: () => void,
): Promise<number> {
  const nonce = randomUUID();
  let sentAt = 0;
  let resolveReceived: (receivedAt: number) => void = () => undefined;
  const received = new Promise<number>((resolve) => (resolveReceived = resolve));
  try {
    await withTimeout(
      listenForDesiredPatches(twin, (patch) => {
        if (patch[CANARY_DESIRED_PROPERTY] === nonce) resolveReceived(performance.now());
      }),
      context.timeoutSeconds,
    );
  } catch (error) {
    throw new StepFailure({
      kind: "subscribe-failed",
      step: "roundTrip",
      message: `desired patch subscription failed: the module could not subscribe to desired-property patches (${describeError(error)})`,
    });
  }
  try {
    sentAt = performance.now();
    const canary = { [CANARY_DESIRED_PROPERTY]: nonce };
    await withTimeout(
      patchModuleDesired(context.registry, module.deviceId, module.moduleId, canary, context.timeoutSeconds),
      context.timeoutSeconds,
    );
    onCanarySet();
  } catch (error) {
    throw new StepFailure({
      kind: "canary-set-failed",
      step: "roundTrip",
      message: `canary not set: the service SDK could not update ${module.deviceId}/${module.moduleId}'s desired properties (${describeError(error)}). ${serviceRefusalNextStep(error)}`,
    });
  }
  try {
    return (await withTimeout(received, context.timeoutSeconds)) - sentAt;
  } catch {
    throw new StepFailure({
      kind: "patch-timeout",
      step: "roundTrip",
      message:
        `patch not received within ${context.timeoutSeconds} s: the hub accepted the canary desired property ` +
        `${CANARY_DESIRED_PROPERTY} but the module never got the patch: desired updates do not reach this module. ` +
        "Run again with a larger --timeout; if it persists, the hub does not push desired patches to the module " +
        "(on the local hub, `iothub-local fault list` shows an armed desiredPush fault).",
    });
  }
}

/**
 * What to do about a refused service call. The hub's 401 says which check failed: a policy that lacks the right
 * ("the policy 'x' does not grant ServiceConnect") or a token it could not verify ("invalid SAS token": its
 * signature does not match the policy's key). Other errors get the general advice.
 */
function serviceRefusalNextStep(error: unknown): string {
  const text = describeError(error);
  // auth entra: the credential got no token, or the hub refused its principal.
  if (isCredentialError(error)) {
    return (
      "The Microsoft Entra credential got no token: check the principal's client id and tenant in the outputs " +
      "and its secret in AZURE_CLIENT_SECRET (on Azure: `az login`, or the pipeline's workload identity)."
    );
  }
  if (/Microsoft Entra|principal '/.test(text)) {
    return (
      "The hub refused the stack's Microsoft Entra principal: the canary patch needs the data action " +
      "Microsoft.Devices/IotHubs/twins/write, which IoT Hub Twin Contributor grants, at the hub's scope."
    );
  }
  const missingRight = /does not grant (\w+)/.exec(text);
  if (missingRight) {
    return `The service connection string's policy lacks ${missingRight[1]}: use a policy with ServiceConnect and RegistryRead or RegistryWrite (the provisioner policy has both).`;
  }
  if (error instanceof Error && error.name === "UnauthorizedError") {
    return (
      "The hub could not verify the service connection string's SAS token: its signature did not match, so the " +
      "SharedAccessKey is not the key of the policy it names on this hub (keys regenerated, or the outputs are " +
      "stale). Read the outputs again after `pulumi up`, or take the policy's current connection string."
    );
  }
  return "Is the hub reachable, and does the service policy have ServiceConnect?";
}

async function removeCanary(module: ModuleOutput, context: CheckContext): Promise<void> {
  try {
    const removal = { [CANARY_DESIRED_PROPERTY]: null };
    await withTimeout(
      patchModuleDesired(context.registry, module.deviceId, module.moduleId, removal, context.timeoutSeconds),
      context.timeoutSeconds,
    );
  } catch (error) {
    throw new StepFailure({
      kind: "canary-remove-failed",
      step: "cleanup",
      message: `canary left behind: could not remove the desired property ${CANARY_DESIRED_PROPERTY} (${describeError(error)})`,
    });
  }
}
