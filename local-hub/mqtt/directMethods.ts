import { randomBytes } from "node:crypto";
import { checkMethodPayload, describeViolations } from "../../lib/iothub/rules";
import { badRequest, type IotHubError } from "../errors/iotHubError";
import type { IdentityRef } from "../events";
import type { MethodRequest, MethodResult } from "../handlers/methods";
import { deviceNotOnline, gatewayTimeout } from "../handlers/methods";

/**
 * Direct-method calls in flight. A call goes to the one connection of the identity that subscribed to
 * `$iothub/methods/POST/#`; its answer is matched by `$rid` AND by the identity that sent it, so no client can
 * answer another's call.
 */

/** Sends one method request to the identity's live, listening connection; false when there is none. */
export type MethodRequestSender = (
  identity: IdentityRef,
  methodName: string,
  rid: string,
  payload: string,
) => boolean;

/** Resolves when the identity is listening for methods, or after `timeoutMs` (false). */
export type ListenerWaiter = (identity: IdentityRef, timeoutMs: number) => Promise<boolean>;

interface PendingCall {
  identityKey: string;
  resolve(result: MethodResult): void;
  reject(error: IotHubError): void;
  fail(): void;
  timer: NodeJS.Timeout;
}

export const identityKey = (identity: IdentityRef): string =>
  identity.moduleId ? `${identity.deviceId}/${identity.moduleId}` : identity.deviceId;

export class DirectMethods {
  private readonly pending = new Map<string, PendingCall>();

  constructor(
    private readonly send: MethodRequestSender,
    private readonly waitForListener: ListenerWaiter,
  ) {}

  async invoke(identity: IdentityRef, request: MethodRequest): Promise<MethodResult> {
    const rid = randomBytes(8).toString("hex");
    const payload = JSON.stringify(request.payload ?? null);
    if (!this.send(identity, request.methodName, rid, payload)) {
      const listening =
        request.connectTimeoutInSeconds > 0 &&
        (await this.waitForListener(identity, request.connectTimeoutInSeconds * 1000));
      if (!listening || !this.send(identity, request.methodName, rid, payload))
        throw deviceNotOnline(identity);
    }
    return new Promise<MethodResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(rid);
        reject(gatewayTimeout(identity));
      }, request.responseTimeoutInSeconds * 1000);
      const fail = (): void => reject(gatewayTimeout(identity));
      this.pending.set(rid, { identityKey: identityKey(identity), resolve, reject, fail, timer });
    });
  }

  /** A `$iothub/methods/res/{status}/?$rid=` from `identity`; ignored unless it answers a call made to it. */
  handleResponse(identity: IdentityRef, rid: string, status: number, body: Buffer): void {
    const call = this.pending.get(rid);
    if (!call || call.identityKey !== identityKey(identity)) return;
    this.pending.delete(rid);
    clearTimeout(call.timer);
    const payload = parsePayload(body);
    // Responses have IoT Hub's request limits too (128 KB; the depth bound keeps the relay's JSON.stringify off
    // the stack's end): the caller learns the device's answer was refused instead of getting a 500.
    const violations = checkMethodPayload(payload, "the device's response payload");
    if (violations.length > 0) call.reject(badRequest(describeViolations(violations)));
    else call.resolve({ status, payload });
  }

  /** On shutdown: calls still waiting end as IoT Hub ends them when the device never answers. */
  close(): void {
    for (const call of this.pending.values()) {
      clearTimeout(call.timer);
      call.fail();
    }
    this.pending.clear();
  }
}

function parsePayload(body: Buffer): unknown {
  const text = body.toString("utf8");
  if (text.length === 0) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
