import { processWide } from "./processState";

/**
 * Paces calls to a hub. The engine runs every resource of a class in ONE provider process with unbounded
 * parallelism, and deserializes each resource class's provider separately; the limiters are therefore
 * process-wide (see processState.ts), so that all providers in the process share one limiter per hub.
 */
export class Pacer {
  /** When the next call would be due at the steady rate (GCRA's theoretical arrival time). */
  private due: number;
  private interval: number;
  private burst: number;

  // Fields are set in the constructor, not by initializers: closure serialization drops class field initializers.
  constructor(opsPerSecond: number, burst = 1) {
    this.due = 0;
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

/** The process-wide limiter for `hub` (a host name) and `limiterName`, created on first use. */
export function pacerFor(hub: string, limiterName: string, opsPerSecond: number, burst = 1): Pacer {
  const pacers = processWide("pacers", () => new Map<string, Pacer>());
  const key = `${hub}|${limiterName}`;
  let pacer = pacers.get(key);
  if (!pacer) {
    pacer = new Pacer(opsPerSecond, burst);
    pacers.set(key, pacer);
  } else pacer.setRate(opsPerSecond, burst);
  return pacer;
}
