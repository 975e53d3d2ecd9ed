/**
 * Paces calls to a hub. The engine runs every resource of a class in ONE provider process with unbounded
 * parallelism; the limiters are module state, and the four registry providers load one module graph in that
 * process (see lazyProvider.ts), so they share one limiter per hub.
 */
export class Pacer {
  /** When the next call would be due at the steady rate (GCRA's theoretical arrival time). */
  private due = 0;
  private interval: number;
  private burst: number;

  constructor(opsPerSecond: number, burst = 1) {
    this.interval = 1000 / opsPerSecond;
    this.burst = Math.max(1, Math.floor(burst));
  }

  /** Later resources may declare another pace for the same hub: the latest declaration wins. */
  setRate(opsPerSecond: number, burst = 1): void {
    this.interval = 1000 / opsPerSecond;
    this.burst = Math.max(1, Math.floor(burst));
  }

  /**
   * Resolves when the caller may make its call. Slots are handed out in order, one interval apart; after a quiet
   * spell up to `burst` calls go at once (like the hub's own bucket, which holds a period's worth).
   */
  acquire(): Promise<void> {
    const now = Date.now();
    const due = Math.max(this.due, now);
    const slot = Math.max(now, due - (this.burst - 1) * this.interval);
    this.due = due + this.interval;
    const delay = slot - now;
    return delay <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/** The limiters of this provider process, by hub host name and limiter name. */
const pacers = new Map<string, Pacer>();

/** The process-wide limiter for `hub` (a host name) and `limiterName`, created on first use. */
export function pacerFor(hub: string, limiterName: string, opsPerSecond: number, burst = 1): Pacer {
  const key = `${hub}|${limiterName}`;
  let pacer = pacers.get(key);
  if (!pacer) {
    pacer = new Pacer(opsPerSecond, burst);
    pacers.set(key, pacer);
  } else pacer.setRate(opsPerSecond, burst);
  return pacer;
}
