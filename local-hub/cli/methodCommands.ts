import type { Command } from "commander";
import { checkDeviceId, checkModuleId } from "../../lib/iothub/rules";
import { exitAfterOutput, refuseViolations, UsageError } from "./commandLine";
import { printOutput } from "./output";
import { callService, serviceTarget, withServiceFlags, type ServiceFlags } from "./serviceTarget";

/**
 * `method invoke DEVICE [--module M] --name NAME [--payload JSON] [--timeout S] [--connect-timeout S]`: a direct
 * method through the service SDK; prints the device's status and payload (a status the device chose, whatever it
 * is, is an answer: exit 0).
 */

interface MethodFlags extends ServiceFlags {
  module?: string;
  name: string;
  payload?: string;
  timeout?: string;
  connectTimeout?: string;
}

/** IoT Hub's bounds for a direct method's responseTimeoutInSeconds and connectTimeoutInSeconds. */
const RESPONSE_TIMEOUT = { min: 5, max: 300, default: 30 };
const CONNECT_TIMEOUT = { min: 0, max: 300 };

export function addMethodCommands(program: Command): void {
  const method = program.command("method").description("direct methods (through the service API)");
  withServiceFlags(
    method
      .command("invoke <deviceId>")
      .description("call a direct method on a connected device or (--module) module")
      .option("--module <moduleId>", "a module of the device")
      .requiredOption("--name <method>", "the method's name")
      .option("--payload <json>", "the request payload, JSON (default: null)")
      .option(
        "--timeout <seconds>",
        `how long to wait for the answer, ${RESPONSE_TIMEOUT.min}-${RESPONSE_TIMEOUT.max} (default: ${RESPONSE_TIMEOUT.default})`,
      )
      .option(
        "--connect-timeout <seconds>",
        `how long to wait for the device to connect, ${CONNECT_TIMEOUT.min}-${CONNECT_TIMEOUT.max} (default: 0)`,
      ),
  ).action(
    exitAfterOutput(async (deviceId: string, flags: MethodFlags) => {
      refuseViolations([
        ...checkDeviceId(deviceId),
        ...(flags.module === undefined ? [] : checkModuleId(flags.module, "--module")),
      ]);
      if (flags.name.trim() === "") throw new UsageError("--name: must not be empty");
      const params = {
        methodName: flags.name,
        payload: flags.payload === undefined ? null : parsePayload(flags.payload),
        responseTimeoutInSeconds:
          seconds("--timeout", flags.timeout, RESPONSE_TIMEOUT) ?? RESPONSE_TIMEOUT.default,
        connectTimeoutInSeconds: seconds("--connect-timeout", flags.connectTimeout, CONNECT_TIMEOUT),
      };
      const client = serviceTarget(flags).client();
      const answer = await callService(() =>
        flags.module === undefined
          ? client.invokeDeviceMethod(deviceId, params)
          : client.invokeDeviceMethod(deviceId, flags.module, params),
      );
      const result = answer.result as { status: number; payload: unknown };
      printOutput(
        { status: result.status, payload: result.payload },
        [
          { header: "status", value: (row) => row.status },
          { header: "payload", value: (row) => row.payload },
        ],
        flags.output,
      );
    }),
  );
}

function parsePayload(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError("--payload: must be JSON (a string needs its quotes: '\"text\"')");
  }
}

function seconds(
  flag: string,
  text: string | undefined,
  bounds: { min: number; max: number },
): number | undefined {
  if (text === undefined) return undefined;
  const value = /^[0-9]{1,4}$/.test(text) ? Number(text) : NaN;
  if (!(value >= bounds.min && value <= bounds.max)) {
    throw new UsageError(`${flag}: '${text}' must be a whole number of seconds, ${bounds.min}-${bounds.max}`);
  }
  return value;
}
