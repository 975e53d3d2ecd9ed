import type { Registry } from "azure-iothub";
import { withRetry } from "../components/registry/retry";

/**
 * Writes a module's desired properties with the service SDK. The SDK's Registry does not retry, and a hub may
 * throttle (429) or briefly refuse (503) while many modules are verified at once: those are retried with the
 * provisioner's own backoff (one piece of code for one logic), within the step's --timeout.
 */
export async function patchModuleDesired(
  registry: Registry,
  deviceId: string,
  moduleId: string,
  desired: Record<string, unknown>,
  timeoutSeconds: number,
): Promise<void> {
  const budgetMs = timeoutSeconds * 1000;
  await withRetry(() => registry.updateModuleTwin(deviceId, moduleId, { properties: { desired } }, "*"), {
    maxAttempts: 10,
    maxRetryTimeMs: budgetMs,
    baseDelayMs: 100,
    maxDelayMs: 2000,
    requestTimeoutMs: budgetMs,
  });
}
