import { createHmac } from "node:crypto";

/**
 * A device's key under a symmetric-key enrollment group, as DPS derives it: base64(HMAC-SHA256(key = the group's
 * key, base64-decoded; message = the registration id)). The local DPS checks a registering device's SAS with it,
 * `iothub-local dps derive-key` prints it, and verify signs its simulated devices with it: one definition.
 */
export function deriveDeviceKey(groupKey: string, registrationId: string): string {
  return createHmac("sha256", Buffer.from(groupKey, "base64"))
    .update(registrationId, "utf8")
    .digest("base64");
}
