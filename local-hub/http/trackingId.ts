import { randomBytes } from "node:crypto";

/**
 * IoT Hub puts a tracking id in every error; the hub logs it too, so a test failure can be found in the log.
 * A random prefix per process and a counter: unique, and far cheaper per request than a UUID.
 */
const prefix = randomBytes(8).toString("hex");
let counter = 0;

export function newTrackingId(): string {
  counter += 1;
  return `${prefix}${counter.toString(16).padStart(8, "0")}`;
}
