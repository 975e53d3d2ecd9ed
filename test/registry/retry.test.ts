import { withRetry } from "../../components/registry/retry";
import { resolveRetryOptions } from "../../components/registry/options";

const fast = resolveRetryOptions({ baseDelayMs: 1, maxDelayMs: 2, maxAttempts: 4, requestTimeoutMs: 1000 });
/** For the attempt-timeout tests: a call that never answers is abandoned after 20 ms and tried once more. */
const twoAttemptsTimingOutAt20Ms = resolveRetryOptions({
  baseDelayMs: 1,
  maxDelayMs: 1,
  maxAttempts: 2,
  requestTimeoutMs: 20,
});

function httpError(status: number, name = "Error"): Error {
  const error = new Error(`HTTP ${status}`) as Error & { response: { statusCode: number } };
  error.name = name;
  error.response = { statusCode: status };
  return error;
}

function networkError(code: string): Error {
  return Object.assign(new Error(code), { code });
}

describe("withRetry", () => {
  it.each([
    ["throttled (429)", httpError(429, "ThrottlingError")],
    ["unavailable (503)", httpError(503, "ServiceUnavailableError")],
    ["a reset connection", networkError("ECONNRESET")],
    ["a socket hang up", new Error("socket hang up")],
  ])("retries a call that failed with %s, then returns its result", async (_what, failure) => {
    let calls = 0;
    const result = await withRetry(async () => {
      calls += 1;
      if (calls < 3) throw failure;
      return "done";
    }, fast);
    expect(result).toBe("done");
    expect(calls).toBe(3);
  });

  it("does not retry an error the hub will repeat (400, 404, 409, 412)", async () => {
    for (const status of [400, 404, 409, 412]) {
      let calls = 0;
      await expect(
        withRetry(async () => {
          calls += 1;
          throw httpError(status);
        }, fast),
      ).rejects.toThrow(`HTTP ${status}`);
      expect(calls).toBe(1);
    }
  });

  it("gives up after maxAttempts with the last error", async () => {
    let calls = 0;
    await expect(
      withRetry(async () => {
        calls += 1;
        throw httpError(429, "ThrottlingError");
      }, fast),
    ).rejects.toThrow("HTTP 429");
    expect(calls).toBe(4);
  });

  it("gives up when the time budget cannot hold the next backoff", async () => {
    const options = resolveRetryOptions({ baseDelayMs: 10_000, maxDelayMs: 10_000, maxRetryTimeMs: 1 });
    let calls = 0;
    await expect(
      withRetry(async () => {
        calls += 1;
        throw httpError(503);
      }, options),
    ).rejects.toThrow("HTTP 503");
    expect(calls).toBe(1);
  });

  it("treats a call that never answers as a timeout and retries it", async () => {
    const options = twoAttemptsTimingOutAt20Ms;
    let calls = 0;
    const result = await withRetry((report) => {
      calls += 1;
      if (calls === 1) return new Promise<string>(() => undefined);
      return Promise.resolve(report.ambiguousFailure ? "retried after an ambiguous failure" : "?");
    }, options);
    expect(result).toBe("retried after an ambiguous failure");
  });

  it("waits for the gate (the pacer) before each attempt, outside the attempt's timeout", async () => {
    const options = twoAttemptsTimingOutAt20Ms;
    let gatesPassed = 0;
    const slowGate = (): Promise<void> =>
      new Promise((resolve) =>
        setTimeout(() => {
          gatesPassed += 1;
          resolve();
        }, 50),
      );
    let calls = 0;
    const result = await withRetry(
      async () => {
        calls += 1;
        return gatesPassed;
      },
      options,
      undefined,
      slowGate,
    );
    expect(result).toBe(1); // a gate longer than the timeout did not time the call out
    expect(calls).toBe(1);
  });

  it("marks a throttled attempt as not ambiguous (the hub did not apply it)", async () => {
    let calls = 0;
    const ambiguous = await withRetry(async (report) => {
      calls += 1;
      if (calls === 1) throw httpError(429, "ThrottlingError");
      return report.ambiguousFailure;
    }, fast);
    expect(ambiguous).toBe(false);
  });
});
