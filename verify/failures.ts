import type { DesiredMismatch } from "./desired";

/** Why a module failed, as a kind a pipeline can match on and a message a person can act on. */
export type FailureKind =
  | "hub-unreachable"
  | "untrusted-ca"
  | "module-not-found"
  | "device-disabled"
  | "bad-key"
  | "connect-refused"
  | "connect-timeout"
  | "twin-read-failed"
  | "desired-mismatch"
  | "report-failed"
  | "subscribe-failed"
  | "canary-set-failed"
  | "patch-timeout"
  | "canary-remove-failed"
  | "unexpected-error";

/** The steps of one module's check, in order. */
export type StepName = "connect" | "readTwin" | "checkDesired" | "report" | "roundTrip" | "cleanup";

export interface Failure {
  kind: FailureKind;
  step: StepName;
  message: string;
  /** For desired-mismatch: every declared key that differs. */
  mismatches?: DesiredMismatch[];
}

/** A step that did not finish within --timeout. */
export class StepTimeoutError extends Error {
  override readonly name = "StepTimeoutError";
  constructor(readonly seconds: number) {
    super(`did not finish within ${seconds} s`);
  }
}

/** Rejects with StepTimeoutError when `work` has not settled within `seconds`. */
export function withTimeout<T>(work: Promise<T>, seconds: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StepTimeoutError(seconds)), seconds * 1000);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** An SDK error in one line, without stack: `UnauthorizedError: Not authorized`. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const name = error.name && error.name !== "Error" ? `${error.name}: ` : "";
    return `${name}${error.message}`;
  }
  return String(error);
}
