import { connect } from "node:net";
import { createInterface } from "node:readline";
import { resolve } from "node:path";
import { telemetryTapPath, type TelemetryMessage } from "./telemetryTap";

/**
 * `iothub-local tail [--device D] [--module M] [--state DIR] [--json]`: prints device-to-cloud messages as the
 * running hub accepts them, one line each: `<time> <deviceId>[/<moduleId>] <body>[ <properties as JSON>]`.
 * With --json each line is the message as JSON. Tells on stderr when it is watching (scripts wait for that line).
 */
export interface TailOptions {
  stateDir?: string;
  device?: string;
  module?: string;
  json?: boolean;
  /** Where lines go (default stdout); stderr gets the status lines. */
  out?: NodeJS.WritableStream;
  err?: NodeJS.WritableStream;
}

/** Resolves with the exit code when the hub goes away (0) or cannot be reached (1). */
export function runTail(options: TailOptions = {}): Promise<number> {
  const stateDir = resolve(options.stateDir ?? ".iothub-local");
  const out = options.out ?? process.stdout;
  const err = options.err ?? process.stderr;
  const socket = connect(telemetryTapPath(stateDir));
  return new Promise((done) => {
    socket.once("connect", () => {
      const who = options.device ? ` of ${options.device}${options.module ? `/${options.module}` : ""}` : "";
      err.write(`tail: watching telemetry${who} of the hub in ${stateDir} (Ctrl+C to stop)\n`);
    });
    socket.once("error", (error: NodeJS.ErrnoException) => {
      const reason =
        error.code === "ENOENT" || error.code === "ECONNREFUSED"
          ? `no hub is running with state dir ${stateDir} (start one with: iothub-local start --state ${stateDir})`
          : error.message;
      err.write(`tail: ${reason}\n`);
      done(1);
    });
    socket.once("close", (hadError) => {
      if (!hadError) {
        err.write("tail: the hub stopped\n");
        done(0);
      }
    });
    createInterface({ input: socket }).on("line", (line) => {
      const message = JSON.parse(line) as TelemetryMessage;
      if (options.device && message.deviceId !== options.device) return;
      if (options.module && message.moduleId !== options.module) return;
      out.write((options.json ? line : formatMessage(message)) + "\n");
    });
  });
}

export function formatMessage(message: TelemetryMessage): string {
  const who = message.moduleId ? `${message.deviceId}/${message.moduleId}` : message.deviceId;
  const properties =
    Object.keys(message.properties).length > 0 ? ` ${JSON.stringify(message.properties)}` : "";
  return `${message.enqueuedTime} ${who} ${message.body}${properties}`;
}
