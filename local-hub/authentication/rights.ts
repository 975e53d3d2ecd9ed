/** The rights a shared access policy grants, as IoT Hub names them. */
export const RIGHTS = ["RegistryRead", "RegistryWrite", "ServiceConnect", "DeviceConnect"] as const;
export type Right = (typeof RIGHTS)[number];

/** IoT Hub: RegistryWrite grants read access to the identity registry too. */
export function grants(held: readonly Right[], needed: Right): boolean {
  if (held.includes(needed)) return true;
  return needed === "RegistryRead" && held.includes("RegistryWrite");
}
