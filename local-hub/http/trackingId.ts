import { randomUUID } from "node:crypto";

/** IoT Hub puts a tracking id in every error; the hub logs it too, so a test failure can be found in the log. */
export function newTrackingId(): string {
  return randomUUID().replace(/-/g, "");
}
