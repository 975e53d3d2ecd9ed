import * as fs from "node:fs";
import type { Registry } from "azure-iothub";
import { apiVersion } from "azure-iothub/dist/version";
import type { ConfigurationContent, ConfigurationRecord } from "../../lib/iothub/configuration";
import { DATA_ACTIONS, type DataAction } from "../../lib/iothub/dataPlaneRoles";
import type { DeviceIdentity, ModuleIdentity } from "../../lib/iothub/identity";
import { hubAccessRegistry } from "../../lib/iothub/serviceClient";
import { withAuthorizationWait } from "./authorizationWait";
import type { ServiceTwin, TwinPatchBody, TwinProperties } from "../../lib/iothub/twin";
import { isAlreadyExists } from "./errors";
import { authModeOf, connectionHostName, hubAccessOf, type HubConnectionInputs } from "./hubConnection";
import {
  paceFor,
  resolveAuthorizationWaitMs,
  resolveRetryOptions,
  type OperationClass,
  type RegistryProviderOptions,
} from "./options";
import { pacerFor } from "./pacer";
import { withRetry, type RetryReport } from "./retry";

/** What every registry resource needs to reach its hub (plain values: the engine strips secrets before calling). */
export type HubConnection = Pick<
  HubConnectionInputs,
  "auth" | "serviceConnectionString" | "hostName" | "entra" | "caCertificate" | "registry"
>;

/** An identity as the hub's REST API carries it: a device, or a module (then `moduleId` and `managedBy`). */
export type IdentityBody = DeviceIdentity & Partial<ModuleIdentity>;

/** A twin as the providers read it: the service twin's ids and etag, its tags, desired without `$metadata`/`$version`. */
export type TwinBody = Pick<ServiceTwin, "deviceId" | "moduleId" | "etag"> & {
  version?: number;
  tags?: TwinProperties;
  desired: TwinProperties;
};

/** A configuration or deployment as the providers send it (PUT body); `etag` only on an update. */
export interface ConfigurationBody {
  id: string;
  schemaVersion: string;
  labels?: Record<string, string>;
  content: ConfigurationContent;
  targetCondition: string;
  priority: number;
  metrics: { queries: Record<string, string> };
  etag?: string;
}

/**
 * The registry calls the providers make, each paced (one limiter per hub in the process) and retried within the
 * resource's budget. Built on the service SDK's Registry so errors keep the SDK's classification. With auth entra,
 * a refusal for want of a role is waited out (a fresh role assignment takes minutes to be effective) within
 * `registry.authorizationWaitMs` (authorizationWait.ts).
 */
export class HubClient {
  readonly hostName: string;
  private readonly registry: Registry;
  private readonly options: RegistryProviderOptions | undefined;
  private readonly entra: boolean;

  constructor(connection: HubConnection) {
    this.hostName = connectionHostName(connection);
    // One Registry per hub, key or credential and CA in the process, shared by the four providers.
    this.registry = hubAccessRegistry(hubAccessOf(connection), connection.caCertificate);
    this.options = connection.registry;
    this.entra = authModeOf(connection) === "entra";
  }

  getDevice(deviceId: string): Promise<IdentityBody> {
    return this.call("registry", DATA_ACTIONS.devicesRead, () => this.registry.get(deviceId));
  }

  /**
   * PUT without If-Match: create-only. If an earlier attempt was cut off (reset, timeout) the hub may have created
   * the device already; the 409 that follows is then our own creation, and the device is read instead.
   */
  async createDevice(device: IdentityBody): Promise<IdentityBody> {
    return this.createOrRecover(
      () => this.registry.create(device as never),
      () => this.getDevice(device.deviceId),
    );
  }

  /**
   * A full replace, so `device` must carry the keys to keep: PUT with If-Match `etag` (refused with 412 when the
   * device changed since), or "*" without one.
   */
  updateDevice(device: IdentityBody, etag?: string): Promise<IdentityBody> {
    if (etag === undefined)
      return this.call("registry", DATA_ACTIONS.devicesWrite, () => this.registry.update(device as never));
    const path = `/devices/${encodeURIComponent(device.deviceId)}?api-version=${apiVersion}`;
    return this.call("registry", DATA_ACTIONS.devicesWrite, () =>
      this.requestIfMatch("PUT", path, device, etag),
    );
  }

  deleteDevice(deviceId: string): Promise<void> {
    return this.call("registry", DATA_ACTIONS.devicesDelete, () => this.registry.delete(deviceId));
  }

  getModule(deviceId: string, moduleId: string): Promise<IdentityBody> {
    return this.call("registry", DATA_ACTIONS.devicesRead, () => this.registry.getModule(deviceId, moduleId));
  }

  async createModule(module: IdentityBody): Promise<IdentityBody> {
    return this.createOrRecover(
      () => this.registry.addModule(module as never),
      () => this.getModule(module.deviceId, module.moduleId ?? ""),
    );
  }

  /** A full replace like updateDevice: If-Match `etag` when given, else "*". */
  updateModule(module: IdentityBody, etag?: string): Promise<IdentityBody> {
    const conditional = etag === undefined ? module : { ...module, etag };
    return this.call("registry", DATA_ACTIONS.devicesWrite, () =>
      this.registry.updateModule(conditional as never, etag === undefined),
    );
  }

  deleteModule(deviceId: string, moduleId: string): Promise<void> {
    return this.call("registry", DATA_ACTIONS.devicesDelete, () =>
      this.registry.removeModule(deviceId, moduleId),
    );
  }

  async getTwin(deviceId: string, moduleId?: string): Promise<TwinBody> {
    const twin = await this.call<ServiceTwin>("twinRead", DATA_ACTIONS.twinsRead, () =>
      moduleId === undefined
        ? this.registry.getTwin(deviceId)
        : this.registry.getModuleTwin(deviceId, moduleId),
    );
    return twinBody(twin);
  }

  /** PATCH (merge; null deletes) with If-Match `etag` ("*" = unconditional). */
  async patchTwin(
    deviceId: string,
    moduleId: string | undefined,
    patch: TwinPatchBody,
    etag: string,
  ): Promise<TwinBody> {
    const twin = await this.call<ServiceTwin>("twinUpdate", DATA_ACTIONS.twinsWrite, () =>
      moduleId === undefined
        ? this.registry.updateTwin(deviceId, patch, etag)
        : this.registry.updateModuleTwin(deviceId, moduleId, patch, etag),
    );
    return twinBody(twin);
  }

  getConfiguration(id: string): Promise<ConfigurationRecord> {
    return this.call("configurations", DATA_ACTIONS.configurationsRead, () =>
      this.registry.getConfiguration(id),
    );
  }

  /**
   * PUT without If-Match: create-only. A 409 after an attempt that was cut off is our own creation (read it);
   * otherwise the id is taken and the 409 is the caller's to explain.
   */
  createConfiguration(configuration: ConfigurationBody): Promise<ConfigurationRecord> {
    return this.createOrRecover(
      () => this.registry.addConfiguration({ ...configuration } as never),
      () => this.getConfiguration(configuration.id),
      "configurations",
      DATA_ACTIONS.configurationsWrite,
    );
  }

  /** PUT with If-Match `configuration.etag` (412 when it changed since): priority, condition, labels, metrics. */
  updateConfiguration(configuration: ConfigurationBody & { etag: string }): Promise<ConfigurationRecord> {
    return this.call("configurations", DATA_ACTIONS.configurationsWrite, () =>
      this.registry.updateConfiguration({ ...configuration } as never, false),
    );
  }

  /**
   * DELETE with If-Match "*": IoT Hub refuses a configuration DELETE without If-Match (412), and the SDK's
   * removeConfiguration sends none.
   */
  deleteConfiguration(id: string): Promise<void> {
    const path = `/configurations/${encodeURIComponent(id)}?api-version=${apiVersion}`;
    return this.call("configurations", DATA_ACTIONS.configurationsDelete, () =>
      this.requestIfMatch("DELETE", path, null, "*"),
    );
  }

  /** `az iot edge set-modules`: a deployment's content written into one IoT Edge device's module twins. */
  applyConfigurationContentOnDevice(deviceId: string, content: ConfigurationContent): Promise<void> {
    return this.call("configurations", DATA_ACTIONS.configurationsApplyToEdgeDevice, () =>
      this.registry.applyConfigurationContentOnDevice(deviceId, content as never),
    );
  }

  /**
   * A request with If-Match `etag` through the SDK's own REST client (its authentication, CA, errors): the SDK's
   * Registry.update always sends If-Match "*", so it cannot make a change conditional on the device's etag, and
   * its removeConfiguration sends no If-Match at all.
   */
  private requestIfMatch(
    method: "PUT" | "DELETE",
    path: string,
    body: unknown,
    etag: string,
  ): Promise<{ responseBody: unknown }> {
    const rest = (this.registry as unknown as { _restApiClient: SdkRestClient })._restApiClient;
    const headers: Record<string, string> = { "If-Match": etag.startsWith('"') ? etag : `"${etag}"` };
    if (body !== null) headers["Content-Type"] = "application/json; charset=utf-8";
    return new Promise((resolve, reject) =>
      rest.executeApiCall(method, path, headers, body, (error, responseBody) =>
        error ? reject(error) : resolve({ responseBody }),
      ),
    );
  }

  private async createOrRecover<T>(
    create: () => Promise<unknown>,
    read: () => Promise<T>,
    operation: OperationClass = "registry",
    action: DataAction = DATA_ACTIONS.devicesWrite,
  ): Promise<T> {
    let report: RetryReport | undefined;
    try {
      return await this.call(operation, action, create, (r) => (report = r));
    } catch (error) {
      if (isAlreadyExists(error) && report?.ambiguousFailure) return read();
      throw error;
    }
  }

  private async call<T>(
    operation: OperationClass,
    action: DataAction,
    call: () => Promise<unknown>,
    onReport?: (report: RetryReport) => void,
  ): Promise<T> {
    const pace = paceFor(this.options, operation);
    const pacer = pace ? pacerFor(this.hostName, pace.limiterName, pace.opsPerSecond, pace.burst) : undefined;
    const retried = () =>
      withRetry(
        async (report) => {
          onReport?.(report);
          countCall(operation);
          return call();
        },
        resolveRetryOptions(this.options),
        undefined,
        pacer ? () => pacer.acquire() : undefined,
      );
    const result = this.entra
      ? await withAuthorizationWait(retried, {
          hostName: this.hostName,
          action,
          waitMs: resolveAuthorizationWaitMs(this.options),
        })
      : await retried();
    return (result as { responseBody?: T } | undefined)?.responseBody as T;
  }
}

/** The part of azure-iot-http-base's RestApiClient that requestIfMatch uses (the SDK's Registry holds one). */
interface SdkRestClient {
  executeApiCall(
    method: "PUT" | "DELETE",
    path: string,
    headers: Record<string, string>,
    body: unknown,
    done: (error: Error | null | undefined, responseBody?: unknown) => void,
  ): void;
}

/**
 * The service twin as the providers read it. The local hub answers with every field; the service API's own Twin
 * model (azure-iothub's generated models) marks tags, properties and version optional, so a missing section reads
 * as none and a missing version as desired's `$version`.
 */
function twinBody(twin: ServiceTwin): TwinBody {
  const { $metadata: _metadata, $version: desiredVersion, ...desired } = twin.properties?.desired ?? {};
  return {
    deviceId: twin.deviceId,
    moduleId: twin.moduleId,
    etag: twin.etag,
    version: twin.version ?? (desiredVersion as number | undefined),
    tags: twin.tags,
    desired,
  };
}

/** REST calls made by this process, by operation class (attempts, retries included). */
const callCounts: Record<string, number> = {};

/** The open stats file (IOTHUB_PROVISIONER_STATS_FILE), once a call was counted. */
let statsFile: number | undefined;

/**
 * Counts a call; when IOTHUB_PROVISIONER_STATS_FILE is set (benchmarks, tests), also writes the counts there, since
 * the provider runs in the engine's process and has no other way out. The counts only grow, so their JSON never
 * gets shorter: each write overwrites the file in place from offset 0 (one pwrite; reopening and truncating the
 * file per call cost ~0.2 ms, more than the provider's own work).
 */
function countCall(operation: OperationClass): void {
  callCounts[operation] = (callCounts[operation] ?? 0) + 1;
  const file = process.env.IOTHUB_PROVISIONER_STATS_FILE;
  if (!file) return;
  statsFile ??= fs.openSync(file, "w", 0o600);
  fs.writeSync(statsFile, JSON.stringify(callCounts), 0);
}
