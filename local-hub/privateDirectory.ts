import { mkdirSync, statSync } from "node:fs";

/**
 * A directory only its owner may enter: the state dir (every policy and device key in clear) and the directory of
 * the telemetry tap's socket when it lives under the temp dir. One that others could enter or write may already
 * hold what they planted there (a symlink where a key file or the log goes) or have let them read keys, so it is
 * refused, never tightened after the fact.
 */
export const PRIVATE_DIRECTORY_MODE = 0o700;

/** A directory that belongs to another user or is open to group/other: the message says which, and the fix. */
export class PrivateDirectoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PrivateDirectoryError";
  }
}

/** What the directory is and why it must be private, for the refusal: "state dir", "it holds every key in clear". */
export interface PrivateDirectoryRole {
  what: string;
  why: string;
}

/**
 * Creates `dir` (and missing parents) with mode 0700, or checks the one that exists: a directory, owned by this
 * user, no group/other permission bits. Throws PrivateDirectoryError naming the role and `dir`, its owner or mode,
 * and the fix. (Without user ids, on Windows, only the mode bits Node reports are checked.)
 */
export function ensurePrivateDirectory(dir: string, { what, why }: PrivateDirectoryRole): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIRECTORY_MODE });
  const stat = statSync(dir);
  if (!stat.isDirectory()) throw new PrivateDirectoryError(`${what} ${dir} is not a directory`);
  const problems: string[] = [];
  const uid = typeof process.getuid === "function" ? process.getuid() : undefined;
  if (uid !== undefined && stat.uid !== uid) {
    problems.push(
      `it belongs to uid ${stat.uid}, not to this user (uid ${uid}): run the hub as its owner or use a directory of your own`,
    );
  }
  const mode = stat.mode & 0o777;
  if ((mode & 0o077) !== 0) {
    problems.push(
      `its mode ${mode.toString(8).padStart(4, "0")} opens it to group/other: make it private with \`chmod 700 ${dir}\``,
    );
  }
  if (problems.length > 0) {
    throw new PrivateDirectoryError(
      `${what} ${dir} is refused: ${why}, so only its owner may enter it; ${problems.join("; ")}`,
    );
  }
}
