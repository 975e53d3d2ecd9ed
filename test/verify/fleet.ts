import { randomBytes } from "node:crypto";
import type { Registry } from "azure-iothub";
import { buildConnectionString } from "../../lib/iothub/sas";
import type { TwinDocument } from "../../lib/iothub/twin";
import type { ModuleOutput } from "../../verify/outputs";
import { hubRegistry } from "../support/suiteHub";

/** What the stack outputs would hold after `pulumi up` against a hub: made here with the service SDK. */

export interface HubEndpoint {
  hostName: string;
  connectionString: string;
  caFile: string;
  mqttPort: number;
  host: string;
}

export interface FleetModule {
  deviceId: string;
  moduleId: string;
  desired: TwinDocument;
}

export const newKey = (): string => randomBytes(32).toString("base64");

export function moduleConnectionString(
  hub: HubEndpoint,
  deviceId: string,
  moduleId: string,
  key: string,
): string {
  return buildConnectionString({
    HostName: hub.hostName,
    DeviceId: deviceId,
    ModuleId: moduleId,
    SharedAccessKey: key,
    GatewayHostName: `${hub.host}:${hub.mqttPort}`,
  });
}

/** Creates the devices and modules (idempotent per device) and sets each module's desired properties. */
export async function createFleet(hub: HubEndpoint, modules: FleetModule[]): Promise<ModuleOutput[]> {
  const registry = hubRegistry(hub);
  const devices = [...new Set(modules.map((module) => module.deviceId))];
  for (const deviceId of devices) await registry.create({ deviceId });
  const outputs: ModuleOutput[] = [];
  for (const module of modules) {
    const key = newKey();
    await registry.addModule({
      deviceId: module.deviceId,
      moduleId: module.moduleId,
      authentication: { type: "sas", symmetricKey: { primaryKey: key, secondaryKey: newKey() } },
    } as Parameters<Registry["addModule"]>[0]);
    await registry.updateModuleTwin(
      module.deviceId,
      module.moduleId,
      { properties: { desired: module.desired } },
      "*",
    );
    outputs.push({
      ...module,
      connectionString: moduleConnectionString(hub, module.deviceId, module.moduleId, key),
    });
  }
  return outputs;
}

export function stackOutputs(
  hub: HubEndpoint,
  modules: ModuleOutput[],
  withCaFile = true,
): Record<string, unknown> {
  return {
    hostName: hub.hostName,
    serviceConnectionString: hub.connectionString,
    ...(withCaFile ? { caFile: hub.caFile } : {}),
    modules,
  };
}
