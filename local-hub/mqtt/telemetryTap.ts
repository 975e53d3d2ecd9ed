import { createHash } from "node:crypto";
import { chmodSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { ensurePrivateDirectory } from "../privateDirectory";

/**
 * The telemetry tap: the running hub streams every device-to-cloud message, one JSON line each, to whoever is
 * connected to a Unix socket of its state dir (`iothub-local tail`). Push, not poll: a line is written the moment
 * the message is accepted, and nothing is stored (IoT Hub's built-in endpoint is not this hub's job).
 */
export interface TelemetryMessage {
  /** ISO time the hub accepted it. */
  enqueuedTime: string;
  deviceId: string;
  moduleId?: string;
  /** System (`$.ct`, `$.mid`, ...) and application properties from the topic. */
  properties: Record<string, string>;
  /** The payload as UTF-8 text. */
  body: string;
}

const TAP_SOCKET = "telemetry.sock";

/**
 * Socket paths are limited to ~107 bytes: a long state dir gets a stable path under the temp dir instead, in a
 * directory of its own that, like the state dir, only its owner may enter (the temp dir is everyone's).
 */
export function telemetryTapPath(stateDir: string): string {
  const inStateDir = join(resolve(stateDir), TAP_SOCKET);
  if (Buffer.byteLength(inStateDir) <= 100) return inStateDir;
  const digest = createHash("sha256").update(resolve(stateDir)).digest("hex").slice(0, 16);
  return join(tmpdir(), `iothub-local-${digest}`, TAP_SOCKET);
}

/** Whoever may connect to the tap reads every device's telemetry: the socket is its owner's only. */
const TAP_SOCKET_MODE = 0o600;

/** A slow reader is cut off rather than letting the hub buffer without bound. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

export class TelemetryTap {
  private readonly readers = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    private readonly path: string,
  ) {
    server.on("connection", (socket) => {
      this.readers.add(socket);
      socket.on("error", () => socket.destroy());
      socket.on("close", () => this.readers.delete(socket));
    });
  }

  /**
   * Listens on `path`, in a private directory (the state dir, or its own under the temp dir: PrivateDirectoryError
   * otherwise). The socket is made under the umask and then set to 0600; in between, the private directory is what
   * keeps others out.
   */
  static async open(path: string): Promise<TelemetryTap> {
    ensurePrivateDirectory(dirname(path), {
      what: "the telemetry tap's directory",
      why: "whoever can reach its socket reads every device's telemetry",
    });
    // A socket file left by a hub that was killed would make listen fail with EADDRINUSE.
    rmSync(path, { force: true });
    const server = createServer();
    await new Promise<void>((resolveListen, reject) => {
      server.once("error", reject);
      server.listen(path, () => resolveListen());
    });
    try {
      chmodSync(path, TAP_SOCKET_MODE);
    } catch (error) {
      await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
      throw error;
    }
    return new TelemetryTap(server, path);
  }

  publish(message: TelemetryMessage): void {
    if (this.readers.size === 0) return;
    const line = JSON.stringify(message) + "\n";
    for (const reader of this.readers) {
      if (reader.writableLength > MAX_BUFFERED_BYTES) reader.destroy();
      else reader.write(line);
    }
  }

  async close(): Promise<void> {
    for (const reader of this.readers) reader.destroy();
    await new Promise<void>((resolveClose) => this.server.close(() => resolveClose()));
    rmSync(this.path, { force: true });
  }
}

/** `$.ct=application%2Fjson&$.mid=1&key=value` -> properties. */
export function parseTopicProperties(propertyBag: string): Record<string, string> {
  const properties: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(propertyBag.replace(/\/$/, ""))) properties[key] = value;
  return properties;
}
