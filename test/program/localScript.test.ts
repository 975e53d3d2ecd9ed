import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROJECT_DIR } from "./support/runProgram";

/**
 * `npm run local` where no Pulumi CLI can be had (this machine: none installed, no internet): it must say so and
 * how to install one, exit non-zero, and start nothing.
 */
describe("npm run local without a Pulumi CLI", () => {
  let scratch: string;
  beforeEach(() => {
    scratch = mkdtempSync(path.join(os.tmpdir(), "local-script-"));
  });
  afterEach(() => rmSync(scratch, { recursive: true, force: true }));

  function runLocal(args: string[], env: NodeJS.ProcessEnv) {
    const stateDir = path.join(scratch, "hub-state");
    const result = spawnSync(
      process.execPath,
      ["--import", "tsx", "scripts/local.ts", "--state", stateDir, ...args],
      {
        cwd: PROJECT_DIR,
        encoding: "utf8",
        // An empty PATH and PULUMI_HOME: no CLI installed, none cached by the npm package.
        env: {
          ...process.env,
          PATH: path.join(scratch, "bin"),
          PULUMI_HOME: path.join(scratch, "pulumi-home"),
          ...env,
        },
      },
    );
    return { ...result, stateDir };
  }

  it("with --no-download: names where it looked, how to install, exits 127 and starts no hub", () => {
    const result = runLocal(["--no-download"], {});
    expect(result.status).toBe(127);
    expect(result.stderr).toContain("No Pulumi CLI found: not on PATH");
    expect(result.stderr).toContain(path.join(scratch, "pulumi-home", "bin"));
    expect(result.stderr).toContain("downloading it was refused (--no-download)");
    expect(result.stderr).toContain("https://get.pulumi.com");
    expect(existsSync(result.stateDir)).toBe(false);
  });

  it("when the npm package `pulumi` cannot download it: says so, how to install, exits 127 and starts no hub", () => {
    // A version that does not exist fails the download with or without internet access.
    const result = runLocal([], { PULUMI_VERSION: "0.0.0-no-such-version" });
    expect(result.status).toBe(127);
    expect(result.stderr).toContain("the npm package `pulumi` could not download it");
    expect(result.stderr).toContain("https://get.pulumi.com");
    expect(existsSync(result.stateDir)).toBe(false);
  });

  it("rejects an unknown flag with the flags it takes", () => {
    const result = runLocal(["--colour"], {});
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      "unknown argument --colour (use --stack NAME, --state DIR, --no-download, --no-verify)",
    );
  });
});
