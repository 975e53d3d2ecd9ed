import { EventEmitter } from "node:events";

/** Identifies a device (moduleId undefined) or a module. */
export interface IdentityRef {
  deviceId: string;
  moduleId?: string;
}

/**
 * The hub's in-process event bus: the service API (HTTPS handlers) announces changes, the device API (MQTT)
 * reacts: pushes desired patches, drops connections of identities that were deleted, re-keyed or disabled; the ADM
 * engine re-evaluates its target conditions on twin, identity and configuration changes.
 */
export interface HubEventMap {
  /** The desired properties of a twin changed; `patch` is what changed (null = removed), `version` the new $version. */
  desiredChanged: [identity: IdentityRef, patch: Record<string, unknown>, version: number];
  /** The identity can no longer connect as it did: deleted, keys or thumbprints changed, or its device disabled. */
  identityRevoked: [identity: IdentityRef, reason: "deleted" | "credentialsChanged" | "disabled"];
  /** An identity was created, or its twin's tags or reported properties changed: what target conditions read. */
  twinChanged: [identity: IdentityRef];
  /** An ADM configuration was created, updated or deleted. */
  configurationChanged: [configurationId: string];
}

export class HubEvents extends EventEmitter<HubEventMap> {}
