import { isNetworkFailure, isRetryable, RequestTimeoutError } from "./errors";
import type { ResolvedRetryOptions } from "./options";

/** What a retried call went through, for callers that must tell "applied twice" from "refused" (see create). */
export interface RetryReport {
  attempts: number;
  /** True when an earlier attempt failed in a way that may have reached the hub (reset, timeout). */
  ambiguousFailure: boolean;
}

/**
 * Runs `call` until it succeeds, fails with an error that is not transient, or the budget (attempts and time)
 * is spent. Backoff is exponential with full jitter, so the many resources the engine runs at once do not retry
 * in lockstep. Each attempt gets a timeout: a hub that never answers counts as a transient failure. `gate`, when
 * given, is awaited before each attempt (outside its timeout).
 */
export async function withRetry<T>(
  call: (report: RetryReport) => Promise<T>,
  options: ResolvedRetryOptions,
  isTransient: (error: unknown) => boolean = isRetryable,
  gate?: () => Promise<void>,
): Promise<T> {
  const started = Date.now();
  const report: RetryReport = { attempts: 0, ambiguousFailure: false };
  for (;;) {
    report.attempts += 1;
    // The gate (the pacer) is waited for outside the timeout: a call queued behind a slow pace has not been sent,
    // and timing it out would send it twice.
    await gate?.();
    try {
      return await withTimeout(call(report), options.requestTimeoutMs);
    } catch (error) {
      const delay = backoffDelay(report.attempts, options);
      const outOfBudget =
        report.attempts >= options.maxAttempts || Date.now() - started + delay > options.maxRetryTimeMs;
      if (!isTransient(error) || outOfBudget) throw error;
      if (isNetworkFailure(error)) report.ambiguousFailure = true;
      await wait(delay);
    }
  }
}

/** Full jitter: uniform in [0, min(max, base * 2^(attempt-1))]. */
function backoffDelay(attempt: number, options: ResolvedRetryOptions): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1));
  return Math.random() * ceiling;
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new RequestTimeoutError(timeoutMs)), timeoutMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

function wait(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
