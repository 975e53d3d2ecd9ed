import * as fs from "node:fs";
import * as path from "node:path";

/**
 * JSON files the stack config names by a path relative to the project (`manifest: deployments/base.json`): read
 * only from inside the project directory, bounded in size, and never quoted back in an error (a manifest may hold
 * registry passwords).
 */

/** Larger than any configuration the service API takes (256 KB as compact JSON), with room for indentation. */
export const CONTENT_FILE_MAX_BYTES = 1024 * 1024;

export type ContentFileReading = { value: unknown; rule?: undefined } | { value?: undefined; rule: string };

/** The JSON value of `file` (relative to `projectDir`), or the rule it breaks. */
export function readContentFile(file: string, projectDir: string): ContentFileReading {
  if (path.isAbsolute(file)) return { rule: "must be a path relative to the project directory" };
  const root = realPath(projectDir) ?? path.resolve(projectDir);
  const resolved = path.resolve(root, file);
  if (!inside(root, resolved)) return { rule: "must be a path inside the project directory" };
  const real = realPath(resolved);
  if (real === undefined) return { rule: `names no file (looked for ${resolved})` };
  // A symbolic link may point anywhere: what it points at must be inside the project too.
  if (!inside(root, real))
    return { rule: "must be a file inside the project directory (a link leads outside)" };
  const stat = fs.statSync(real);
  if (!stat.isFile()) return { rule: "must name a file" };
  if (stat.size > CONTENT_FILE_MAX_BYTES) {
    return { rule: `must be at most ${CONTENT_FILE_MAX_BYTES} bytes (the file has ${stat.size})` };
  }
  const text = fs.readFileSync(real, "utf8");
  try {
    return { value: JSON.parse(text) };
  } catch (error) {
    // JSON.parse quotes the text around the error: only its position is repeated here.
    const position = /position (\d+)/.exec((error as Error).message);
    return {
      rule: `must hold JSON${position ? ` (it is not valid at position ${position[1]})` : " (it is not valid)"}`,
    };
  }
}

function inside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return (
    relative !== "" &&
    relative !== ".." &&
    !relative.startsWith(`..${path.sep}`) &&
    !path.isAbsolute(relative)
  );
}

function realPath(file: string): string | undefined {
  try {
    return fs.realpathSync(file);
  } catch {
    return undefined;
  }
}
