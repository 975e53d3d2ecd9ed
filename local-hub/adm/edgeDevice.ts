import { checkConfigurationContent, type ConfigurationContent } from "../../lib/iothub/configuration";
import { isPlainObject } from "../../lib/iothub/twin";
import { badRequest, deviceNotFound, invalidConfiguration } from "../errors/iotHubError";
import type { IdentityStore } from "../persistence/identityStore";
import { describeViolations } from "../../lib/iothub/rules";
import { desiredPatchFor } from "./content";

/**
 * `POST /devices/{id}/applyConfigurationContent` (az iot edge set-modules): a deployment's `modulesContent`
 * written straight into the module twins of one IoT Edge device, outside ADM. Modules the device does not have
 * (yet) are skipped: the runtime creates them. The device's deployments are not re-evaluated, so the content
 * stays until a deployment that targets the device changes, as on IoT Hub.
 */
export function applyOnEdgeDevice(store: IdentityStore, deviceId: string, body: unknown): void {
  const violations = checkConfigurationContent(body, "content");
  if (violations.length > 0)
    throw invalidConfiguration("InvalidConfigurationContent", describeViolations(violations));
  const { modulesContent } = body as ConfigurationContent;
  if (!modulesContent)
    throw invalidConfiguration("InvalidConfigurationContent", "content: must hold modulesContent");
  const device = store.getDevice(deviceId);
  if (!device) throw deviceNotFound(deviceId);
  if (!device.capabilities.iotEdge) throw badRequest(`Device ${deviceId} is not an Azure IoT Edge device.`);
  const existing = new Set(store.listModules(deviceId).map((module) => module.moduleId));
  for (const [moduleId, content] of Object.entries(modulesContent)) {
    if (!existing.has(moduleId) || !isPlainObject(content)) continue;
    store.updateConfigurationState({ deviceId, moduleId }, (view) => {
      const desiredPatch = desiredPatchFor(view.desired, [content]);
      return Object.keys(desiredPatch).length === 0
        ? undefined
        : { configurations: { ...view.configurations }, desiredPatch };
    });
  }
}
