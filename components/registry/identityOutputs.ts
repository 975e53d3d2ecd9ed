import {
  authenticationFromOutputs,
  authenticationOutputs,
  type AuthenticationOutputs,
} from "./authentication";
import type { IdentityBody } from "./client";
import { hubHostName, identityConnectionString, type HubConnectionInputs } from "./hubConnection";

/** The inputs every identity (device or module) takes besides its own settings. */
export interface IdentityInputs extends HubConnectionInputs {
  deviceId: string;
  /** Take over an identity that already exists in the hub instead of failing on it. */
  adopt?: boolean;
}

/** The outputs every identity keeps in state besides its inputs and its own settings: what the hub says. */
export interface IdentityOutputFields extends AuthenticationOutputs {
  hostName: string;
  etag: string;
  generationId: string;
  connectionString: string;
}

/**
 * The outputs a device and a module identity share, from the hub's identity: `moduleId` undefined for a device.
 * The connection string carries the primary key (x509=true without one).
 */
export function identityOutputFields(
  inputs: IdentityInputs,
  identity: IdentityBody,
  moduleId: string | undefined,
): IdentityOutputFields {
  const auth = authenticationOutputs(identity);
  return {
    hostName: hubHostName(inputs.serviceConnectionString),
    etag: identity.etag ?? "",
    generationId: identity.generationId ?? "",
    ...auth,
    connectionString: identityConnectionString(inputs, inputs.deviceId, moduleId, auth.primaryKey),
  };
}

/**
 * The stored outputs seen as the hub's identity, for what a device and a module share (the id and the
 * authentication with its keys): diff compares the declaration with it, and an update's PUT keeps its keys.
 */
export function identityFromOutputs(olds: IdentityInputs & IdentityOutputFields): IdentityBody {
  return { deviceId: olds.deviceId, authentication: authenticationFromOutputs(olds) };
}
