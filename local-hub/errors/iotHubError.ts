import { describeViolations, type RuleViolation } from "../../lib/iothub/rules";

/**
 * IoT Hub's error answers. The service SDK parses only the `Message` field, and only in the form
 * `ErrorCode:<Code>;<text>`, to choose its error class (DeviceNotFoundError for DeviceNotFound, and by status:
 * 409 DeviceAlreadyExistsError, 412 InvalidEtagError, 401 UnauthorizedError, 429 ThrottlingError, ...).
 * Every handler throws an IotHubError; the server turns it into the status and body IoT Hub would send.
 */
export class IotHubError extends Error {
  constructor(
    /** HTTP status IoT Hub answers with. */
    readonly status: number,
    /** IoT Hub's error code, e.g. `DeviceNotFound`, `ArgumentInvalid`, `PreconditionFailed`. */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "IotHubError";
  }

  /** The body IoT Hub sends, as the SDK parses it. */
  toBody(trackingId: string): { Message: string; ExceptionMessage: string } {
    return {
      Message: `ErrorCode:${this.code};${this.message}`,
      ExceptionMessage: `Tracking ID:${trackingId}-TimeStamp:${new Date().toISOString()}`,
    };
  }
}

export const badRequest = (message: string, code = "ArgumentInvalid"): IotHubError =>
  new IotHubError(400, code, message);
/** 400 ArgumentInvalid naming every field and its rule (`field: rule; field: rule`), when there is any. */
export function throwIfViolations(violations: RuleViolation[]): void {
  if (violations.length > 0) throw badRequest(describeViolations(violations));
}
export const unauthorized = (message: string): IotHubError =>
  new IotHubError(401, "IotHubUnauthorizedAccess", message);
export const deviceNotFound = (deviceId: string): IotHubError =>
  new IotHubError(404, "DeviceNotFound", `Device ${deviceId} not found.`);
export const moduleNotFound = (deviceId: string, moduleId: string): IotHubError =>
  new IotHubError(404, "ModuleNotFound", `Module ${moduleId} on device ${deviceId} not found.`);
export const deviceAlreadyExists = (deviceId: string): IotHubError =>
  new IotHubError(409, "DeviceAlreadyExists", `A device with ID '${deviceId}' is already registered.`);
export const moduleAlreadyExists = (deviceId: string, moduleId: string): IotHubError =>
  new IotHubError(
    409,
    "ModuleAlreadyExistsOnDevice",
    `A module with ID '${moduleId}' is already registered on device '${deviceId}'.`,
  );
export const configurationNotFound = (id: string): IotHubError =>
  new IotHubError(404, "ConfigurationNotFound", `Configuration ${id} not found.`);
export const configurationAlreadyExists = (id: string): IotHubError =>
  new IotHubError(409, "ConfigurationAlreadyExists", `A configuration with ID '${id}' already exists.`);
/** A configuration's content or target condition IoT Hub cannot take. */
export const invalidConfiguration = (
  code: "InvalidConfigurationContent" | "InvalidConfigurationTargetCondition",
  message: string,
): IotHubError => new IotHubError(400, code, message);
export const preconditionFailed = (message: string): IotHubError =>
  new IotHubError(412, "PreconditionFailed", message);
/** A hub limit reached, e.g. the 51st module of a device (the SDK: TooManyDevicesError). */
export const quotaExceeded = (message: string): IotHubError =>
  new IotHubError(403, "IotHubQuotaExceeded", message);
export const throttled = (operationClass: string): IotHubError =>
  new IotHubError(
    429,
    "ThrottlingException",
    `Throttling: the ${operationClass} quota of this hub is used up; retry later.`,
  );
export const serviceUnavailable = (
  message = "The service is temporarily unavailable (injected fault).",
): IotHubError => new IotHubError(503, "ServiceUnavailable", message);
