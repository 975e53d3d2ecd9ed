import { contributorRoleFor, type DataAction } from "../../lib/iothub/dataPlaneRoles";
import { credentialErrorMessage, isCredentialError } from "../../lib/iothub/entraCredential";
import { hubMessage, statusOf } from "./errors";

/**
 * Auth entra's wait for a role assignment. Azure makes a fresh role assignment effective on IoT Hub's data plane
 * only after minutes, and until then the hub refuses the principal's calls (401, or 403): the providers created in
 * the same `pulumi up` as the assignment would fail on the first call. So a refused call is tried again with
 * backoff until `waitMs` has passed; then the error names the role the operation needs. A credential that gets no
 * token at all (a wrong secret, an unknown client, no `az login`) is no question of time: it fails at once.
 */

/** Raised by the Entra path with a message that already says what is wrong and what to do. */
export class EntraAccessError extends Error {
  override name = "EntraAccessError";
}

export interface AuthorizationWait {
  /** The hub, for the message. */
  hostName: string;
  /** The data action the call needs, to name the role that grants it. */
  action: DataAction;
  /** How long refused calls are tried again, in milliseconds. */
  waitMs: number;
}

const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 30_000;

/** True when the hub refused the caller (not the call): no role, or a token it does not accept. */
function isRefusedCaller(error: unknown): boolean {
  const status = statusOf(error);
  return status === 401 || status === 403 || (error as { name?: unknown })?.name === "UnauthorizedError";
}

export async function withAuthorizationWait<T>(call: () => Promise<T>, wait: AuthorizationWait): Promise<T> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (isCredentialError(error)) {
        throw new EntraAccessError(
          `the Microsoft Entra credential got no token for IoT Hub (${credentialErrorMessage(error)}); check ` +
            "the principal's client id, tenant and secret (or `az login`)",
        );
      }
      if (!isRefusedCaller(error)) throw error;
      // Equal jitter: resources that started together do not ask again in lockstep, and none waits for nothing.
      const ceiling = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (attempt - 1));
      const delay = ceiling / 2 + (Math.random() * ceiling) / 2;
      const waited = Date.now() - started;
      if (waited + delay > wait.waitMs) {
        const role = contributorRoleFor(wait.action);
        throw new EntraAccessError(
          `hub ${wait.hostName} refused the Microsoft Entra principal (HTTP ${statusOf(error) ?? 401}: ` +
            `${hubMessage(error)}): the operation needs the data action ${wait.action}, which the role ` +
            `'${role.name}' grants; assign it to the principal at the hub's scope. Waited ` +
            `${Math.round(waited / 1000)} s for a role assignment to take effect (registry.authorizationWaitMs).`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
