import { availableParallelism } from "node:os";
import { BenchFlagError, parseDpsBenchFlags } from "../../bench/support/dpsBenchFlags";

/** `npm run bench:dps`'s flags: the contract's defaults, and a clear refusal naming the flag and the rule. */
describe("bench:dps flags", () => {
  it("defaults to the contract's 10,000 devices, 16 registering at a time, the Pulumi CLI's default parallelism, both halves, text", () => {
    expect(parseDpsBenchFlags([])).toEqual({
      devices: 10_000,
      concurrency: 16,
      parallel: 4 * availableParallelism(),
      only: undefined,
      json: false,
    });
  });

  it("takes every flag", () => {
    expect(
      parseDpsBenchFlags([
        "--devices",
        "250",
        "--concurrency",
        "8",
        "--parallel",
        "32",
        "--only",
        "dps",
        "--json",
      ]),
    ).toEqual({ devices: 250, concurrency: 8, parallel: 32, only: "dps", json: true });
    expect(parseDpsBenchFlags(["--only=identities"]).only).toBe("identities");
  });

  const refused = (argv: string[]): string => {
    try {
      parseDpsBenchFlags(argv);
    } catch (error) {
      expect(error).toBeInstanceOf(BenchFlagError);
      return (error as Error).message;
    }
    throw new Error(`${argv.join(" ")} was accepted`);
  };

  it.each([
    [["--devices", "0"], "--devices must be a whole number from 1 to 1,000,000"],
    [["--devices", "-5"], "--devices"],
    [["--devices", "1e3"], '--devices must be a whole number from 1 to 1,000,000 (got "1e3")'],
    [["--devices", "12.5"], "--devices must be a whole number"],
    [["--devices", "1000001"], "--devices must be a whole number from 1 to 1,000,000"],
    [["--devices", "9".repeat(400)], "--devices must be a whole number"],
    [["--devices", ""], "--devices must be a whole number"],
    [["--concurrency", "0"], "--concurrency must be a whole number from 1 to 1,000"],
    [["--concurrency", "abc"], '--concurrency must be a whole number from 1 to 1,000 (got "abc")'],
    [["--parallel", "10001"], "--parallel must be a whole number from 1 to 10,000"],
    [["--only", "both"], '--only must be one of dps, identities (got "both")'],
    [["--only", "DPS"], "--only must be one of dps, identities"],
  ])("refuses %j: %s", (argv, message) => {
    expect(refused(argv)).toContain(message);
  });

  it("echoes at most 40 characters of a refused value", () => {
    const message = refused(["--only", "x".repeat(10_000)]);
    expect(message.length).toBeLessThan(120);
  });

  it("refuses unknown flags, a flag without its value and stray arguments, naming them and the flags it takes", () => {
    expect(refused(["--device", "5"])).toMatch(/--device.*flags: --devices N/);
    expect(refused(["--devices"])).toMatch(/--devices/);
    expect(refused(["10000"])).toMatch(/10000/);
    expect(refused(["--json=yes"])).toMatch(/--json/);
  });
});
