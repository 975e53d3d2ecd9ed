import * as pulumi from "@pulumi/pulumi";
import type { ModuleOutput } from "../lib/iothub/stackOutputs";
import { DeviceIdentity, DeviceTwin, ModuleIdentity, ModuleTwin } from "./registry";
import type { IdentityAuthentication, RegistryProviderOptions } from "./registry";
import type { DeviceConfig, IdentityAuthenticationConfig } from "./config";

/** What the fleet needs: the hub to provision into (from either target) and the devices from stack config. */
export interface FleetArgs {
  /** Connection string of the provisioner policy (secret). */
  serviceConnectionString: pulumi.Input<string>;
  /** The local hub's CA (PEM), trusted by the providers besides the system CAs. */
  caCertificate?: pulumi.Input<string | undefined>;
  /** `host:port` for device and module connection strings when MQTT is not on 8883. */
  gatewayHostName?: pulumi.Input<string | undefined>;
  /** The validated device list (iothub-provisioner:devices). */
  devices: DeviceConfig[];
  /** Retry budget and pacing for the registry providers (iothub-provisioner:registry). */
  registry?: RegistryProviderOptions;
}

/** One module of the stack outputs (the contract verify reads), its connection string a secret Output. */
export type FleetModuleOutput = ModuleOutput<pulumi.Output<string>>;

/**
 * Resource names that are stable (derived only from the ids, so reordering the config changes nothing) and safe
 * in URNs: ids may hold `:` (URNs use `::` as a separator), so every id is percent-encoded, which is injective
 * (`%` itself becomes `%25`) and leaves `/` free as the separator between a device and a module.
 */
export function deviceResourceName(fleetName: string, kind: "device" | "twin", deviceId: string): string {
  return `${fleetName}-${kind}-${encodeURIComponent(deviceId)}`;
}

export function moduleResourceName(
  fleetName: string,
  kind: "module" | "moduletwin",
  deviceId: string,
  moduleId: string,
): string {
  return `${fleetName}-${kind}-${encodeURIComponent(deviceId)}/${encodeURIComponent(moduleId)}`;
}

/** Keys declared in config are secrets from here on, wherever they came from. */
function authenticationInput(
  config: IdentityAuthenticationConfig | undefined,
): IdentityAuthentication | undefined {
  if (!config) return undefined;
  if (config.type !== "sas") return config;
  return {
    type: "sas",
    primaryKey: config.primaryKey === undefined ? undefined : pulumi.secret(config.primaryKey),
    secondaryKey: config.secondaryKey === undefined ? undefined : pulumi.secret(config.secondaryKey),
  };
}

/**
 * The device list turned into registry resources: a DeviceIdentity per device, a DeviceTwin where tags or desired
 * properties are declared, a ModuleIdentity and a ModuleTwin per module. Modules depend on their device and twins
 * on their identity (through the ids they take from them), so deletes run the other way round.
 */
export class Fleet extends pulumi.ComponentResource {
  /** One entry per declared module, in config order: the stack's `modules` output. */
  readonly modules: FleetModuleOutput[];
  /** The device identities by deviceId. */
  readonly devices: ReadonlyMap<string, DeviceIdentity>;

  constructor(name: string, args: FleetArgs, opts?: pulumi.ComponentResourceOptions) {
    super("iothub-provisioner:fleet:Fleet", name, {}, opts);
    const hub = {
      serviceConnectionString: pulumi.secret(args.serviceConnectionString),
      caCertificate: args.caCertificate as pulumi.Input<string> | undefined,
      gatewayHostName: args.gatewayHostName as pulumi.Input<string> | undefined,
      registry: args.registry,
    };
    const parented = { parent: this };

    const devices = new Map<string, DeviceIdentity>();
    const configById = new Map(args.devices.map((device) => [device.deviceId, device]));
    // A parent is created before its children, so a child's parentScope is its parent's deviceScope output.
    // (The config guarantees parents exist, are edge devices and form no cycle.)
    const identityOf = (device: DeviceConfig): DeviceIdentity => {
      const existing = devices.get(device.deviceId);
      if (existing) return existing;
      const parentConfig =
        device.parentDeviceId === undefined ? undefined : configById.get(device.parentDeviceId);
      const parent = parentConfig ? identityOf(parentConfig) : undefined;
      const identity = new DeviceIdentity(
        deviceResourceName(name, "device", device.deviceId),
        {
          ...hub,
          deviceId: device.deviceId,
          authentication: authenticationInput(device.authentication),
          status: device.status,
          statusReason: device.statusReason,
          edgeEnabled: device.edgeEnabled,
          parentScope: parent?.deviceScope as pulumi.Input<string> | undefined,
        },
        parented,
      );
      devices.set(device.deviceId, identity);
      return identity;
    };
    args.devices.forEach(identityOf);

    const modules: FleetModuleOutput[] = [];
    for (const device of args.devices) {
      const identity = devices.get(device.deviceId)!;
      if (device.tags !== undefined || device.desired !== undefined) {
        new DeviceTwin(
          deviceResourceName(name, "twin", device.deviceId),
          { ...hub, deviceId: identity.deviceId, tags: device.tags, desired: device.desired },
          parented,
        );
      }
      for (const module of device.modules) {
        const moduleIdentity = new ModuleIdentity(
          moduleResourceName(name, "module", device.deviceId, module.moduleId),
          {
            ...hub,
            deviceId: identity.deviceId,
            moduleId: module.moduleId,
            authentication: authenticationInput(module.authentication),
            managedBy: module.managedBy,
          },
          parented,
        );
        const desired = module.desired ?? {};
        if (module.desired !== undefined) {
          new ModuleTwin(
            moduleResourceName(name, "moduletwin", device.deviceId, module.moduleId),
            { ...hub, deviceId: moduleIdentity.deviceId, moduleId: moduleIdentity.moduleId, desired },
            parented,
          );
        }
        modules.push({
          deviceId: device.deviceId,
          moduleId: module.moduleId,
          connectionString: pulumi.secret(moduleIdentity.connectionString),
          desired,
        });
      }
    }

    this.modules = modules;
    this.devices = devices;
    this.registerOutputs({ modules });
  }
}
