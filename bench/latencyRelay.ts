import * as net from "node:net";

/**
 * A TCP relay that adds a round-trip time between a client and a server, as between a provisioning machine and an
 * Azure region. TLS passes through untouched (the hub's certificate must name the relay's address). Each chunk is
 * delayed by rtt/2 in its direction; equal delays keep chunks in order.
 */
export interface LatencyRelay {
  close(): Promise<void>;
}

export async function startLatencyRelay(
  listenHost: string,
  listenPort: number,
  targetHost: string,
  targetPort: number,
  rttMs: number,
): Promise<LatencyRelay> {
  const sockets = new Set<net.Socket>();
  const pipeDelayed = (from: net.Socket, to: net.Socket): void => {
    from.on("data", (chunk) => setTimeout(() => to.writable && to.write(chunk), rttMs / 2));
    from.on("end", () => setTimeout(() => to.end(), rttMs / 2));
    from.on("error", () => to.destroy());
    from.on("close", () => setTimeout(() => to.destroy(), rttMs / 2));
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.setNoDelay(true);
    }
    pipeDelayed(client, upstream);
    pipeDelayed(upstream, client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listenPort, listenHost, resolve);
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
