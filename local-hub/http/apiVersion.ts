import { IotHubError } from "../errors/iotHubError";

/**
 * The service api-versions the local hub answers: IoT Hub's dated data-plane versions that Microsoft's SDKs send
 * or have sent (azure-iothub for Node and azure-iot-hub for Python 2021-04-12; azure-iot-device for Python
 * 2019-10-01, earlier 2018-06-30, and 2020-09-30 for Plug and Play; older SDK releases the rest). Which SDK sends
 * which is in docs/field-notes.md ("IoT Hub's answers to untrusted input"). One behaviour serves them all.
 */
export const SUPPORTED_API_VERSIONS: ReadonlySet<string> = new Set([
  "2016-11-14",
  "2017-06-30",
  "2017-11-08-preview",
  "2018-01-26",
  "2018-04-01",
  "2018-06-30",
  "2018-08-30-preview",
  "2019-03-30",
  "2019-06-30",
  "2019-07-01-preview",
  "2019-10-01",
  "2020-03-13",
  "2020-05-31-preview",
  "2020-06-30-preview",
  "2020-09-30",
  "2021-04-12",
]);

/**
 * IoT Hub refuses a request without `api-version`, or with one it does not know, with 400 InvalidProtocolVersion
 * (error code 400001: "The API version used by the SDK is not supported by the IoT hub endpoint").
 */
export function checkApiVersion(query: URLSearchParams): IotHubError | undefined {
  const versions = query.getAll("api-version");
  if (versions.length === 0) {
    return new IotHubError(400, "InvalidProtocolVersion", "The api-version query parameter is required.");
  }
  if (versions.length > 1 || !SUPPORTED_API_VERSIONS.has(versions[0])) {
    return new IotHubError(
      400,
      "InvalidProtocolVersion",
      `api-version: must be one IoT Hub supports, e.g. 2021-04-12 (supported: ${[...SUPPORTED_API_VERSIONS].join(", ")}).`,
    );
  }
  return undefined;
}
