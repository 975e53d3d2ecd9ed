/**
 * What quotas and faults are counted by: IoT Hub throttles per operation class, and tests inject faults per class.
 * HTTPS classes come first; `desiredPush` and `deviceTwin` are MQTT (the device API). The local DPS has its own:
 * `dpsService` (its service API: enrollments, registration states) and `dpsRegistration` (devices registering).
 */
export const OPERATION_CLASSES = [
  "registry",
  "bulk",
  "twinRead",
  "twinUpdate",
  "query",
  "methods",
  "statistics",
  "configurations",
  "dpsService",
  "dpsRegistration",
  "desiredPush",
  "deviceTwin",
] as const;
export type OperationClass = (typeof OPERATION_CLASSES)[number];
