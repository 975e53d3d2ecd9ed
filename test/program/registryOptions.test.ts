import { StackConfigError, parseStackConfig } from "../../components/config";
import { serializedProviders, startProviderServer, type ProviderServer } from "../support/providerServer";

/**
 * The registry options have one schema: what `iothub-provisioner:registry` accepts is what every registry
 * provider's check() accepts (the real dynamic-provider server, as the engine calls it), and both refuse a bad
 * option with the same rule, the config naming it by its config path and check() by the resource's input.
 */

const hubInputs = {
  serviceConnectionString: `HostName=hub.example;SharedAccessKeyName=provisioner;SharedAccessKey=${"A".repeat(44)}`,
  deviceId: "d",
};

let server: ProviderServer;
let providers: Record<string, string>;

beforeAll(async () => {
  [server, providers] = await Promise.all([startProviderServer(), serializedProviders()]);
});
afterAll(() => server?.stop());

function configViolations(registry: unknown): string[] {
  try {
    parseStackConfig({ target: "local", registry });
    return [];
  } catch (error) {
    if (!(error instanceof StackConfigError)) throw error;
    return error.violations.map((violation) => `${violation.field}: ${violation.rule}`);
  }
}

async function checkViolations(registry: unknown): Promise<string[]> {
  const { failures } = await server.check(providers.DeviceIdentity, {}, { ...hubInputs, registry });
  return failures.map((failure) => failure.reason.replace(/^device "d": /, ""));
}

describe("the registry options, in the stack config and in the providers' check()", () => {
  it.each([
    [{ opsPerSecond: 1.5, burst: 100 }],
    [
      {
        opsPerSecond: { registry: 1.5, twinRead: 90, twinUpdate: 45 },
        burst: { registry: 100, twinUpdate: 50 },
      },
    ],
    [
      {
        maxAttempts: 4,
        maxRetryTimeMs: 60_000,
        baseDelayMs: 100,
        maxDelayMs: 5_000,
        requestTimeoutMs: 10_000,
      },
    ],
  ])("both accept %j", async (registry) => {
    expect(configViolations(registry)).toEqual([]);
    expect(await checkViolations(registry)).toEqual([]);
  });

  it.each([
    [{ burst: 0 }, "registry.burst: must be a whole number of at least 1"],
    [{ burst: { twinRead: 2.5 } }, "registry.burst.twinRead: must be a whole number of at least 1"],
    [{ opsPerSecond: -1 }, "registry.opsPerSecond: must be a positive number"],
    [
      { opsPerSecond: "fast" },
      "registry.opsPerSecond: must be a positive number, or an object of such numbers by operation class " +
        "(registry, twinRead, twinUpdate, configurations)",
    ],
    [
      { opsPerSecond: { query: 1 } },
      "registry.opsPerSecond.query: is not a known key (known keys: registry,",
    ],
    [{ maxAttemps: 3 }, "registry.maxAttemps: is not a known key (did you mean maxAttempts?)"],
  ])("both refuse %j with the same rule: %s", async (registry, expected) => {
    expect(configViolations(registry)).toEqual([expect.stringContaining(`iothub-provisioner:${expected}`)]);
    expect(await checkViolations(registry)).toEqual([expect.stringContaining(expected)]);
  });
});
