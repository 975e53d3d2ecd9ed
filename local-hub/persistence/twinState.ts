import { randomBytes } from "node:crypto";
import { isPlainObject, type DeviceSideTwin, type TwinProperties } from "../../lib/iothub/twin";

/**
 * A twin as the hub stores it: tags, desired and reported with their versions and IoT Hub's `$metadata` trees.
 * Pure data and pure functions, so the merge rules are tested without a database.
 */

/** `$metadata` mirrors the section: every property has `$lastUpdated` (+ `$lastUpdatedVersion` in desired). */
export type MetadataNode = { [key: string]: unknown };

export interface TwinState {
  /** Twin version: +1 on every change of tags, desired or reported. */
  version: number;
  etag: string;
  tags: Record<string, unknown>;
  desired: Record<string, unknown>;
  desiredVersion: number;
  desiredMetadata: MetadataNode;
  reported: Record<string, unknown>;
  reportedVersion: number;
  reportedMetadata: MetadataNode;
  /** The ADM configurations that target this twin (the twin's `configurations` section); absent when none. */
  configurations?: ConfigurationsSection;
  /**
   * Which configurations' content (ids and etags) the ADM engine last wrote into this twin: it writes again only
   * when that set changes, so content applied by other means stays until the deployment changes, as on IoT Hub.
   */
  appliedConfigurations?: string;
}

/** A twin's `configurations` section: configuration id -> its status on this twin. */
export type ConfigurationsSection = Record<string, { status: "Targeted" | "Applied" }>;

export const newEtag = (): string => randomBytes(8).toString("base64");

export function newTwinState(at: Date): TwinState {
  const stamp = at.toISOString();
  return {
    version: 1,
    etag: newEtag(),
    tags: {},
    desired: {},
    desiredVersion: 1,
    desiredMetadata: { $lastUpdated: stamp, $lastUpdatedVersion: 1 },
    reported: {},
    reportedVersion: 1,
    reportedMetadata: { $lastUpdated: stamp },
  };
}

/** The metadata of a freshly written value: objects get a node per property, recursively. */
function metadataFor(value: unknown, stamp: Record<string, unknown>): MetadataNode {
  const node: MetadataNode = { ...stamp };
  if (isPlainObject(value)) {
    for (const [key, child] of Object.entries(value)) node[key] = metadataFor(child, stamp);
  }
  return node;
}

/**
 * Merges `patch` into `target` as IoT Hub does: objects merge recursively, null deletes, anything else replaces.
 * `metadata` is updated alongside; every node on a changed path gets the new stamp.
 */
export function mergeWithMetadata(
  target: Record<string, unknown>,
  metadata: MetadataNode,
  patch: Record<string, unknown>,
  stamp: Record<string, unknown>,
): void {
  Object.assign(metadata, stamp);
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      delete target[key];
      delete metadata[key];
    } else if (isPlainObject(value) && isPlainObject(target[key])) {
      const childMetadata = isPlainObject(metadata[key]) ? (metadata[key] as MetadataNode) : {};
      metadata[key] = childMetadata;
      mergeWithMetadata(target[key] as Record<string, unknown>, childMetadata, value, stamp);
    } else {
      target[key] = withoutNulls(value);
      metadata[key] = metadataFor(target[key], stamp);
    }
  }
}

/** Merges `patch` into `target` (null deletes), without metadata: tags carry none. */
export function mergePatch(target: Record<string, unknown>, patch: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete target[key];
    else if (isPlainObject(value) && isPlainObject(target[key])) {
      mergePatch(target[key] as Record<string, unknown>, value);
    } else target[key] = withoutNulls(value);
  }
}

/** A new object value is stored without its null properties: null means "absent" in a twin. */
function withoutNulls(value: unknown): unknown {
  if (!isPlainObject(value)) return value;
  const result: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) if (child !== null) result[key] = withoutNulls(child);
  return result;
}

/** The patch that turns `before` into `after` at the top level: new values, and null for removed keys. */
export function replacementPatch(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const key of Object.keys(before)) if (!(key in after)) patch[key] = null;
  return Object.assign(patch, after);
}

/** Applies a desired patch; returns the new desired $version. */
export function patchDesired(twin: TwinState, patch: Record<string, unknown>, at: Date): number {
  twin.desiredVersion += 1;
  mergeWithMetadata(twin.desired, twin.desiredMetadata, patch, {
    $lastUpdated: at.toISOString(),
    $lastUpdatedVersion: twin.desiredVersion,
  });
  bumpVersion(twin);
  return twin.desiredVersion;
}

/** Applies a reported patch; returns the new reported $version. */
export function patchReported(twin: TwinState, patch: Record<string, unknown>, at: Date): number {
  twin.reportedVersion += 1;
  mergeWithMetadata(twin.reported, twin.reportedMetadata, patch, { $lastUpdated: at.toISOString() });
  bumpVersion(twin);
  return twin.reportedVersion;
}

export function bumpVersion(twin: TwinState): void {
  twin.version += 1;
  twin.etag = newEtag();
}

/** `properties` as the service API returns it: each section with its `$metadata` and `$version`. */
export function renderProperties(twin: TwinState): { desired: TwinProperties; reported: TwinProperties } {
  return {
    desired: { ...twin.desired, $metadata: twin.desiredMetadata, $version: twin.desiredVersion },
    reported: { ...twin.reported, $metadata: twin.reportedMetadata, $version: twin.reportedVersion },
  };
}

/** The device-side twin document (MQTT GET): no metadata, each section with its `$version`. */
export function renderDeviceSide(twin: TwinState): DeviceSideTwin {
  return {
    desired: { ...twin.desired, $version: twin.desiredVersion },
    reported: { ...twin.reported, $version: twin.reportedVersion },
  };
}
