import { IotHubError } from "../errors/iotHubError";

/** Any dated version is accepted (the SDKs send 2021-04-12; the local hub implements one behaviour). */
const API_VERSION = /^\d{4}-\d{2}-\d{2}(-preview)?$/;

/** IoT Hub refuses a request without a well-formed `api-version` query parameter. */
export function checkApiVersion(query: URLSearchParams): IotHubError | undefined {
  const version = query.get("api-version");
  if (version === null) {
    return new IotHubError(400, "InvalidProtocolVersion", "The api-version query parameter is required.");
  }
  if (!API_VERSION.test(version)) {
    return new IotHubError(400, "InvalidProtocolVersion", `The api-version '${version}' is not supported.`);
  }
  return undefined;
}
