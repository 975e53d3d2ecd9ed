import { processWide } from "./processState";

/**
 * Paces calls to a hub. The engine runs every resource of a class in ONE provider process with unbounded
 * parallelism, and deserializes each resource class's provider separately; the limiters are therefore
 * process-wide (see processState.ts), so that all providers in the process share one limiter per hub.
 */
export class Pacer {
  private nextFree = 0;
  private interval: number;

  constructor(opsPerSecond: number) {
    this.interval = 1000 / opsPerSecond;
  }

  /** Later resources may declare another pace for the same hub: the latest declaration wins. */
  setRate(opsPerSecond: number): void {
    this.interval = 1000 / opsPerSecond;
  }

  /** Resolves when the caller may make its call. Slots are handed out in order, one interval apart. */
  acquire(): Promise<void> {
    const now = Date.now();
    const slot = Math.max(now, this.nextFree);
    this.nextFree = slot + this.interval;
    const delay = slot - now;
    return delay <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/** The process-wide limiter for `hub` (a host name) and `limiterName`, created on first use. */
export function pacerFor(hub: string, limiterName: string, opsPerSecond: number): Pacer {
  const pacers = processWide("pacers", () => new Map<string, Pacer>());
  const key = `${hub}|${limiterName}`;
  let pacer = pacers.get(key);
  if (!pacer) {
    pacer = new Pacer(opsPerSecond);
    pacers.set(key, pacer);
  } else pacer.setRate(opsPerSecond);
  return pacer;
}
