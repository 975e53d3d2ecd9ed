import { createServer, type Server } from "node:https";
import type { Socket } from "node:net";
import type { RequestListener } from "./serviceApi";

export interface HttpsListener {
  port: number;
  /** Stops accepting, ends idle keep-alive connections and destroys the rest (hung requests included). */
  close(): Promise<void>;
}

/** Listens on `host:port` with the hub's server certificate; rejects with the listen error (EACCES, EADDRINUSE). */
export async function listenHttps(
  options: { host: string; port: number; key: string; cert: string },
  listener: RequestListener,
): Promise<HttpsListener> {
  const server: Server = createServer({ key: options.key, cert: options.cert }, listener);
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
