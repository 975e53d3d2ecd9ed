/**
 * IoT Hub ends an MQTT connection that authenticated with a SAS token when the token's `se` passes; the device SDK
 * then connects again with a renewed token. One timer per connection, from its CONNECT until it closes: a closed
 * connection leaves no timer behind (`release`), and `close` clears all of them when the hub shuts down.
 */

/**
 * Node fires a timer whose delay exceeds a signed 32-bit millisecond count (~24.8 days) after 1 ms instead: a token
 * valid for longer is looked at again after this long rather than closing its connection at once.
 */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

export class TokenExpiry<Connection extends object> {
  private readonly timers = new Map<Connection, NodeJS.Timeout>();

  constructor(
    private readonly onExpired: (connection: Connection) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Calls `onExpired(connection)` once `expiresAtMs` has passed, unless the connection was released first. */
  watch(connection: Connection, expiresAtMs: number): void {
    this.release(connection);
    const delay = Math.max(0, expiresAtMs - this.now());
    const timer = setTimeout(
      () => {
        if (delay > MAX_TIMER_DELAY_MS) return this.watch(connection, expiresAtMs);
        this.timers.delete(connection);
        this.onExpired(connection);
      },
      Math.min(delay, MAX_TIMER_DELAY_MS),
    );
    this.timers.set(connection, timer);
  }

  /** The connection closed: its timer goes with it. */
  release(connection: Connection): void {
    const timer = this.timers.get(connection);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.timers.delete(connection);
  }

  /** Connections whose token is being watched. */
  get size(): number {
    return this.timers.size;
  }

  close(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
