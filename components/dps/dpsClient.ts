import type { ProvisioningServiceClient } from "azure-iot-provisioning-service";
import { dpsServiceClient } from "../../lib/dps/serviceClient";
import { isNotFound } from "../registry/errors";
import type { RegistryProviderOptions } from "../registry/options";
import { resolveRetryOptions } from "../registry/options";
import { pacerFor } from "../registry/pacer";
import { withRetry } from "../registry/retry";
import { dpsHostName, type DpsConnectionInputs } from "./dpsConnection";

/** The two kinds of enrollment, as the service API names their collections. */
export type EnrollmentCollection = "enrollmentGroups" | "enrollments";

/** An enrollment as the service API answers it (a PUT answer, a GET answer); the fields the providers read. */
export interface EnrollmentAnswer {
  etag: string;
  attestation: { type: string; symmetricKey?: unknown; x509?: unknown };
  [field: string]: unknown;
}

/** The attestation mechanism call's answer: the only answer that carries the symmetric keys. */
export interface AttestationMechanismAnswer {
  type: string;
  symmetricKey?: { primaryKey: string; secondaryKey: string } | null;
}

/** One SDK client per connection string and CA in the provider process (each keeps its agent's connections). */
const clients = new Map<string, ProvisioningServiceClient>();

/**
 * The enrollment calls the DPS providers make over azure-iot-provisioning-service, each paced (one limiter per DPS
 * in the process) and retried within the budget of `serviceCalls`, like the registry's HubClient. Request bodies
 * never reach an error message (they hold keys).
 */
export class DpsEnrollmentCalls {
  private readonly client: ProvisioningServiceClient;
  private readonly hostName: string;
  private readonly options: RegistryProviderOptions | undefined;

  constructor(inputs: DpsConnectionInputs) {
    const cacheKey = JSON.stringify([inputs.serviceConnectionString, inputs.caCertificate ?? null]);
    let client = clients.get(cacheKey);
    if (!client) {
      client = dpsServiceClient(inputs.serviceConnectionString, inputs.caCertificate);
      clients.set(cacheKey, client);
    }
    this.client = client;
    this.hostName = dpsHostName(inputs.serviceConnectionString);
    this.options = inputs.serviceCalls;
  }

  /** The enrollment, or undefined when the DPS has none with this id. */
  async get(collection: EnrollmentCollection, id: string): Promise<EnrollmentAnswer | undefined> {
    try {
      return await this.call(() =>
        collection === "enrollmentGroups"
          ? this.client.getEnrollmentGroup(id)
          : this.client.getIndividualEnrollment(id),
      );
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Creates or replaces; a body with `etag` is sent with If-Match (the SDK's own rule), so a changed one is refused. */
  put(collection: EnrollmentCollection, body: Record<string, unknown>): Promise<EnrollmentAnswer> {
    return this.call(() =>
      collection === "enrollmentGroups"
        ? this.client.createOrUpdateEnrollmentGroup(body as never)
        : this.client.createOrUpdateIndividualEnrollment(body as never),
    );
  }

  attestationMechanism(collection: EnrollmentCollection, id: string): Promise<AttestationMechanismAnswer> {
    return this.call(() =>
      collection === "enrollmentGroups"
        ? this.client.getEnrollmentGroupAttestationMechanism(id)
        : this.client.getIndividualEnrollmentAttestationMechanism(id),
    );
  }

  /** Deletes; one already gone counts as deleted. */
  async delete(collection: EnrollmentCollection, id: string): Promise<void> {
    try {
      await this.call(async () => {
        if (collection === "enrollmentGroups") await this.client.deleteEnrollmentGroup(id);
        else await this.client.deleteIndividualEnrollment(id);
        return { responseBody: undefined };
      });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  private async call<T>(call: () => Promise<{ responseBody: unknown }>): Promise<T> {
    const rate = this.options?.opsPerSecond;
    const burst = this.options?.burst;
    const pacer =
      typeof rate === "number"
        ? pacerFor(this.hostName, "dps", rate, typeof burst === "number" ? burst : 1)
        : undefined;
    const result = await withRetry(
      () => call(),
      resolveRetryOptions(this.options),
      undefined,
      pacer ? () => pacer.acquire() : undefined,
    );
    return result.responseBody as T;
  }
}
