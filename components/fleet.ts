import * as pulumi from "@pulumi/pulumi";
import { describeViolations, type RuleViolation } from "../lib/iothub/rules";
import type { ModuleOutput } from "../lib/iothub/stackOutputs";
import { DeviceIdentity, DeviceTwin, ModuleIdentity, ModuleTwin } from "./registry";
import type { IdentityAuthentication, RegistryProviderOptions } from "./registry";
import type { DeviceConfig, IdentityAuthenticationConfig, ModuleConfig } from "./config";
import { resourceHubConnection, type ComponentHubArgs } from "./hubAccess";

/** What the fleet needs: the hub to provision into (from either target) and the devices from stack config. */
export interface FleetArgs extends ComponentHubArgs {
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
 * What the links between the devices depend on. Partial, so the stack config can check the links of a list whose
 * other fields are not valid yet.
 */
export interface FleetDeviceLinks {
  deviceId?: string;
  parentDeviceId?: string;
  edgeEnabled?: boolean;
  modules?: ReadonlyArray<{ moduleId?: string }>;
}

/**
 * The fleet's preconditions on its device list, each violation named by its place in the list
 * (`devices[1].parentDeviceId`): device ids unique, module ids unique on their device (resource names derive from
 * them), and every parent a declared edge device that does not lead back to its child (a parent is created before
 * its children).
 */
export function checkFleetDevices(devices: readonly FleetDeviceLinks[]): RuleViolation[] {
  const violations: RuleViolation[] = [];
  const indexOf = new Map<string, number>();
  devices.forEach((device, deviceIndex) => {
    const field = `devices[${deviceIndex}]`;
    if (device.deviceId !== undefined) {
      const first = indexOf.get(device.deviceId);
      if (first === undefined) indexOf.set(device.deviceId, deviceIndex);
      else {
        violations.push({
          field: `${field}.deviceId`,
          rule: `must be unique (devices[${first}] has the same deviceId)`,
        });
      }
    }
    const moduleIndexOf = new Map<string, number>();
    (device.modules ?? []).forEach((module, moduleIndex) => {
      if (module.moduleId === undefined) return;
      const first = moduleIndexOf.get(module.moduleId);
      if (first === undefined) moduleIndexOf.set(module.moduleId, moduleIndex);
      else {
        violations.push({
          field: `${field}.modules[${moduleIndex}].moduleId`,
          rule: `must be unique on its device (modules[${first}] has the same moduleId)`,
        });
      }
    });
  });

  // Parents are checked once every id is known, so a parent may be declared after its child.
  devices.forEach((device, deviceIndex) => {
    if (device.parentDeviceId === undefined) return;
    const field = `devices[${deviceIndex}].parentDeviceId`;
    const parentIndex = indexOf.get(device.parentDeviceId);
    if (parentIndex === undefined) {
      violations.push({ field, rule: "must name a device declared in devices" });
    } else if (device.parentDeviceId === device.deviceId) {
      violations.push({ field, rule: "must not name the device itself" });
    } else if (devices[parentIndex].edgeEnabled !== true) {
      violations.push({
        field,
        rule: `must name an edge device (devices[${parentIndex}] needs edgeEnabled: true)`,
      });
    } else {
      const cycle = parentCycle(devices, indexOf, deviceIndex);
      if (cycle) {
        violations.push({
          field,
          rule: `must not lead back to this device through other parents (a cycle: ${cycle.map((id) => JSON.stringify(id)).join(" -> ")})`,
        });
      }
    }
  });
  return violations;
}

/** The ids from `start` through its parents back to `start`, when its parent chain returns to it. */
function parentCycle(
  devices: readonly FleetDeviceLinks[],
  indexOf: ReadonlyMap<string, number>,
  start: number,
): string[] | undefined {
  const chain = [devices[start].deviceId ?? ""];
  const visited = new Set([start]);
  let current = start;
  for (;;) {
    const parent = devices[current].parentDeviceId;
    const next = parent === undefined ? undefined : indexOf.get(parent);
    if (parent === undefined || next === undefined) return undefined;
    chain.push(parent);
    if (next === start) return chain;
    // A loop that does not pass through `start`: its own members report it.
    if (visited.has(next)) return undefined;
    visited.add(next);
    current = next;
  }
}

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
 * A module's rotation: its own, else its device's when the hub generates its keys (it then rotates with the
 * device), else 0 (declared keys and X.509 rotate only where the module says so).
 */
function moduleRotation(module: ModuleConfig, device: DeviceConfig): number | undefined {
  if (module.rotation !== undefined) return module.rotation;
  const auth = module.authentication;
  const hubGeneratedKeys = auth === undefined || (auth.type === "sas" && auth.primaryKey === undefined);
  return hubGeneratedKeys ? device.rotation : undefined;
}

/** Whether an identity has keys (SAS), and so a connection string with a key and a previous one. */
function hasKeys(auth: IdentityAuthenticationConfig | undefined): boolean {
  return (auth?.type ?? "sas") === "sas";
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
    // Checked before anything registers: a bad list creates no component and no resource.
    const violations = checkFleetDevices(args.devices);
    if (violations.length > 0) {
      throw new Error(`Fleet "${name}": invalid args: ${describeViolations(violations)}`);
    }
    super("iothub-provisioner:fleet:Fleet", name, {}, opts);
    const hub = {
      ...resourceHubConnection(args),
      caCertificate: args.caCertificate as pulumi.Input<string> | undefined,
      gatewayHostName: args.gatewayHostName as pulumi.Input<string> | undefined,
      registry: args.registry,
    };
    const parented = { parent: this };
    // Identities wait for what the hub needs first (role assignments); twins and modules wait for their identity.
    const identityOptions = { parent: this, dependsOn: args.dependsOn ?? [] };

    const devices = new Map<string, DeviceIdentity>();
    const configById = new Map(args.devices.map((device) => [device.deviceId, device]));
    // A parent is created before its children, so a child's parentScope is its parent's deviceScope output.
    // (checkFleetDevices above made sure every parent is declared and no chain of parents loops.)
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
          rotation: device.rotation,
          status: device.status,
          statusReason: device.statusReason,
          edgeEnabled: device.edgeEnabled,
          parentScope: parent?.deviceScope as pulumi.Input<string> | undefined,
        },
        identityOptions,
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
            rotation: moduleRotation(module, device),
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
          ...(hasKeys(module.authentication) && {
            previousConnectionString: pulumi.secret(
              moduleIdentity.previousConnectionString as pulumi.Output<string>,
            ),
          }),
          desired,
        });
      }
    }

    this.modules = modules;
    this.devices = devices;
    this.registerOutputs({ modules });
  }
}
