import { connect as tcpConnect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { isIP } from "node:net";
import type { Registry } from "azure-iothub";
import { isNotFound } from "../components/registry/errors";
import { parseConnectionString } from "../lib/iothub/sas";
import { describeError, withTimeout, type Failure } from "./failures";
import { mqttEndpoint } from "./outputs";

/**
 * Tells why a module client could not connect. The device SDK reports every first-connect failure (TLS included)
 * as UnauthorizedError "Not authorized", which a person cannot act on. So this probes the path itself, layer by
 * layer: TCP to the MQTT endpoint, then TLS with the same trust as the client, then asks the registry whether
 * the module exists and whether the connection string's key is one of its keys.
 */

export interface DiagnosisContext {
  deviceId: string;
  moduleId: string;
  connectionString: string;
  caPem?: string;
  trustDescription: string;
  /** The service SDK client of the run (the stack's service connection string). */
  registry: Registry;
  timeoutSeconds: number;
  /** What the SDK said, for the last-resort message. */
  clientError: unknown;
  /** True when the client's open() never settled within --timeout. */
  timedOut: boolean;
}

export async function diagnoseConnectFailure(context: DiagnosisContext): Promise<Failure> {
  const { host, port, hostName } = mqttEndpoint(context.connectionString);
  const where = `${host}:${port}`;
  const tcp = await probeTcp(host, port, context.timeoutSeconds);
  if (tcp) {
    return {
      kind: "hub-unreachable",
      step: "connect",
      message:
        `hub unreachable: no TCP connection to the MQTT endpoint ${where} (${tcp}). Is the hub running, and ` +
        "does the connection string's HostName/GatewayHostName point at it?",
    };
  }
  const tls = await probeTls(host, port, hostName, context.caPem, context.timeoutSeconds);
  if (tls) {
    return {
      kind: "untrusted-ca",
      step: "connect",
      message:
        `untrusted CA: the TLS handshake with ${where} failed (${tls}) while trusting ${context.trustDescription}. ` +
        "Pass the hub's CA with --ca FILE (the local hub's is <state dir>/ca.pem) or NODE_EXTRA_CA_CERTS.",
    };
  }
  const registryVerdict = await checkRegistry(context);
  if (registryVerdict) return registryVerdict;
  if (context.timedOut) {
    return {
      kind: "connect-timeout",
      step: "connect",
      message:
        `connect timed out: ${where} accepted TCP and TLS but the MQTT connection was not accepted within ` +
        `${context.timeoutSeconds} s. The hub may be overloaded or hanging; try a larger --timeout.`,
    };
  }
  return {
    kind: "connect-refused",
    step: "connect",
    message:
      `connect refused: ${where} is reachable and trusted, the key matches the registry, yet the hub refused ` +
      `the module (${describeError(context.clientError)}).`,
  };
}

async function probeTcp(host: string, port: number, timeoutSeconds: number): Promise<string | undefined> {
  return settleProbe(
    new Promise((resolve) => {
      const socket = tcpConnect({ host, port });
      socket.once("connect", () => {
        socket.destroy();
        resolve(undefined);
      });
      socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    }),
    timeoutSeconds,
  );
}

async function probeTls(
  host: string,
  port: number,
  hostName: string,
  caPem: string | undefined,
  timeoutSeconds: number,
): Promise<string | undefined> {
  return settleProbe(
    new Promise((resolve) => {
      const servername = isIP(host) ? undefined : host;
      const socket = tlsConnect({ host, port, servername, ...(caPem ? { ca: caPem } : {}) });
      socket.once("secureConnect", () => {
        socket.destroy();
        resolve(undefined);
      });
      socket.once("error", (error: NodeJS.ErrnoException) => {
        socket.destroy();
        resolve(
          `${error.code ?? "error"}: ${error.message}${hostName !== host ? ` (HostName ${hostName})` : ""}`,
        );
      });
    }),
    timeoutSeconds,
  );
}

async function settleProbe(
  probe: Promise<string | undefined>,
  timeoutSeconds: number,
): Promise<string | undefined> {
  try {
    return await withTimeout(probe, timeoutSeconds);
  } catch {
    return `no answer within ${timeoutSeconds} s`;
  }
}

/** The registry knows whether the module exists and which keys it has; undefined when all looks right. */
async function checkRegistry(context: DiagnosisContext): Promise<Failure | undefined> {
  const name = `${context.deviceId}/${context.moduleId}`;
  let module;
  try {
    module = (
      await withTimeout(
        context.registry.getModule(context.deviceId, context.moduleId),
        context.timeoutSeconds,
      )
    ).responseBody;
  } catch (error) {
    if (isNotFound(error)) {
      return {
        kind: "module-not-found",
        step: "connect",
        message: `module not found: the hub has no module ${name}. Run \`pulumi up\` (or refresh the outputs).`,
      };
    }
    // The registry cannot tell more (its own access failed): the SDK's refusal is the best evidence left.
    return {
      kind: "bad-key",
      step: "connect",
      message:
        `bad key: the hub refused ${name}'s credentials (${describeError(context.clientError)}); the registry ` +
        `could not be asked to confirm (${describeError(error)}).`,
    };
  }
  const given = parseConnectionString(context.connectionString).SharedAccessKey;
  const keys = module.authentication?.symmetricKey;
  if (given && keys && given !== keys.primaryKey && given !== keys.secondaryKey) {
    return {
      kind: "bad-key",
      step: "connect",
      message:
        `bad key: the SharedAccessKey in ${name}'s connection string is neither of the module's keys on the ` +
        "hub (the keys were changed, or the outputs are stale). Run `pulumi up` or `pulumi refresh`.",
    };
  }
  try {
    const device = (await withTimeout(context.registry.get(context.deviceId), context.timeoutSeconds))
      .responseBody;
    if (device.status === "disabled") {
      return {
        kind: "device-disabled",
        step: "connect",
        message:
          `device disabled: device ${context.deviceId} is disabled on the hub, so its modules cannot connect. ` +
          "Enable it: set the device's status to enabled (or remove status: disabled) in the stack config and " +
          "run `pulumi up`.",
      };
    }
  } catch {
    // The module read worked, so a failed device read adds nothing a person could act on.
  }
  return undefined;
}
