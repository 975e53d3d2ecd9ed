import type { Command } from "commander";
import type { Registry } from "azure-iothub";
import {
  checkIdentityStatus,
  checkStatusReason,
  type DeviceIdentity,
  type IdentityStatus,
  type ModuleIdentity,
} from "../../lib/iothub/identity";
import {
  checkAuthenticationMechanism,
  type AuthenticationMechanism,
} from "../../lib/iothub/identityAuthentication";
import { checkDeviceId, checkModuleId, type RuleViolation } from "../../lib/iothub/rules";
import { createSasToken, identityConnectionString, parseConnectionString } from "../../lib/iothub/sas";
import { exitAfterOutput, refuseViolations, UsageError } from "./commandLine";
import { printOutput, type Column } from "./output";
import { callService, serviceTarget, withServiceFlags, type ServiceFlags } from "./serviceTarget";

/**
 * `device create|list|show|update|delete`, `module create|list|show|delete`, `connection-string show` and
 * `sas-token`: the identity registry through the service SDK. Every input is checked with IoT Hub's rules
 * (lib/iothub) before the first call, so a refused command changes nothing. Identities print without their keys:
 * a key (in a connection string or a token) is printed only by the two commands that exist to print one.
 */

interface CredentialFlags {
  keys?: string;
  x509Thumbprints?: string;
}

interface DeviceFlags extends ServiceFlags, CredentialFlags {
  edge?: boolean;
  status?: string;
  statusReason?: string;
}

interface KeyChoiceFlags extends ServiceFlags {
  module?: string;
  key?: string;
}

interface SasTokenFlags extends KeyChoiceFlags {
  duration?: string;
}

export function addIdentityCommands(program: Command): void {
  addDeviceCommands(program);
  addModuleCommands(program);
  addConnectionStringCommand(program);
  addSasTokenCommand(program);
}

function addDeviceCommands(program: Command): void {
  const device = program.command("device").description("device identities (through the service API)");
  withServiceFlags(
    withCredentialFlags(
      device
        .command("create <deviceId>")
        .description("register a device (SAS keys generated unless --keys or --x509-thumbprints)")
        .option("--edge", "an IoT Edge device")
        .option("--status <status>", "enabled | disabled (default: enabled)")
        .option("--status-reason <text>", "why the status is what it is (at most 128 characters)"),
    ),
  ).action(
    exitAfterOutput(async (deviceId: string, flags: DeviceFlags) => {
      const description: DeviceIdentity = {
        deviceId,
        ...deviceChanges(flags),
        ...(flags.edge ? { capabilities: { iotEdge: true } } : {}),
      };
      refuseViolations(checkDeviceId(deviceId));
      const registry = serviceTarget(flags).registry();
      const created = await callService(() => registry.create(description));
      printDevices(created.responseBody as DeviceIdentity, flags);
    }),
  );
  withServiceFlags(device.command("list").description("list the devices (at most 1,000)")).action(
    exitAfterOutput(async (flags: ServiceFlags) => {
      const registry = serviceTarget(flags).registry();
      const listed = await callService(() => registry.list());
      printDevices(listed.responseBody as DeviceIdentity[], flags);
    }),
  );
  withServiceFlags(device.command("show <deviceId>").description("one device, without its keys")).action(
    exitAfterOutput(async (deviceId: string, flags: ServiceFlags) => {
      refuseViolations(checkDeviceId(deviceId));
      printDevices(await getDevice(serviceTarget(flags).registry(), deviceId), flags);
    }),
  );
  withServiceFlags(
    withCredentialFlags(
      device
        .command("update <deviceId>")
        .description("change a device's status, edge capability or credentials; the rest stays as it is")
        .option("--edge", "make it an IoT Edge device")
        .option("--no-edge", "make it a plain device")
        .option("--status <status>", "enabled | disabled")
        .option("--status-reason <text>", "why the status is what it is (at most 128 characters)"),
    ),
  ).action(
    exitAfterOutput(async (deviceId: string, flags: DeviceFlags) => {
      const changes = deviceChanges(flags);
      refuseViolations(checkDeviceId(deviceId));
      if (Object.keys(changes).length === 0 && flags.edge === undefined) {
        throw new UsageError(
          "device update: give at least one of --status, --status-reason, --edge, --no-edge, --keys, --x509-thumbprints",
        );
      }
      const registry = serviceTarget(flags).registry();
      // The SDK's update replaces the whole device (an omitted authentication mints new keys): read, change, write.
      const current = await getDevice(registry, deviceId);
      const updated: DeviceIdentity = {
        ...current,
        ...changes,
        ...(flags.edge === undefined
          ? {}
          : { capabilities: { ...current.capabilities, iotEdge: flags.edge } }),
      };
      const written = await callService(() => registry.update(updated));
      printDevices(written.responseBody as DeviceIdentity, flags);
    }),
  );
  withServiceFlags(device.command("delete <deviceId>").description("delete a device and its modules")).action(
    exitAfterOutput(async (deviceId: string, flags: ServiceFlags) => {
      refuseViolations(checkDeviceId(deviceId));
      const registry = serviceTarget(flags).registry();
      await callService(() => registry.delete(deviceId));
      printOutput({ deviceId, deleted: true }, DELETED_COLUMNS, flags.output);
    }),
  );
}

function addModuleCommands(program: Command): void {
  const module = program.command("module").description("module identities (through the service API)");
  withServiceFlags(
    withCredentialFlags(
      module
        .command("create <deviceId> <moduleId>")
        .description(
          "register a module on a device (SAS keys generated unless --keys or --x509-thumbprints)",
        ),
    ),
  ).action(
    exitAfterOutput(async (deviceId: string, moduleId: string, flags: ServiceFlags & CredentialFlags) => {
      const authentication = authenticationFromFlags(flags);
      refuseViolations([...checkDeviceId(deviceId), ...checkModuleId(moduleId)]);
      const registry = serviceTarget(flags).registry();
      await callService(() =>
        registry.addModule({ deviceId, moduleId, ...(authentication && { authentication }) } as Parameters<
          Registry["addModule"]
        >[0]),
      );
      printModules(await getModule(registry, deviceId, moduleId), flags);
    }),
  );
  withServiceFlags(module.command("list <deviceId>").description("the modules of a device")).action(
    exitAfterOutput(async (deviceId: string, flags: ServiceFlags) => {
      refuseViolations(checkDeviceId(deviceId));
      const registry = serviceTarget(flags).registry();
      const listed = await callService(() => registry.getModulesOnDevice(deviceId));
      printModules(listed.responseBody as ModuleIdentity[], flags);
    }),
  );
  withServiceFlags(
    module.command("show <deviceId> <moduleId>").description("one module, without its keys"),
  ).action(
    exitAfterOutput(async (deviceId: string, moduleId: string, flags: ServiceFlags) => {
      refuseViolations([...checkDeviceId(deviceId), ...checkModuleId(moduleId)]);
      printModules(await getModule(serviceTarget(flags).registry(), deviceId, moduleId), flags);
    }),
  );
  withServiceFlags(
    module.command("delete <deviceId> <moduleId>").description("delete a module and its twin"),
  ).action(
    exitAfterOutput(async (deviceId: string, moduleId: string, flags: ServiceFlags) => {
      refuseViolations([...checkDeviceId(deviceId), ...checkModuleId(moduleId)]);
      const registry = serviceTarget(flags).registry();
      await callService(() => registry.removeModule(deviceId, moduleId));
      printOutput({ deviceId, moduleId, deleted: true }, DELETED_COLUMNS, flags.output);
    }),
  );
}

function addConnectionStringCommand(program: Command): void {
  const connectionString = program
    .command("connection-string")
    .description("identity connection strings (secrets: printed only here, on request)");
  withServiceFlags(
    withKeyChoice(
      connectionString
        .command("show <deviceId>")
        .description("print a device's (or with --module, a module's) connection string"),
    ),
  ).action(
    exitAfterOutput(async (deviceId: string, flags: KeyChoiceFlags) => {
      const target = serviceTarget(flags);
      const key = await identityKey(target.registry(), deviceId, flags);
      const value = identityConnectionString({
        hostName: target.hostName,
        deviceId,
        moduleId: flags.module,
        key,
      });
      printOutput(
        { connectionString: value },
        [{ header: "connectionString", value: (row) => row.connectionString }],
        flags.output,
      );
    }),
  );
}

/** IoT Hub's default token lifetime in the Azure CLI (`az iot hub generate-sas-token`): an hour. */
const DEFAULT_TOKEN_SECONDS = 3600;

function addSasTokenCommand(program: Command): void {
  withServiceFlags(
    withKeyChoice(
      program
        .command("sas-token [deviceId]")
        .description("a SAS token for a device or module (its key), or without deviceId for the hub's policy")
        .option("--duration <seconds>", `how long the token is valid (default: ${DEFAULT_TOKEN_SECONDS})`),
    ),
  ).action(
    exitAfterOutput(async (deviceId: string | undefined, flags: SasTokenFlags) => {
      const duration = flags.duration ?? String(DEFAULT_TOKEN_SECONDS);
      if (!/^[1-9][0-9]{0,9}$/.test(duration)) {
        throw new UsageError(`--duration: '${duration}' must be a whole number of seconds >= 1`);
      }
      if (deviceId === undefined && flags.module !== undefined) {
        throw new UsageError("--module: needs the deviceId of its device");
      }
      const target = serviceTarget(flags);
      const expiry = Math.floor(Date.now() / 1000) + Number(duration);
      let token: string;
      if (deviceId === undefined) {
        if (flags.key !== undefined) throw new UsageError("--key: only for a device's or module's token");
        const policy = parseConnectionString(target.connectionString);
        token = createSasToken(policy.HostName, policy.SharedAccessKey, expiry, policy.SharedAccessKeyName);
      } else {
        const key = await identityKey(target.registry(), deviceId, flags);
        if (key === undefined) {
          throw new UsageError(
            `${flags.module ? "moduleId" : "deviceId"}: has no SAS key (it authenticates with X.509)`,
          );
        }
        const resource = `${target.hostName}/devices/${deviceId}${flags.module ? `/modules/${flags.module}` : ""}`;
        token = createSasToken(resource, key, expiry);
      }
      const answer = { sasToken: token, expiresOn: new Date(expiry * 1000).toISOString() };
      printOutput(
        answer,
        [
          { header: "sasToken", value: (row) => row.sasToken },
          { header: "expiresOn", value: (row) => row.expiresOn },
        ],
        flags.output,
      );
    }),
  );
}

function withCredentialFlags(command: Command): Command {
  return command
    .option("--keys <primary,secondary>", "the two SAS keys (base64, 16-64 bytes each)")
    .option(
      "--x509-thumbprints <primary[,secondary]>",
      "X.509 thumbprints (SHA-1 or SHA-256 hex): a selfSigned identity",
    );
}

function withKeyChoice(command: Command): Command {
  return command
    .option("--module <moduleId>", "a module of the device")
    .option("--key <which>", "primary | secondary (default: primary)");
}

/** The status, reason and credentials the flags set, checked (exit 2 naming the flag and rule otherwise). */
function deviceChanges(flags: DeviceFlags): Partial<DeviceIdentity> {
  refuseViolations([
    ...checkIdentityStatus(flags.status, "--status"),
    ...checkStatusReason(flags.statusReason, "--status-reason"),
  ]);
  const authentication = authenticationFromFlags(flags);
  return {
    ...(flags.status === undefined ? {} : { status: flags.status as IdentityStatus }),
    ...(flags.statusReason === undefined ? {} : { statusReason: flags.statusReason }),
    ...(authentication ? { authentication } : {}),
  };
}

/** `--keys P,S` or `--x509-thumbprints P[,S]` as the registry's authentication mechanism, checked by its rules. */
function authenticationFromFlags(flags: CredentialFlags): AuthenticationMechanism | undefined {
  if (flags.keys !== undefined && flags.x509Thumbprints !== undefined) {
    throw new UsageError("--keys, --x509-thumbprints: give one of them, not both");
  }
  let flag: string;
  let mechanism: AuthenticationMechanism;
  if (flags.keys !== undefined) {
    const [primaryKey, secondaryKey, ...more] = flags.keys.split(",");
    if (more.length > 0 || !primaryKey || !secondaryKey) {
      throw new UsageError("--keys: must be PRIMARY,SECONDARY (two base64 keys)");
    }
    flag = "--keys";
    mechanism = { type: "sas", symmetricKey: { primaryKey, secondaryKey } };
  } else if (flags.x509Thumbprints !== undefined) {
    const [primaryThumbprint, secondaryThumbprint, ...more] = flags.x509Thumbprints.split(",");
    if (more.length > 0) throw new UsageError("--x509-thumbprints: must be PRIMARY[,SECONDARY]");
    flag = "--x509-thumbprints";
    mechanism = { type: "selfSigned", x509Thumbprint: { primaryThumbprint, secondaryThumbprint } };
  } else {
    return undefined;
  }
  refuseViolations(
    checkAuthenticationMechanism(mechanism).map((violation): RuleViolation => ({
      field: `${flag} (${violation.field})`,
      rule: violation.rule,
    })),
  );
  return mechanism;
}

async function getDevice(registry: Registry, deviceId: string): Promise<DeviceIdentity> {
  return (await callService(() => registry.get(deviceId))).responseBody as DeviceIdentity;
}

async function getModule(registry: Registry, deviceId: string, moduleId: string): Promise<ModuleIdentity> {
  return (await callService(() => registry.getModule(deviceId, moduleId))).responseBody as ModuleIdentity;
}

/** The SAS key `--key` picks of a device or (--module) module; undefined for an X.509 identity. */
async function identityKey(
  registry: Registry,
  deviceId: string,
  flags: KeyChoiceFlags,
): Promise<string | undefined> {
  const which = flags.key ?? "primary";
  if (which !== "primary" && which !== "secondary") {
    throw new UsageError(`--key: '${which}' must be primary or secondary`);
  }
  refuseViolations([
    ...checkDeviceId(deviceId),
    ...(flags.module === undefined ? [] : checkModuleId(flags.module, "--module")),
  ]);
  const identity =
    flags.module === undefined
      ? await getDevice(registry, deviceId)
      : await getModule(registry, deviceId, flags.module);
  const keys = identity.authentication?.symmetricKey;
  return (which === "primary" ? keys?.primaryKey : keys?.secondaryKey) ?? undefined;
}

/** An identity as printed: all the registry answered but its SAS keys. */
function withoutKeys<T extends DeviceIdentity | ModuleIdentity>(identity: T): T {
  if (!identity.authentication) return identity;
  const { symmetricKey: _keys, ...authentication } = identity.authentication;
  return { ...identity, authentication };
}

const DEVICE_COLUMNS: Column<DeviceIdentity>[] = [
  { header: "deviceId", value: (device) => device.deviceId },
  { header: "status", value: (device) => device.status },
  { header: "statusReason", value: (device) => device.statusReason },
  { header: "iotEdge", value: (device) => device.capabilities?.iotEdge ?? false },
  { header: "authentication", value: (device) => device.authentication?.type },
  { header: "connectionState", value: (device) => device.connectionState },
  { header: "etag", value: (device) => device.etag },
];

const MODULE_COLUMNS: Column<ModuleIdentity>[] = [
  { header: "deviceId", value: (module) => module.deviceId },
  { header: "moduleId", value: (module) => module.moduleId },
  { header: "authentication", value: (module) => module.authentication?.type },
  { header: "connectionState", value: (module) => module.connectionState },
  { header: "etag", value: (module) => module.etag },
];

const DELETED_COLUMNS: Column<{ deviceId: string; moduleId?: string; deleted: boolean }>[] = [
  { header: "deviceId", value: (row) => row.deviceId },
  { header: "moduleId", value: (row) => row.moduleId },
  { header: "deleted", value: (row) => row.deleted },
];

function printDevices(devices: DeviceIdentity | DeviceIdentity[], flags: ServiceFlags): void {
  const shown = Array.isArray(devices) ? devices.map(withoutKeys) : withoutKeys(devices);
  printOutput(shown, DEVICE_COLUMNS, flags.output);
}

function printModules(modules: ModuleIdentity | ModuleIdentity[], flags: ServiceFlags): void {
  const shown = Array.isArray(modules) ? modules.map(withoutKeys) : withoutKeys(modules);
  printOutput(shown, MODULE_COLUMNS, flags.output);
}
