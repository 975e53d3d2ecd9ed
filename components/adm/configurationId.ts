import { createHash } from "node:crypto";
import type { ConfigurationContent } from "../../lib/iothub/configuration";
import { isPlainObject } from "../../lib/iothub/twin";

/**
 * The id of the configuration a resource keeps in the hub: `<name>-<content hash>`. IoT Hub never changes a
 * configuration's content (a PUT with other content answers 200 and keeps the old one), so other content needs a
 * new configuration, with another id: deriving the id from the content makes a content change a replace whose new
 * configuration can exist beside the old one (create first, then delete), so the targeted twins never go without.
 */

/** Hex digits of the content hash in the id: 8 (32 bits) tell one resource's contents apart. */
const HASH_LENGTH = 8;

/** The longest `name`: the id (at most 128 characters) also carries `-` and the hash. */
export const CONFIGURATION_NAME_MAX_LENGTH = 128 - 1 - HASH_LENGTH;

export function configurationIdFor(name: string, content: ConfigurationContent): string {
  return `${name}-${contentHash(content)}`;
}

/**
 * True when both contents write the same into twins (key order aside; a kind holding null or `{}` is no kind:
 * IoT Hub's GET answers the kinds a configuration does not use as empty objects).
 */
export function sameContent(a: ConfigurationContent, b: ConfigurationContent): boolean {
  return canonicalJson(withoutEmptyKinds(a)) === canonicalJson(withoutEmptyKinds(b));
}

function contentHash(content: ConfigurationContent): string {
  return createHash("sha256")
    .update(canonicalJson(withoutEmptyKinds(content)))
    .digest("hex")
    .slice(0, HASH_LENGTH);
}

function withoutEmptyKinds(content: ConfigurationContent): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(content).filter(
      ([, value]) =>
        value !== undefined && value !== null && !(isPlainObject(value) && Object.keys(value).length === 0),
    ),
  );
}

/** JSON with every object's keys sorted: the same content gives the same text whatever order it was written in. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (isPlainObject(value)) {
    const entries = Object.keys(value)
      .filter((key) => value[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`);
    return `{${entries.join(",")}}`;
  }
  return JSON.stringify(value);
}
