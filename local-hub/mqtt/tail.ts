import { connect } from "node:net";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { escapeLogText } from "../hubLog";
import { telemetryTapPath, type TelemetryMessage } from "./telemetryTap";

/**
 * `iothub-local tail [--device D] [--module M] [--state DIR]`: prints device-to-cloud messages as the running hub
 * accepts them, one line each: `<time> <deviceId>[/<moduleId>] <body>[ <properties as JSON>]` (`json: true`: the
 * message as one JSON line). Says on stderr when it is watching, so scripts can wait for that line. A message is
 * one line whatever its body holds: the body is escaped as the hub's log lines are, the properties are JSON with
 * every control character and line separator \u-escaped.
 */
export interface TailOptions {
  /** The hub's state dir (default `.iothub-local`). */
  stateDir?: string;
  device?: string;
  module?: string;
  json?: boolean;
  /** Where messages go (default stdout); status lines go to `err` (default stderr). */
  out?: NodeJS.WritableStream;
  err?: NodeJS.WritableStream;
}

/** Resolves with the exit code: 0 when the hub stops, 1 when no hub runs on the state dir. */
export function runTail(options: TailOptions = {}): Promise<number> {
  const stateDir = resolve(options.stateDir ?? ".iothub-local");
  const out = options.out ?? process.stdout;
  const err = options.err ?? process.stderr;
  const socket = connect(telemetryTapPath(stateDir));
  return new Promise((done) => {
    let finished = false;
    const finish = (code: number, line: string): void => {
      if (finished) return;
      finished = true;
      err.write(line);
      done(code);
    };
    // One handler for every error of the tap, before and after the connection: readline re-emits its input's
    // errors on the interface, which would crash the CLI with an unhandled 'error' were it not listened to.
    const fail = (error: NodeJS.ErrnoException): void => {
      const unreachable = error.code === "ENOENT" || error.code === "ECONNREFUSED";
      finish(
        1,
        unreachable
          ? `tail: no hub is running on state dir ${stateDir} (start one with: iothub-local start --state ${stateDir})\n`
          : `tail: cannot read the hub's telemetry: ${error.message}\n`,
      );
    };
    socket.on("error", fail);
    socket.once("connect", () => {
      const who = options.device ? ` of ${options.device}${options.module ? `/${options.module}` : ""}` : "";
      err.write(`tail: watching telemetry${who} at the hub in ${stateDir} (Ctrl+C to stop)\n`);
      const lines = createInterface({ input: socket });
      lines.on("error", fail);
      lines.on("line", (line) => {
        const message = JSON.parse(line) as TelemetryMessage;
        if (options.device && message.deviceId !== options.device) return;
        if (options.module && message.moduleId !== options.module) return;
        out.write((options.json ? line : formatMessage(message)) + "\n");
      });
    });
    socket.once("close", (hadError) => {
      if (!hadError) finish(0, "tail: the hub stopped\n");
    });
  });
}

export function formatMessage(message: TelemetryMessage): string {
  const who = message.moduleId ? `${message.deviceId}/${message.moduleId}` : message.deviceId;
  const properties =
    Object.keys(message.properties).length > 0 ? ` ${terminalSafeJson(message.properties)}` : "";
  return `${message.enqueuedTime} ${escapeLogText(who)} ${escapeLogText(message.body)}${properties}`;
}

/** JSON.stringify escapes C0 controls only; DEL, C1 controls and U+2028/U+2029 get `\uNNNN` too (still JSON). */
function terminalSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\u009f\u2028\u2029]/g,
    (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
