/** Operation classes the providers pace separately, named as the local hub's quota classes (IoT Hub's throttles). */
export type OperationClass = "registry" | "twinRead" | "twinUpdate";

/**
 * How the registry providers treat a hub that throttles or fails. Accepted as the optional `registry` argument of
 * every registry resource; plain numbers, so it is safe to keep in state.
 */
export interface RegistryProviderOptions {
  /**
   * Calls per second this provider process makes to one hub. A number paces all calls to the hub with one limiter;
   * an object paces each operation class on its own (IoT Hub throttles them separately, e.g. S1: registry 100/min
   * = 1.67/s, twinRead 100/s, twinUpdate 50/s). Unset: no pacing (throttled calls are still retried).
   */
  opsPerSecond?: number | Partial<Record<OperationClass, number>>;
  /**
   * Calls a limiter may make ahead of its rate after a quiet spell (default 1: none), shaped like `opsPerSecond`.
   * IoT Hub's buckets hold one period's worth (S1 registry: 100), so matching it uses the whole quota.
   */
  burst?: number | Partial<Record<OperationClass, number>>;
  /** Attempts per call, the first included (default 10). */
  maxAttempts?: number;
  /** Time budget per call across all its attempts, in milliseconds (default 300000). */
  maxRetryTimeMs?: number;
  /** First backoff, in milliseconds; doubled on each retry, with full jitter (default 200). */
  baseDelayMs?: number;
  /** Largest backoff, in milliseconds (default 15000). */
  maxDelayMs?: number;
  /** A call not answered within this many milliseconds counts as a timeout and is retried (default 30000). */
  requestTimeoutMs?: number;
}

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

/** Violations of the options themselves, checked in check() like every other input. */
export function checkProviderOptions(
  options: unknown,
  field = "registry",
): { field: string; rule: string }[] {
  if (options === undefined || options === null) return [];
  if (typeof options !== "object" || Array.isArray(options)) return [{ field, rule: "must be an object" }];
  const violations: { field: string; rule: string }[] = [];
  const positive = (value: unknown, name: string): void => {
    if (value !== undefined && (typeof value !== "number" || !Number.isFinite(value) || value <= 0)) {
      violations.push({ field: `${field}.${name}`, rule: "must be a positive number" });
    }
  };
  const given = options as Record<string, unknown>;
  for (const name of ["maxAttempts", "maxRetryTimeMs", "baseDelayMs", "maxDelayMs", "requestTimeoutMs"]) {
    positive(given[name], name);
  }
  const pace = given.opsPerSecond;
  if (typeof pace === "object" && pace !== null) {
    for (const [name, value] of Object.entries(pace)) {
      if (!["registry", "twinRead", "twinUpdate"].includes(name)) {
        violations.push({
          field: `${field}.opsPerSecond.${name}`,
          rule: "must be registry, twinRead or twinUpdate",
        });
      } else positive(value, `opsPerSecond.${name}`);
    }
  } else positive(pace, "opsPerSecond");
  return violations;
}
