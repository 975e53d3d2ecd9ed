import { randomUUID } from "node:crypto";
import type { RegistrationOutcome } from "./registrations";

/**
 * The outcomes of register requests, by operation id, until the device polls them
 * (`iotdps-get-operationstatus`). Only the registration that started an operation may read it. Held in memory and
 * bounded: at most `capacity` operations (the oldest go first) for at most `ttlMs` each; a device that polls
 * later registers again, as DPS's operations expire too.
 */
export class RegistrationOperations {
  private readonly operations = new Map<
    string,
    { registrationId: string; outcome: RegistrationOutcome; expiresAtMs: number }
  >();

  constructor(
    private readonly capacity = 10_000,
    private readonly ttlMs = 5 * 60_000,
  ) {}

  /** Records an outcome; returns its new operation id. */
  add(registrationId: string, outcome: RegistrationOutcome, nowMs = Date.now()): string {
    this.expire(nowMs);
    while (this.operations.size >= this.capacity) {
      this.operations.delete(this.operations.keys().next().value as string);
    }
    const operationId = `4.${randomUUID()}`;
    this.operations.set(operationId, { registrationId, outcome, expiresAtMs: nowMs + this.ttlMs });
    return operationId;
  }

  /** The outcome of `registrationId`'s operation; undefined when unknown, expired or another registration's. */
  get(operationId: string, registrationId: string, nowMs = Date.now()): RegistrationOutcome | undefined {
    this.expire(nowMs);
    const operation = this.operations.get(operationId);
    return operation?.registrationId === registrationId ? operation.outcome : undefined;
  }

  get size(): number {
    return this.operations.size;
  }

  /** Insertion order is expiry order (one ttl for all): drop from the front while expired. */
  private expire(nowMs: number): void {
    for (const [operationId, operation] of this.operations) {
      if (operation.expiresAtMs > nowMs) return;
      this.operations.delete(operationId);
    }
  }
}
