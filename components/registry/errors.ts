/**
 * The service SDK's errors, classified and turned into messages a user can act on. The SDK maps only a few
 * status codes to named errors (a missing module is a plain Error, not DeviceNotFoundError), so the status code of the
 * HTTP response is the primary signal and the error's name the fallback.
 */

import { hubErrorBodyMessage } from "../../lib/iothub/serviceClient";

interface SdkErrorShape {
  name?: string;
  message?: string;
  code?: string;
  statusCode?: number;
  response?: { statusCode?: number };
  responseBody?: string;
}

/** The HTTP status of a failed SDK call, when the hub answered at all. */
export function statusOf(error: unknown): number | undefined {
  const shape = error as SdkErrorShape | undefined;
  return shape?.response?.statusCode ?? shape?.statusCode;
}

export function isNotFound(error: unknown): boolean {
  return statusOf(error) === 404 || (error as SdkErrorShape)?.name === "DeviceNotFoundError";
}

export function isAlreadyExists(error: unknown): boolean {
  return (
    statusOf(error) === 409 ||
    ["DeviceAlreadyExistsError", "ModuleAlreadyExistsOnDeviceError"].includes(nameOf(error))
  );
}

export function isPreconditionFailed(error: unknown): boolean {
  return statusOf(error) === 412 || nameOf(error) === "InvalidEtagError";
}

/** Throttled (429) or temporarily unavailable (503, 500-range gateway errors): the hub did not apply the call. */
export function isTransientRejection(error: unknown): boolean {
  const status = statusOf(error);
  if (status === 429 || status === 503 || status === 502 || status === 504) return true;
  return ["ThrottlingError", "ServiceUnavailableError", "IotHubQuotaExceededError"].includes(nameOf(error));
}

const NETWORK_CODES = ["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "ECONNABORTED", "EAI_AGAIN"];

/** A reset, refused connection or timeout: the hub may or may not have applied the call. */
export function isNetworkFailure(error: unknown): boolean {
  const shape = error as SdkErrorShape | undefined;
  if (shape?.code && NETWORK_CODES.includes(shape.code)) return true;
  if (nameOf(error) === "RequestTimeoutError") return true;
  return /socket hang up|ECONNRESET|ETIMEDOUT/.test(shape?.message ?? "");
}

export function isRetryable(error: unknown): boolean {
  return isTransientRejection(error) || isNetworkFailure(error);
}

function nameOf(error: unknown): string {
  return (error as SdkErrorShape | undefined)?.name ?? "";
}

/** The hub's own explanation: `ErrorCode:<Code>;<text>` in the body's Message, else the SDK's message. */
export function hubMessage(error: unknown): string {
  return hubErrorBodyMessage(error) ?? ((error as SdkErrorShape | undefined)?.message || String(error));
}

/** A timeout the retry layer raises itself, so it classifies like the SDK's network errors. */
export class RequestTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
  }

  override name = "RequestTimeoutError";
}

/**
 * An error naming the resource, what was attempted and the cause. Never includes request bodies (they may hold keys).
 */
export function describeFailure(resource: string, action: string, error: unknown): Error {
  // The Entra path's own errors say what is wrong already (authorizationWait.ts).
  if ((error as { name?: unknown } | undefined)?.name === "EntraAccessError") {
    return new Error(`${resource}: ${action} failed: ${(error as Error).message}`);
  }
  const status = statusOf(error);
  const cause = hubMessage(error);
  let hint = "";
  if (status === 401 || nameOf(error) === "UnauthorizedError") {
    hint = " (check serviceConnectionString: its policy needs RegistryWrite and ServiceConnect)";
  } else if (isTransientRejection(error) || isNetworkFailure(error)) {
    hint =
      " (gave up after the retry budget; raise `registry.maxAttempts`/`maxRetryTimeMs` or lower `registry.opsPerSecond`)";
  }
  return new Error(`${resource}: ${action} failed${status ? ` with HTTP ${status}` : ""}: ${cause}${hint}`);
}
