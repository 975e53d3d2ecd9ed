import { Agent } from "node:https";
import { createSecureContext } from "node:tls";
import { ProvisioningServiceClient } from "azure-iot-provisioning-service";
import { defaultTrustPlus, readableCertificates } from "../iothub/caCertificates";
import { describeViolations } from "../iothub/rules";
import { checkServiceConnectionString } from "../iothub/sas";

/**
 * DPS's service SDK client (azure-iot-provisioning-service) from a DPS connection string, trusting a given CA in
 * this process (no NODE_EXTRA_CA_CERTS), as lib/iothub/serviceClient.ts does for IoT Hub's. The client is made by
 * the SDK's own `fromConnectionString` (which signs every request afresh, an hour ahead); its REST client then gets
 * an agent whose secure context trusts Node's roots plus `caCertificate`. TLS verification stays on. The SDK
 * reaches `https://<HostName>:443` only.
 */
export function dpsServiceClient(
  connectionString: string,
  caCertificate?: string,
): ProvisioningServiceClient {
  const violations = checkServiceConnectionString(connectionString);
  if (violations.length > 0) throw new Error(describeViolations(violations));
  const client = ProvisioningServiceClient.fromConnectionString(connectionString);
  if (caCertificate !== undefined) {
    const agent = new Agent({
      keepAlive: true,
      secureContext: createSecureContext({
        ca: defaultTrustPlus(readableCertificates(caCertificate, "caCertificate")),
      }),
    });
    // The SDK keeps its REST client private; setOptions({http: {agent}}) is its own way to pass an agent on.
    (
      client as unknown as { _restApiClient: { setOptions(options: unknown): void } }
    )._restApiClient.setOptions({
      http: { agent },
    });
  }
  return client;
}
