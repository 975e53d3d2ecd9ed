import { createServer, type Server } from "node:https";
import type { Socket } from "node:net";
import type { RequestListener } from "./serviceApi";

export interface HttpsListener {
  port: number;
  /** Stops accepting, ends idle keep-alive connections and destroys the rest (hung requests included). */
  close(): Promise<void>;
}

/**
 * How long an idle keep-alive connection stays open: 240 s, as IoT Hub (docs/field-notes.md, IoT Hub's rules). The
 * service SDK keeps idle sockets and reuses them; with Node's 5 s default the hub closed one just as a client sent
 * on it ("socket hang up").
 */
export const KEEP_ALIVE_TIMEOUT_MS = 240_000;

/**
 * A connection that is not idle must deliver its request's headers within 30 s and the whole request (bodies are
 * at most 256 KB) within 60 s: a slow client cannot hold a socket for the long keep-alive time.
 */
export const HEADERS_TIMEOUT_MS = 30_000;
export const REQUEST_TIMEOUT_MS = 60_000;

/** Listens on `host:port` with the hub's server certificate; rejects with the listen error (EACCES, EADDRINUSE). */
export async function listenHttps(
  options: { host: string; port: number; key: string; cert: string },
  listener: RequestListener,
): Promise<HttpsListener> {
  const server: Server = createServer(
    {
      key: options.key,
      cert: options.cert,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      headersTimeout: HEADERS_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
    },
    listener,
  );
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  // A client that vanishes mid-handshake must not bring the hub down.
  server.on("tlsClientError", () => undefined);

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;

  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
