import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** The npm package the local hub is published as (local-hub/package.json). */
export const HUB_PACKAGE_NAME = "iothub-local";

/**
 * The iothub-local package's package.json, found upwards from this file: the code runs one level deeper in the
 * installed package (dist/local-hub/) than in a checkout (local-hub/), so no fixed relative path fits both.
 */
export function readHubPackage(from: string = __dirname): { name: string; version: string } {
  for (let dir = from; ; dir = dirname(dir)) {
    const file = join(dir, "package.json");
    if (existsSync(file)) {
      const manifest = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string };
      if (manifest.name === HUB_PACKAGE_NAME && typeof manifest.version === "string") {
        return { name: manifest.name, version: manifest.version };
      }
    }
    if (dirname(dir) === dir) throw new Error(`no ${HUB_PACKAGE_NAME} package.json above ${from}`);
  }
}
