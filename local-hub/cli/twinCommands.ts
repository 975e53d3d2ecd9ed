import type { Command } from "commander";
import { checkDeviceId, checkModuleId } from "../../lib/iothub/rules";
import {
  isPlainObject,
  parseTwinUpdate,
  type ServiceTwin,
  type TwinPatchBody,
  type TwinProperties,
} from "../../lib/iothub/twin";
import { exitAfterOutput, refuseViolations, UsageError } from "./commandLine";
import { printOutput, type Column } from "./output";
import { callService, serviceTarget, withServiceFlags, type ServiceFlags } from "./serviceTarget";

/**
 * `twin show|update DEVICE [--module M]`: device and module twins through the service SDK. An update is one merge
 * PATCH built from `--tags JSON`, `--set PATH=VALUE` and `--unset PATH` (a null, which deletes the key), checked
 * with IoT Hub's twin rules before it is sent; `--etag` makes it conditional (412 when the twin changed).
 */

interface TwinFlags extends ServiceFlags {
  module?: string;
}

interface TwinUpdateFlags extends TwinFlags {
  set: string[];
  unset: string[];
  tags?: string;
  etag?: string;
}

const collect = (value: string, all: string[]): string[] => [...all, value];

export function addTwinCommands(program: Command): void {
  const twin = program.command("twin").description("device and module twins (through the service API)");
  withServiceFlags(
    twin
      .command("show <deviceId>")
      .description("a device's (or with --module, a module's) twin")
      .option("--module <moduleId>", "a module of the device"),
  ).action(
    exitAfterOutput(async (deviceId: string, flags: TwinFlags) => {
      checkTwinIds(deviceId, flags.module);
      const registry = serviceTarget(flags).registry();
      const read = await callService(() =>
        flags.module === undefined
          ? registry.getTwin(deviceId)
          : registry.getModuleTwin(deviceId, flags.module),
      );
      printTwins(twinDocument(read.responseBody), flags);
    }),
  );
  withServiceFlags(
    twin
      .command("update <deviceId>")
      .description("merge tags and desired properties into a twin")
      .option("--module <moduleId>", "a module of the device")
      .option(
        "--set <path=value>",
        "tags.PATH or desired.PATH to a JSON value (else a string); repeatable",
        collect,
        [],
      )
      .option("--unset <path>", "delete tags.PATH or desired.PATH; repeatable", collect, [])
      .option("--tags <json>", "a JSON object merged into the tags")
      .option("--etag <etag>", "only if the twin still has this etag (default: whatever it has)"),
  ).action(
    exitAfterOutput(async (deviceId: string, flags: TwinUpdateFlags) => {
      checkTwinIds(deviceId, flags.module);
      const patch = twinPatchFromFlags(flags);
      const etag = flags.etag ?? "*";
      const registry = serviceTarget(flags).registry();
      const written = await callService(() =>
        flags.module === undefined
          ? registry.updateTwin(deviceId, patch, etag)
          : registry.updateModuleTwin(deviceId, flags.module, patch, etag),
      );
      printTwins(twinDocument(written.responseBody), flags);
    }),
  );
}

function checkTwinIds(deviceId: string, moduleId: string | undefined): void {
  refuseViolations([
    ...checkDeviceId(deviceId),
    ...(moduleId === undefined ? [] : checkModuleId(moduleId, "--module")),
  ]);
}

/** The merge patch the flags describe, refused (exit 2, field and rule) when it breaks a twin rule. */
export function twinPatchFromFlags(flags: Pick<TwinUpdateFlags, "set" | "unset" | "tags">): TwinPatchBody {
  const tags: TwinProperties = flags.tags === undefined ? {} : parseTagsFlag(flags.tags);
  const desired: TwinProperties = {};
  const assignments = [
    ...flags.set.map((assignment) => parseSetFlag(assignment)),
    ...flags.unset.map((path) => ({ flag: "--unset", path, value: null })),
  ];
  if (flags.tags === undefined && assignments.length === 0) {
    throw new UsageError("twin update: give at least one of --set, --unset, --tags");
  }
  for (const { flag, path, value } of assignments) {
    const [section, ...keys] = twinPath(flag, path);
    setPath(section === "tags" ? tags : desired, keys, value);
  }
  const patch: TwinPatchBody = {
    ...(Object.keys(tags).length > 0 || flags.tags !== undefined ? { tags } : {}),
    ...(Object.keys(desired).length > 0 ? { properties: { desired } } : {}),
  };
  refuseViolations(parseTwinUpdate(patch as Record<string, unknown>, "patch").violations);
  return patch;
}

function parseTagsFlag(text: string): TwinProperties {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError("--tags: must be a JSON object");
  }
  if (!isPlainObject(parsed)) throw new UsageError("--tags: must be a JSON object");
  return parsed;
}

/** `PATH=VALUE`: VALUE parsed as JSON (`5`, `true`, `{"a":1}`, `"5"`), else taken as the string it is. */
function parseSetFlag(assignment: string): { flag: string; path: string; value: unknown } {
  const equals = assignment.indexOf("=");
  if (equals <= 0) throw new UsageError(`--set: '${assignment}' must be PATH=VALUE`);
  const text = assignment.slice(equals + 1);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = text;
  }
  return { flag: "--set", path: assignment.slice(0, equals), value };
}

/**
 * A twin path's section and keys: `tags.a.b`, `desired.a` or, as the twin itself spells it, `properties.desired.a`.
 * The keys themselves are checked with the twin's rules once the patch is built.
 */
function twinPath(flag: string, path: string): ["tags" | "desired", ...string[]] {
  const segments = path.split(".");
  const [first, ...rest] =
    segments[0] === "properties" && segments[1] === "desired" ? segments.slice(1) : segments;
  if ((first !== "tags" && first !== "desired") || rest.length === 0) {
    throw new UsageError(
      `${flag}: '${path}' must be tags.KEY[.KEY...] or desired.KEY[.KEY...] (reported properties are the device's)`,
    );
  }
  return [first, ...rest];
}

function setPath(target: TwinProperties, keys: string[], value: unknown): void {
  let node = target;
  for (const key of keys.slice(0, -1)) {
    if (!isPlainObject(node[key])) node[key] = {};
    node = node[key] as TwinProperties;
  }
  node[keys[keys.length - 1]] = value;
}

/**
 * The twin as the hub answered it, as plain data: the SDK's Twin also carries its Registry client in `_registry`
 * (left out here, as the Twin's own toJSON leaves it out), so table and tsv cells never reach into the client.
 */
export function twinDocument(twin: unknown): ServiceTwin {
  return Object.fromEntries(
    Object.entries(twin as Record<string, unknown>).filter(([field]) => !field.startsWith("_")),
  ) as ServiceTwin;
}

/** A twin section without the hub's bookkeeping, as a table cell shows it. */
const sectionOf = (section: TwinProperties | undefined): TwinProperties | undefined => {
  if (!section) return undefined;
  const { $metadata: _metadata, $version: _version, ...rest } = section;
  return rest;
};

export const TWIN_COLUMNS: Column<ServiceTwin>[] = [
  { header: "deviceId", value: (twin) => twin.deviceId },
  { header: "moduleId", value: (twin) => twin.moduleId },
  { header: "etag", value: (twin) => twin.etag },
  { header: "version", value: (twin) => twin.version },
  { header: "tags", value: (twin) => twin.tags },
  { header: "desired", value: (twin) => sectionOf(twin.properties?.desired) },
  { header: "reported", value: (twin) => sectionOf(twin.properties?.reported) },
];

function printTwins(twin: ServiceTwin, flags: ServiceFlags): void {
  printOutput(twin, TWIN_COLUMNS, flags.output);
}
