import { z } from "zod";
import type { RuleViolation } from "../../lib/iothub/rules";
import { closedObject, dottedPath, schemaViolations } from "../schemaViolations";

/** Operation classes the providers pace separately, named as the local hub's quota classes (IoT Hub's throttles). */
export const PACED_OPERATION_CLASSES = ["registry", "twinRead", "twinUpdate", "configurations"] as const;
export type OperationClass = (typeof PACED_OPERATION_CLASSES)[number];

const POSITIVE = "must be a positive number";
const positiveNumber = z.number({ invalid_type_error: POSITIVE }).finite(POSITIVE).positive(POSITIVE);

const CALL_COUNT = "must be a whole number of at least 1";
const callCount = z.number({ invalid_type_error: CALL_COUNT }).int(CALL_COUNT).min(1, CALL_COUNT);

/** A number for every operation class of a hub, or one per class (`{registry, twinRead, twinUpdate, configurations}`). */
function perOperationClass(value: z.ZodNumber, rule: string) {
  const perClass = closedObject(
    Object.fromEntries(PACED_OPERATION_CLASSES.map((name) => [name, value.optional()])) as Record<
      OperationClass,
      z.ZodOptional<z.ZodNumber>
    >,
  );
  const message = `${rule}, or an object of such numbers by operation class (${PACED_OPERATION_CLASSES.join(", ")})`;
  return z.union([value, perClass], {
    errorMap: (issue, context) => ({
      message: issue.code === z.ZodIssueCode.invalid_union ? message : context.defaultError,
    }),
  });
}

/**
 * How the registry providers treat a hub that throttles or fails: the optional `registry` argument of every
 * registry resource, and the stack config's `iothub-provisioner:registry`. This schema is the one definition of
 * the options: the stack config embeds it and the providers' check() runs it (checkProviderOptions), so an option
 * is added here and nowhere else. Plain numbers, so it is safe to keep in state.
 */
export const registryProviderOptionsSchema = closedObject({
  /**
   * Calls per second this provider process makes to one hub. A number paces all calls to the hub with one limiter;
   * an object paces each operation class on its own (IoT Hub throttles them separately, e.g. S1: registry 100/min
   * = 1.67/s, twinRead 100/s, twinUpdate 50/s, configurations 20/min). Unset: no pacing (throttled calls are still
   * retried).
   */
  opsPerSecond: perOperationClass(positiveNumber, POSITIVE).optional(),
  /**
   * Calls a limiter may make ahead of its rate after a quiet spell (default 1: none), shaped like `opsPerSecond`.
   * IoT Hub's buckets hold one period's worth (S1 registry: 100), so matching it uses the whole quota.
   */
  burst: perOperationClass(callCount, CALL_COUNT).optional(),
  /** Attempts per call, the first included (default 10). */
  maxAttempts: positiveNumber.optional(),
  /** Time budget per call across all its attempts, in milliseconds (default 300000). */
  maxRetryTimeMs: positiveNumber.optional(),
  /** First backoff, in milliseconds; doubled on each retry, with full jitter (default 200). */
  baseDelayMs: positiveNumber.optional(),
  /** Largest backoff, in milliseconds (default 15000). */
  maxDelayMs: positiveNumber.optional(),
  /** A call not answered within this many milliseconds counts as a timeout and is retried (default 30000). */
  requestTimeoutMs: positiveNumber.optional(),
  /**
   * auth entra: how long, in milliseconds, a call the hub refuses with 401/403 is tried again, waiting for a fresh
   * role assignment to be effective (IoT Hub takes minutes), before failing with the role that is missing
   * (default 300000).
   */
  authorizationWaitMs: positiveNumber.optional(),
});

export type RegistryProviderOptions = z.infer<typeof registryProviderOptionsSchema>;

export interface ResolvedRetryOptions {
  maxAttempts: number;
  maxRetryTimeMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
  requestTimeoutMs: number;
}

export function resolveRetryOptions(options: RegistryProviderOptions | undefined): ResolvedRetryOptions {
  return {
    maxAttempts: options?.maxAttempts ?? 10,
    maxRetryTimeMs: options?.maxRetryTimeMs ?? 300_000,
    baseDelayMs: options?.baseDelayMs ?? 200,
    maxDelayMs: options?.maxDelayMs ?? 15_000,
    requestTimeoutMs: options?.requestTimeoutMs ?? 30_000,
  };
}

/** How long auth entra waits for a role assignment to be effective (see `authorizationWaitMs`). */
export function resolveAuthorizationWaitMs(options: RegistryProviderOptions | undefined): number {
  return options?.authorizationWaitMs ?? 300_000;
}

/** The pace for one operation class: undefined = unpaced. `shared` = one limiter for every class of the hub. */
export function paceFor(
  options: RegistryProviderOptions | undefined,
  operation: OperationClass,
): { limiterName: string; opsPerSecond: number; burst: number } | undefined {
  const pace = options?.opsPerSecond;
  if (pace === undefined) return undefined;
  const burst = options?.burst;
  if (typeof pace === "number") {
    return { limiterName: "all", opsPerSecond: pace, burst: typeof burst === "number" ? burst : 1 };
  }
  const rate = pace[operation];
  if (rate === undefined) return undefined;
  return {
    limiterName: operation,
    opsPerSecond: rate,
    burst: (typeof burst === "number" ? burst : burst?.[operation]) ?? 1,
  };
}

/**
 * Violations of the options themselves, checked in check() like every other input; `field` names them
 * (`registry.opsPerSecond`). Absent (undefined or null) options are the defaults.
 */
export function checkProviderOptions(options: unknown, field = "registry"): RuleViolation[] {
  if (options === undefined || options === null) return [];
  return schemaViolations(registryProviderOptionsSchema, options, (path) => dottedPath([field, ...path]));
}
