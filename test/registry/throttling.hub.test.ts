import type { Props } from "../support/providerServer";
import { useProvidersOnHub } from "./providersOnHub";
import { hubRegistry } from "../support/suiteHub";

/**
 * The hub's registry quota (5 operations/s, a bucket of 5) against many resources created at once, as the engine
 * does. Paced below the quota, resources are created within a tight retry budget; unpaced, throttled calls fail
 * without a budget and are retried until every resource exists with one. (The pacer schedules when calls leave;
 * connection set-up can bunch a few on arrival, hence a pace with some headroom below the quota.)
 */
const suite = useProvidersOnHub({ args: ["--quota", "registry=5/s"] });

const registryCalls = (): number => suite.providerCalls().registry ?? 0;

async function createDevices(
  prefix: string,
  count: number,
  registryOptions: Props,
): Promise<PromiseSettledResult<unknown>[]> {
  return Promise.allSettled(
    Array.from({ length: count }, (_, i) =>
      suite.server.create(suite.texts.DeviceIdentity, {
        ...suite.hubArgs,
        deviceId: `${prefix}-${i}`,
        registry: registryOptions,
      }),
    ),
  );
}

const rejected = (results: PromiseSettledResult<unknown>[]): string[] =>
  results.flatMap((result) =>
    result.status === "rejected"
      ? [String((result.reason as { details?: string }).details ?? result.reason)]
      : [],
  );

it("paced below the quota (3/s, burst 3; the hub: 5/s, bucket 5), creates every device without a retry", async () => {
  const before = registryCalls();
  const results = await createDevices("paced", 12, {
    opsPerSecond: { registry: 3 },
    burst: { registry: 3 },
    maxAttempts: 1,
  });
  expect(rejected(results)).toEqual([]);
  expect(registryCalls() - before).toBe(12);
});

it("device and module identities share one limiter per hub in the provider process", async () => {
  // Two limiters of 3/s with a burst of 3 each would send 6 calls at once into the hub's bucket of 5: one 429,
  // and with maxAttempts 1 a failure. One shared limiter sends 3, then one every 333 ms.
  const pace = { opsPerSecond: { registry: 3 }, burst: { registry: 3 }, maxAttempts: 1 };
  expect(rejected(await createDevices("shared", 3, pace))).toEqual([]);
  const results = await Promise.allSettled([
    createDevices("shared-more", 3, pace),
    ...[0, 1, 2].map((i) =>
      suite.server.create(suite.texts.ModuleIdentity, {
        ...suite.hubArgs,
        deviceId: `shared-${i}`,
        moduleId: "m",
        registry: pace,
      }),
    ),
  ]);
  const flattened = results.flatMap((result) =>
    result.status === "fulfilled" && Array.isArray(result.value) ? result.value : [result],
  );
  expect(rejected(flattened)).toEqual([]);
});

it("the quota is real: unpaced and without retries, some creates fail, naming the throttle and the budget", async () => {
  const failures = rejected(await createDevices("unretried", 15, { maxAttempts: 1 }));
  expect(failures.length).toBeGreaterThan(0);
  expect(failures[0]).toMatch(/^device "unretried-\d+": create failed with HTTP 429: .*retry budget/);
});

it("unpaced, retries throttled calls until every device exists", async () => {
  const before = registryCalls();
  const results = await createDevices("burst", 20, { baseDelayMs: 100, maxAttempts: 30 });
  expect(rejected(results)).toEqual([]);
  expect(registryCalls() - before).toBeGreaterThan(20); // some were throttled (429) and retried
  await suite.hub.cli("quota", "clear");
  const registry = hubRegistry(suite.hub.info);
  const devices = (await registry.list()).responseBody.map((device) => device.deviceId);
  for (let i = 0; i < 20; i++) expect(devices).toContain(`burst-${i}`);
});
