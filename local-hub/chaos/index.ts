import type { Database } from "../persistence/database";
import type { Fault, FaultMode } from "./faults";
import { FaultStore } from "./faults";
import type { OperationClass } from "./operationClass";
import { QuotaLimiter, QuotaStore } from "./quotas";

/** What the hub does with one operation. */
export type ChaosVerdict =
  | { action: "proceed" }
  /** Over quota: HTTPS answers 429 ThrottlingException; MQTT answers the twin request with status 429. */
  | { action: "throttle" }
  /** An injected fault fires: `503`, `hang`, `reset` (HTTPS and MQTT) or `drop` (desiredPush). */
  | { action: "fault"; mode: FaultMode; fault: Fault };

/**
 * Quotas and faults, for both the HTTPS service API and the MQTT device API (`desiredPush`, `deviceTwin`). Both read
 * hub.db, so `iothub-local quota|fault ...` in another process changes the running hub at once.
 */
export class Chaos {
  readonly quotas: QuotaStore;
  readonly faults: FaultStore;
  private readonly limiter: QuotaLimiter;

  constructor(db: Database) {
    this.quotas = new QuotaStore(db);
    this.faults = new FaultStore(db);
    this.limiter = new QuotaLimiter(this.quotas);
  }

  /**
   * Decides one operation of `operationClass`; `subject` is its path (HTTPS) or topic (MQTT), matched by
   * `--match`. A fault is consumed when it fires; a throttled call does not count against a fault.
   */
  admit(operationClass: OperationClass, subject: string): ChaosVerdict {
    const fault = this.faults.take(operationClass, subject);
    if (fault) return { action: "fault", mode: fault.mode, fault };
    if (!this.limiter.admit(operationClass)) return { action: "throttle" };
    return { action: "proceed" };
  }

  /**
   * Resolves true once `fault clear` runs (in this process or the CLI), false if `signal` aborts first (the client
   * gave up). Another process's clear can only be seen by looking, so this checks every HANG_POLL_MS while waiting.
   */
  waitForFaultsCleared(signal: AbortSignal): Promise<boolean> {
    const generation = this.faults.clearGeneration();
    return new Promise((resolve) => {
      if (signal.aborted) return resolve(false);
      const timer = setInterval(() => {
        if (this.faults.clearGeneration() === generation) return;
        done(true);
      }, HANG_POLL_MS);
      const onAbort = (): void => done(false);
      const done = (cleared: boolean): void => {
        clearInterval(timer);
        signal.removeEventListener("abort", onAbort);
        resolve(cleared);
      };
      signal.addEventListener("abort", onAbort);
    });
  }
}

const HANG_POLL_MS = 200;

export type { Fault, FaultMode } from "./faults";
export type { QuotaRule } from "./quotas";
