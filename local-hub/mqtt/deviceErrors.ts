import { randomUUID } from "node:crypto";
import { IotHubError } from "../errors/iotHubError";

/**
 * IoT Hub's error answers on MQTT: the status goes in the response topic, the body carries a numeric `errorCode`
 * (status * 1000 + a sub-code), `message` and a tracking id. The SDK fails a request when the body has an
 * `errorCode`, with `message` as the error's text.
 */
const SUB_CODES: Record<string, number> = {
  ArgumentInvalid: 4,
  InvalidPropertyValue: 7,
  DeviceNotFound: 1,
  ModuleNotFound: 10,
  ThrottlingException: 1,
  ServiceUnavailable: 1,
  IotHubUnauthorizedAccess: 1,
};

export interface DeviceErrorAnswer {
  status: number;
  body: { errorCode: number; trackingId: string; message: string; timestampUtc: string };
}

export function deviceErrorAnswer(error: unknown): DeviceErrorAnswer {
  const hubError =
    error instanceof IotHubError
      ? error
      : new IotHubError(500, "ServerError", "The hub failed to process the request.");
  return {
    status: hubError.status,
    body: {
      errorCode: hubError.status * 1000 + (SUB_CODES[hubError.code] ?? 0),
      trackingId: randomUUID().replace(/-/g, ""),
      message: hubError.message,
      timestampUtc: new Date().toISOString(),
    },
  };
}
