/**
 * What quotas and faults are counted by: IoT Hub throttles per operation class, and tests inject faults per class.
 * HTTPS classes come first; `desiredPush` and `deviceTwin` are MQTT (the device API).
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
  "desiredPush",
  "deviceTwin",
] as const;
export type OperationClass = (typeof OPERATION_CLASSES)[number];
