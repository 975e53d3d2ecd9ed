import type { IdentityStatus } from "./identity";
import { checkTwinSection, type RuleViolation } from "./rules";

/**
 * Twin documents as IoT Hub's APIs carry them: the service API's twin (GET/PATCH/PUT /twins/...), the body a
 * service sends to change one, and the device-side document of a twin GET over MQTT.
 */

export const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value);

/** Tags, desired or reported properties: a JSON object (a patch of one may hold null = delete). */
export type TwinProperties = Record<string, unknown>;

/** A JSON value in a twin section. */
export type TwinValue = null | boolean | number | string | TwinValue[] | { [key: string]: TwinValue };
/** A twin section whose values are known to be JSON (e.g. the desired properties a stack declares). */
export type TwinDocument = { [key: string]: TwinValue };

/** The service API's twin, exactly as the SDK's Twin and Query consume it (identity fields travel along). */
export interface ServiceTwin {
  deviceId: string;
  moduleId?: string;
  etag: string;
  deviceEtag?: string;
  version: number;
  status?: IdentityStatus;
  tags: TwinProperties;
  /** Each section carries the hub's `$metadata` and `$version`. */
  properties: { desired: TwinProperties; reported: TwinProperties };
  [field: string]: unknown;
}

/**
 * The body of the service API's twin PATCH (merge: a null value deletes its key) and PUT (replace): tags, and
 * desired properties under `properties` as in the twin itself. Reported properties are the device's: a PATCH
 * may not carry them, a PUT's (the twin sent back as read) are ignored.
 */
export interface TwinPatchBody {
  tags?: TwinProperties;
  properties?: { desired?: TwinProperties };
}

/** What a service may write, as the hub applies it: tags and desired properties (reported ones are the device's). */
export interface TwinUpdate {
  tags?: TwinProperties;
  /** null: every desired property is removed (a PATCH of `"desired": null`; a PUT replaces with none). */
  desired?: TwinProperties | null;
}

/** The device side's twin (MQTT GET): no metadata, each section with its `$version`. */
export interface DeviceSideTwin {
  desired: TwinProperties;
  reported: TwinProperties;
}

/**
 * IoT Hub's rules for a TwinPatchBody as received (unchecked) in a twin PATCH (merge) or PUT (replace): an
 * object whose `properties` is an object, no `properties.reported` in a patch, and tags and desired within the
 * twin limits.
 * `"desired": null` removes every desired property. A replaced twin sent back as it was read may carry
 * `$metadata`/`$version` in desired: those are the hub's and are dropped, not refused. `update` is valid only when
 * `violations` is empty.
 */
export function parseTwinUpdate(
  body: Record<string, unknown>,
  kind: "patch" | "replace",
): { update: TwinUpdate; violations: RuleViolation[] } {
  const violations: RuleViolation[] = [];
  const properties = body.properties;
  if (properties !== undefined && properties !== null && !isPlainObject(properties)) {
    violations.push({ field: "properties", rule: "must be an object" });
  }
  if (isPlainObject(properties) && properties.reported !== undefined && kind === "patch") {
    violations.push({ field: "properties.reported", rule: "is written by the device only" });
  }
  const tags = body.tags ?? undefined;
  const rawDesired = isPlainObject(properties) ? properties.desired : undefined;
  const desired = isPlainObject(rawDesired) ? withoutHubFields(rawDesired) : rawDesired;
  if (tags !== undefined) violations.push(...checkTwinSection("tags", tags));
  if (desired !== undefined && desired !== null) {
    violations.push(...checkTwinSection("desired", desired, "properties.desired"));
  }
  return {
    update: {
      tags: tags as TwinProperties | undefined,
      desired: desired as TwinProperties | null | undefined,
    },
    violations,
  };
}

function withoutHubFields(section: TwinProperties): TwinProperties {
  const { $metadata: _metadata, $version: _version, ...rest } = section;
  return rest;
}
