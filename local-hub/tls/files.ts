import { randomBytes } from "node:crypto";
import { closeSync, existsSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";

/**
 * Writes a file atomically (a temp file, then rename) so a crash never leaves half a key, certificate or hub.json
 * behind. The temp file has a random name and is created exclusively ('wx': O_CREAT | O_EXCL), so nothing planted
 * at its path, a symlink included, is written through: the open fails instead, and nothing is changed.
 */
export function writeFileAtomic(file: string, content: string, mode: number): void {
  const temp = `${file}.${randomBytes(12).toString("hex")}.tmp`;
  const fd = openSync(temp, "wx", mode);
  try {
    try {
      writeFileSync(fd, content);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

export function readIfExists(file: string): string | undefined {
  return existsSync(file) ? readFileSync(file, "utf8") : undefined;
}

/** Private keys are readable by their owner only. */
export const KEY_FILE_MODE = 0o600;
export const PUBLIC_FILE_MODE = 0o644;
