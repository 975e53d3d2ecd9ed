import { ProvisioningDeviceClient } from "azure-iot-provisioning-device";
import type { RegistrationResult } from "azure-iot-provisioning-device/dist/interfaces";
import { Mqtt } from "azure-iot-provisioning-device-mqtt";
import { mqttBaseTrusting } from "../iothub/deviceMqttTrust";
import { SymmetricKeySecurityClient } from "azure-iot-security-symmetric-key";

/**
 * DPS's device SDK (azure-iot-provisioning-device over azure-iot-provisioning-device-mqtt; symmetric keys, or an
 * X.509 certificate for an individual enrollment), trusting a given CA in this process. The MQTT transport has no
 * CA option of its own (its `setTransportOptions` takes only `pollingInterval`), but its constructor takes the
 * MqttBase it connects through: one on a secure context made once for the CA (lib/iothub/deviceMqttTrust.ts).
 * TLS verification stays on.
 *
 * `provisioningHost` is the DPS's device endpoint: the SDK connects to `mqtts://<provisioningHost>`, so a
 * `host:port` reaches a port other than 8883 (the local DPS in tests).
 */
export interface DeviceRegistrationOptions {
  provisioningHost: string;
  idScope: string;
  registrationId: string;
  /** The device's key: its individual enrollment's, or the one derived from its group's key. */
  key?: string;
  /** Instead of a key: the device's certificate and private key (PEM), sent as the TLS client certificate. */
  certificate?: { cert: string; key: string };
  caCertificate?: string;
}

type SecurityClient = Parameters<typeof ProvisioningDeviceClient.create>[3];

export async function registerDevice(options: DeviceRegistrationOptions): Promise<RegistrationResult> {
  // The transport has no CA option; its constructor takes the MqttBase it connects through.
  const transport =
    options.caCertificate === undefined
      ? new Mqtt()
      : new Mqtt(mqttBaseTrusting(options.caCertificate) as unknown as ConstructorParameters<typeof Mqtt>[0]);
  const { certificate, key, registrationId } = options;
  if ((certificate === undefined) === (key === undefined)) {
    throw new Error("registerDevice: give the device's key or its certificate");
  }
  // The SDK's X509SecurityClient interface; azure-iot-security-x509 would read the same from files.
  const x509: SecurityClient | undefined = certificate && {
    getCertificate: (callback) => callback(undefined, certificate),
    getRegistrationId: () => registrationId,
  };
  const client = ProvisioningDeviceClient.create(
    options.provisioningHost,
    options.idScope,
    transport,
    x509 ??
      // Each package carries its own copy of azure-iot-common, whose SharedAccessSignature classes TypeScript
      // tells apart (a private field); at run time the provisioning client only calls the token's toString().
      (new SymmetricKeySecurityClient(registrationId, key!) as unknown as SecurityClient),
  );
  return (await client.register()) as RegistrationResult;
}
