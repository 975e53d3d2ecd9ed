import type { ServerResponse } from "node:http";
import type { HubResponse } from "../handlers/route";
import { IotHubError } from "../errors/iotHubError";

/** Sends a handler's answer. Bodies are JSON with Content-Type application/json: the SDK parses them only then. */
export function sendResponse(response: ServerResponse, answer: HubResponse, trackingId: string): void {
  const headers: Record<string, string | number> = { "iothub-tracking-id": trackingId, ...answer.headers };
  if (answer.body === undefined) {
    response.writeHead(answer.status, { ...headers, "Content-Length": 0 });
    response.end();
    return;
  }
  const payload = Buffer.from(JSON.stringify(answer.body), "utf8");
  response.writeHead(answer.status, {
    ...headers,
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": payload.length,
  });
  response.end(payload);
}

/** IoT Hub's error answer: status, `iothub-errorcode` header, `{Message: "ErrorCode:X;text", ExceptionMessage}`. */
export function sendError(response: ServerResponse, error: IotHubError, trackingId: string): void {
  sendResponse(
    response,
    { status: error.status, body: error.toBody(trackingId), headers: { "iothub-errorcode": error.code } },
    trackingId,
  );
}

/** Anything a handler throws that is not an IotHubError is a bug of the hub: 500, logged with its tracking id. */
export function toIotHubError(error: unknown, trackingId: string): IotHubError {
  if (error instanceof IotHubError) return error;
  console.error(`[${trackingId}] internal error:`, error);
  return new IotHubError(500, "ServerError", "The local hub failed to process the request (see its log).");
}
