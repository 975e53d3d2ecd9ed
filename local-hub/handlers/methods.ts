import { DATA_ACTIONS } from "../../lib/iothub/dataPlaneRoles";
import { badRequest, IotHubError } from "../errors/iotHubError";
import type { IdentityRef } from "../events";
import type { HubRequest, HubResponse, Route } from "./route";

/**
 * Direct methods on the service side: `POST /twins/{d}[/modules/{m}]/methods`, answered like IoT Hub with
 * 200 {status, payload} once the device answers, 404 DeviceNotOnline when it is not connected (and listening for
 * methods) within connectTimeoutInSeconds, 504 GatewayTimeout when it does not answer within
 * responseTimeoutInSeconds. The device side (local-hub/mqtt) carries the call out.
 */

export interface MethodRequest {
  methodName: string;
  payload: unknown;
  responseTimeoutInSeconds: number;
  connectTimeoutInSeconds: number;
}

export interface MethodResult {
  /** The status the device answered with. */
  status: number;
  payload: unknown;
}

export interface MethodInvoker {
  /** Throws IotHubError 404 DeviceNotOnline or 504 GatewayTimeout as IoT Hub answers them. */
  invokeMethod(identity: IdentityRef, request: MethodRequest): Promise<MethodResult>;
}

/** IoT Hub's bounds for the two timeouts (seconds). */
const RESPONSE_TIMEOUT = { min: 5, max: 300, default: 30 };
const CONNECT_TIMEOUT = { min: 0, max: 300, default: 0 };

export const deviceNotOnline = (identity: IdentityRef): IotHubError =>
  new IotHubError(404, "DeviceNotOnline", `Timed out waiting for device ${describe(identity)} to connect.`);

export const gatewayTimeout = (identity: IdentityRef): IotHubError =>
  new IotHubError(
    504,
    "GatewayTimeout",
    `Timed out waiting for the response from device ${describe(identity)}.`,
  );

function describe(identity: IdentityRef): string {
  return identity.moduleId ? `${identity.deviceId}/${identity.moduleId}` : identity.deviceId;
}

export function parseMethodRequest(body: unknown): MethodRequest {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw badRequest("The request body must be a JSON object with methodName, payload and timeouts.");
  }
  const fields = body as Record<string, unknown>;
  if (typeof fields.methodName !== "string" || fields.methodName.length === 0) {
    throw badRequest("methodName: must be a non-empty string.");
  }
  if (/[/#+?]/.test(fields.methodName)) {
    throw badRequest("methodName: must not contain '/', '#', '+' or '?'.");
  }
  return {
    methodName: fields.methodName,
    payload: fields.payload ?? null,
    responseTimeoutInSeconds: timeout(
      fields.responseTimeoutInSeconds,
      "responseTimeoutInSeconds",
      RESPONSE_TIMEOUT,
    ),
    connectTimeoutInSeconds: timeout(
      fields.connectTimeoutInSeconds,
      "connectTimeoutInSeconds",
      CONNECT_TIMEOUT,
    ),
  };
}

function timeout(
  value: unknown,
  field: string,
  bounds: { min: number; max: number; default: number },
): number {
  if (value === undefined || value === null) return bounds.default;
  if (typeof value !== "number" || !Number.isInteger(value) || value < bounds.min || value > bounds.max) {
    throw badRequest(`${field}: must be a whole number of seconds from ${bounds.min} to ${bounds.max}.`);
  }
  return value;
}

export function createMethodRoutes(invoker: MethodInvoker): Route[] {
  const invoke = async (identity: IdentityRef, request: HubRequest): Promise<HubResponse> => {
    const result = await invoker.invokeMethod(identity, parseMethodRequest(request.body));
    return { status: 200, body: { status: result.status, payload: result.payload } };
  };
  return [
    {
      method: "POST",
      pattern: "/twins/:deviceId/methods",
      right: "ServiceConnect",
      dataActions: [DATA_ACTIONS.directMethodsInvoke],
      operationClass: "methods",
      handle: (request) => invoke({ deviceId: request.params.deviceId }, request),
    },
    {
      method: "POST",
      pattern: "/twins/:deviceId/modules/:moduleId/methods",
      right: "ServiceConnect",
      dataActions: [DATA_ACTIONS.directMethodsInvoke],
      operationClass: "methods",
      handle: (request) =>
        invoke({ deviceId: request.params.deviceId, moduleId: request.params.moduleId }, request),
    },
  ];
}
