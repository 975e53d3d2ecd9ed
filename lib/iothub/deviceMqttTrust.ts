import { createRequire } from "node:module";
import { createSecureContext, type SecureContext } from "node:tls";
import { Mqtt } from "azure-iot-device-mqtt";
import { MqttBase } from "azure-iot-mqtt-base";

/**
 * The device SDKs' MQTT transports on one TLS secure context per CA, made once. The SDKs forward only a `ca` string
 * to tls.connect, and for each connection with a `ca` Node builds a fresh certificate store from all its root
 * certificates: measured, 4.2 of 7.8 CPU seconds of a 100-module verify run. The transports and mqtt.js are the
 * SDKs' own (MqttBase given mqtt.js with the context added); a client certificate (X.509 identity) keeps the SDK's
 * own context with the `ca`, since a given context would drop the certificate. Verification stays on.
 */

type AuthenticationProvider = ConstructorParameters<typeof Mqtt>[0];

interface MqttJs {
  connect(uri: string, options: Record<string, unknown>): unknown;
}

const providers = new Map<string, MqttJs>();
const transports = new Map<string, new (provider: AuthenticationProvider) => Mqtt>();

/** mqtt.js as azure-iot-mqtt-base calls it, connecting with the secure context of `caPem`. */
function mqttJsTrusting(caPem: string): MqttJs {
  let provider = providers.get(caPem);
  if (!provider) {
    const secureContext: SecureContext = createSecureContext({ ca: caPem });
    const mqttJs = createRequire(require.resolve("azure-iot-mqtt-base"))("mqtt") as MqttJs;
    provider = {
      connect: (uri, options) =>
        mqttJs.connect(
          uri,
          options.cert === undefined ? { ...options, secureContext } : { ...options, ca: caPem },
        ),
    };
    providers.set(caPem, provider);
  }
  return provider;
}

/** A transport for `ModuleClient`/`Client.fromConnectionString` that trusts `caPem` (only). */
export function deviceMqttTrusting(caPem: string): new (provider: AuthenticationProvider) => Mqtt {
  let transport = transports.get(caPem);
  if (!transport) {
    const provider = mqttJsTrusting(caPem);
    transport = class extends Mqtt {
      constructor(authenticationProvider: AuthenticationProvider) {
        super(authenticationProvider, new MqttBase(provider));
      }
    };
    transports.set(caPem, transport);
  }
  return transport;
}

/** The MqttBase for the provisioning device client's MQTT transport (`new Mqtt(mqttBase)`), trusting `caPem`. */
export function mqttBaseTrusting(caPem: string): MqttBase {
  return new MqttBase(mqttJsTrusting(caPem));
}
