/** A reason the hub cannot start that the user can fix; the CLI prints it and exits with `exitCode`. */
export class HubStartError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = "HubStartError";
  }
}

export const EXIT_PORT_NOT_PERMITTED = 2;
export const EXIT_PORT_IN_USE = 3;

/** Turns a listen error into the message and exit code of docs/architecture.md. */
export function listenError(error: unknown, what: string, host: string, port: number): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === "EACCES" && port < 1024) {
    return new HubStartError(
      `cannot bind ${what} to ${host}:${port}: ports below 1024 need privilege, and the service SDK (azure-iothub) ` +
        `only speaks to port 443. Three fixes, pick one:\n` +
        `  1. run the hub as root (e.g. sudo npm run hub)\n` +
        `  2. let node bind low ports: sudo setcap cap_net_bind_service=+ep $(which node)\n` +
        `  3. lower the privileged range: sudo sysctl net.ipv4.ip_unprivileged_port_start=443`,
      EXIT_PORT_NOT_PERMITTED,
    );
  }
  if (code === "EACCES") {
    return new HubStartError(
      `cannot bind ${what} to ${host}:${port}: permission denied`,
      EXIT_PORT_NOT_PERMITTED,
    );
  }
  if (code === "EADDRINUSE") {
    return new HubStartError(
      `cannot bind ${what} to ${host}:${port}: the address is in use (another hub? try --host 127.0.0.2, or stop it)`,
      EXIT_PORT_IN_USE,
    );
  }
  if (code === "EADDRNOTAVAIL") {
    return new HubStartError(`cannot bind ${what} to ${host}:${port}: no such local address`, 1);
  }
  return error;
}
