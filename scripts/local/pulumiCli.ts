import { accessSync, constants, statSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/**
 * Finds a Pulumi CLI without assuming one: on PATH, in the standard install location, in the cache of the npm
 * package `pulumi` (a dependency), or, unless downloads are refused, by letting that package download it (which
 * needs the internet: it runs get.pulumi.com's installer).
 */

export interface PulumiCliSearch {
  /** Refuse the npm package's download: only what is installed counts. */
  allowDownload: boolean;
  env?: NodeJS.ProcessEnv;
}

export class PulumiCliNotFoundError extends Error {
  constructor(reason: string) {
    super(
      `No Pulumi CLI found: ${reason}.\n` +
        "Install it with `curl -fsSL https://get.pulumi.com | sh` (or see https://www.pulumi.com/docs/install/),\n" +
        "or run this on a machine with internet access, where the npm package `pulumi` downloads it on first use.\n" +
        "Then run `npm run local` again.",
    );
    this.name = "PulumiCliNotFoundError";
  }
}

const EXECUTABLE = process.platform === "win32" ? "pulumi.exe" : "pulumi";

function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile() && statSync(file).size > 0;
  } catch {
    return false;
  }
}

/** `pulumi` on PATH, skipping node_modules/.bin: the npm package's shim there is handled on its own below. */
function onPath(env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (!dir || dir.split(path.sep).includes("node_modules")) continue;
    const candidate = path.join(dir, EXECUTABLE);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

interface NpmPulumiPackage {
  version: string;
  cacheDir(version: string): string;
  resolve(): Promise<string>;
}

function npmPulumiPackage(): NpmPulumiPackage | undefined {
  try {
    const { cacheDir } = require("pulumi/lib/cache") as { cacheDir(version: string): string };
    const { resolve } = require("pulumi/lib/resolve") as { resolve(): Promise<string> };
    const { version } = require("pulumi/package.json") as { version: string };
    return { version, cacheDir, resolve };
  } catch {
    return undefined;
  }
}

/** The CLI's absolute path, or a PulumiCliNotFoundError that says how to install it. */
export async function findPulumiCli(search: PulumiCliSearch): Promise<string> {
  const env = search.env ?? process.env;
  const found = onPath(env);
  if (found) return found;

  const home = env.PULUMI_HOME || path.join(os.homedir(), ".pulumi");
  const installed = path.join(home, "bin", EXECUTABLE);
  if (isExecutableFile(installed)) return installed;

  const npmPackage = npmPulumiPackage();
  if (!npmPackage)
    throw new PulumiCliNotFoundError("not on PATH, and the npm package `pulumi` is not installed");
  const version = env.PULUMI_VERSION || npmPackage.version;
  const cached = path.join(npmPackage.cacheDir(version), "bin", EXECUTABLE);
  if (isExecutableFile(cached)) return cached;
  if (!search.allowDownload) {
    throw new PulumiCliNotFoundError(
      `not on PATH, not in ${path.dirname(installed)}, and not in the npm package's cache (${path.dirname(cached)}); ` +
        "downloading it was refused (--no-download)",
    );
  }
  try {
    return await npmPackage.resolve();
  } catch (error) {
    throw new PulumiCliNotFoundError(
      `not on PATH, and the npm package \`pulumi\` could not download it (${(error as Error).message})`,
    );
  }
}
