import { ModuleClient, type Twin } from "azure-iot-device";
import { Mqtt } from "azure-iot-device-mqtt";
import { deviceMqttTrusting } from "../lib/iothub/deviceMqttTrust";
import { withTimeout } from "./failures";

/** A module client over MQTT, trusting only `caPem` when given (else the system CAs). */
export async function openModuleClient(
  connectionString: string,
  caPem: string | undefined,
): Promise<ModuleClient> {
  const client = ModuleClient.fromConnectionString(
    connectionString,
    caPem === undefined ? Mqtt : deviceMqttTrusting(caPem),
  );
  // Without an 'error' listener a late transport error would crash the whole run instead of failing one module.
  client.on("error", () => undefined);
  await client.open();
  return client;
}

/**
 * Listens for desired-property patches and resolves once the hub has granted the subscription. The SDK
 * subscribes when the first listener is added but does not say when that is done, and patches sent before the
 * SUBACK are lost; asking again for the same subscription completes only after it is in place.
 */
export async function listenForDesiredPatches(
  twin: Twin,
  onPatch: (patch: Record<string, unknown>) => void,
): Promise<void> {
  let first = true;
  twin.on("properties.desired", (value: Record<string, unknown>) => {
    // The first event is the whole current document, fired as the listener is added; patches come after it.
    if (first) {
      first = false;
      return;
    }
    onPatch(value);
  });
  await new Promise<void>((resolve, reject) =>
    twin.enableTwinDesiredPropertiesUpdates((error) => (error ? reject(error) : resolve())),
  );
}

/** Closes without letting a hung transport hold the run: close is best effort after the verdict is known. */
export async function closeQuietly(client: ModuleClient | undefined, seconds: number): Promise<void> {
  if (client) await withTimeout(client.close(), seconds).catch(() => undefined);
}
