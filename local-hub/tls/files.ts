import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";

/** Writes a file atomically (tmp + rename) so a crash never leaves half a key or certificate behind. */
export function writeFileAtomic(file: string, content: string, mode: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode });
  renameSync(tmp, file);
}

export function readIfExists(file: string): string | undefined {
  return existsSync(file) ? readFileSync(file, "utf8") : undefined;
}

/** Private keys are readable by their owner only. */
export const KEY_FILE_MODE = 0o600;
export const PUBLIC_FILE_MODE = 0o644;
