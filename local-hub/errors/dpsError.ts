import { describeViolations, type RuleViolation } from "../../lib/iothub/rules";

/**
 * The Device Provisioning Service's error answers: the HTTP status and a body `{errorCode, trackingId, message,
 * timestampUtc}` whose `errorCode` is DPS's six-digit form (the status followed by three digits). The DPS service
 * SDK (azure-iot-provisioning-service) picks its error class by status alone (400 ArgumentError, 401
 * UnauthorizedError, 404 a plain "Not found", 409 DeviceAlreadyExistsError, 412 InvalidEtagError, 429
 * ThrottlingError) and keeps the body in `responseBody`.
 */
export class DpsError extends Error {
  constructor(
    readonly status: number,
    /** DPS's six-digit code, e.g. 404201. */
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
    this.name = "DpsError";
  }

  toBody(trackingId: string): {
    errorCode: number;
    trackingId: string;
    message: string;
    timestampUtc: string;
  } {
    return {
      errorCode: this.errorCode,
      trackingId,
      message: this.message,
      timestampUtc: new Date().toISOString(),
    };
  }
}

/**
 * The local DPS's codes. 401002 (unauthorized) and 429001 (throttled) are DPS's documented ones; the others follow
 * DPS's form (status + three digits) but were not measured against Azure: clients should go by the status.
 */
export const DPS_ERROR_CODES = {
  badRequest: 400004,
  invalidApiVersion: 400001,
  unauthorized: 401002,
  quotaExceeded: 403001,
  enrollmentNotFound: 404201,
  enrollmentGroupNotFound: 404202,
  registrationNotFound: 404203,
  routeNotFound: 404000,
  methodNotAllowed: 405000,
  alreadyExists: 409201,
  preconditionFailed: 412002,
  tooLarge: 413000,
  throttled: 429001,
  internal: 500000,
  unavailable: 503000,
} as const;

export const dpsBadRequest = (message: string): DpsError =>
  new DpsError(400, DPS_ERROR_CODES.badRequest, message);
/** 400 naming every field and its rule (`field: rule; field: rule`), when there is any. */
export function throwIfDpsViolations(violations: RuleViolation[]): void {
  if (violations.length > 0) throw dpsBadRequest(describeViolations(violations));
}
export const dpsUnauthorized = (message = "Unauthorized"): DpsError =>
  new DpsError(401, DPS_ERROR_CODES.unauthorized, message);
export const enrollmentNotFound = (registrationId: string): DpsError =>
  new DpsError(404, DPS_ERROR_CODES.enrollmentNotFound, `Enrollment ${registrationId} not found.`);
export const enrollmentGroupNotFound = (id: string): DpsError =>
  new DpsError(404, DPS_ERROR_CODES.enrollmentGroupNotFound, `Enrollment group ${id} not found.`);
export const registrationNotFound = (registrationId: string): DpsError =>
  new DpsError(404, DPS_ERROR_CODES.registrationNotFound, `Registration ${registrationId} not found.`);
export const enrollmentAlreadyExists = (registrationId: string): DpsError =>
  new DpsError(409, DPS_ERROR_CODES.alreadyExists, `Enrollment ${registrationId} already exists.`);
export const dpsPreconditionFailed = (what: string, etag: string): DpsError =>
  new DpsError(
    412,
    DPS_ERROR_CODES.preconditionFailed,
    `The etag ${etag} does not match the current etag of ${what}.`,
  );
export const dpsQuotaExceeded = (message: string): DpsError =>
  new DpsError(403, DPS_ERROR_CODES.quotaExceeded, message);
