import { InputError } from "../../verify/inputError";
import { DEFAULT_CONCURRENCY, DEFAULT_TIMEOUT_SECONDS, parseVerifyOptions } from "../../verify/options";

describe("parseVerifyOptions", () => {
  it("reads every flag", () => {
    expect(
      parseVerifyOptions([
        "--stack",
        "dev",
        "--ca",
        "ca.pem",
        "--json",
        "--timeout",
        "2.5",
        "--concurrency",
        "3",
        "--watch",
        "d1/m1",
        "--all-keys",
      ]),
    ).toEqual({
      source: { stack: "dev" },
      ca: "ca.pem",
      json: true,
      timeoutSeconds: 2.5,
      concurrency: 3,
      watch: { deviceId: "d1", moduleId: "m1" },
      allKeys: true,
      help: false,
    });
  });

  it("has defaults, and --outputs - means standard input", () => {
    expect(parseVerifyOptions(["--outputs", "-"])).toMatchObject({
      source: { file: "-" },
      json: false,
      timeoutSeconds: DEFAULT_TIMEOUT_SECONDS,
      concurrency: DEFAULT_CONCURRENCY,
      allKeys: false,
    });
  });

  it.each([
    [[], /--stack NAME or --outputs FILE/],
    [["--stack", "a", "--outputs", "b"], /not both/],
    [["--outputs", "o.json", "--timeout", "0"], /--timeout: must be a positive number/],
    [["--outputs", "o.json", "--concurrency", "1.5"], /--concurrency: must be a positive whole number/],
    [["--outputs", "o.json", "--watch", "nomodule"], /--watch: must be DEVICE\/MODULE/],
    [["--outputs", "o.json", "--bogus"], /bogus/],
  ])("rejects %j as a usage error", (argv, message) => {
    let caught: unknown;
    try {
      parseVerifyOptions(argv as string[]);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InputError);
    expect((caught as InputError).usage).toBe(true);
    expect((caught as Error).message).toMatch(message);
  });
});

describe("parseVerifyOptions: --enrollment", () => {
  const enrollment = ["--enrollment", "line-a", "--simulate", "2"];

  it("reads the DPS from stack outputs when --stack or --outputs is given, else from --state's hub", () => {
    expect(parseVerifyOptions([...enrollment, "--stack", "dev"], {})).toMatchObject({
      source: { stack: "dev" },
      enrollment: { enrollmentGroupId: "line-a", simulate: 2 },
    });
    expect(parseVerifyOptions([...enrollment, "--outputs", "-"], {})).toMatchObject({
      source: { file: "-" },
    });
    const local = parseVerifyOptions([...enrollment, "--state", "hub-state"], {});
    expect(local.source).toBeUndefined();
    expect(local.enrollment?.stateDir).toMatch(/hub-state$/);
  });

  it.each<[string[], string]>([
    [
      ["--stack", "dev", "--state", "x"],
      "--state: does not go with --stack (the stack outputs name the DPS)",
    ],
    [["--outputs", "o.json", "--state", "x"], "--state: does not go with --outputs"],
    [["--stack", "dev", "--outputs", "o.json"], "give either --stack NAME or --outputs FILE, not both"],
    [["--stack", ""], "--stack: needs a stack name"],
    [["--outputs", ""], "--outputs: needs a file path"],
    [["--stack", "dev", "--watch", "d/m"], "--watch: does not go with --enrollment"],
  ])("refuses %j", (extra, message) => {
    expect(() => parseVerifyOptions([...enrollment, ...extra], {})).toThrow(message);
    expect(() => parseVerifyOptions([...enrollment, ...extra], {})).toThrow(InputError);
  });
});
