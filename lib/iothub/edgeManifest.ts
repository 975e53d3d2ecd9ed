import { DESIRED_ROOT, EDGE_AGENT, EDGE_HUB } from "./configuration";
import { checkModuleId, type RuleViolation } from "./rules";
import { isPlainObject } from "./twin";

/**
 * The IoT Edge deployment manifest: what `$edgeAgent` and `$edgeHub` read from their desired properties
 * (`modulesContent` of a deployment, of `az iot edge set-modules`). IoT Hub stores any twin content; the runtime on
 * the device is what refuses a manifest it cannot run, long after `pulumi up` said it succeeded. So the providers
 * check the manifest's shape before anything changes, with these rules (the IoT Edge manifest schema,
 * https://learn.microsoft.com/azure/iot-edge/module-composition): every rule names the field it is about.
 *
 * The twin-content rules (keys, sizes, depth, 50 modules) are lib/iothub/configuration.ts's; these come on top.
 * The walk reads fixed paths only and never descends into values it does not name, so a deep or huge value costs
 * no more than its top level here (the twin rules bound the rest).
 */

/** `schemaVersion` of `$edgeAgent`/`$edgeHub`: "1.0", "1.1", "1.2", "1.1.1" ... */
const SCHEMA_VERSION = /^1\.\d{1,2}(\.\d{1,2})?$/;
const MODULE_STATUSES = ["running", "stopped"];
const RESTART_POLICIES = ["never", "on-failure", "on-unhealthy", "always"];
const IMAGE_PULL_POLICIES = ["on-create", "never"];
/** Docker's createOptions as the runtime takes them: JSON text, each twin string at most 4 KB (the twin rules). */
const CREATE_OPTIONS_RULE = "must be JSON text of an object (Docker create options, as a string)";
/** `FROM <source> [WHERE <condition>] INTO <sink>`, as $edgeHub parses routes. */
const ROUTE_PATTERN = /^\s*FROM\s+\S+(\s+WHERE\s+[\s\S]+?)?\s+INTO\s+\S[\s\S]*$/i;
const ROUTE_RULE = "must be a route: FROM <source> [WHERE <condition>] INTO <sink>";

const oneOf = (values: readonly string[]): string => values.map((v) => `'${v}'`).join(", ");

/**
 * A deployment's `modulesContent` (`field` names it). A base deployment (and set-modules) carries the whole
 * manifest: `$edgeAgent`'s and `$edgeHub`'s `properties.desired` documents. A layered deployment adds to the base
 * deployment of the devices it targets: `properties.desired.<path>` keys only, on `$edgeAgent` only below
 * `modules` (a layer cannot change the runtime, the system modules or the schema), on `$edgeHub` only below
 * `routes`.
 */
export function checkDeploymentManifest(
  modulesContent: unknown,
  layered: boolean,
  field = "modulesContent",
): RuleViolation[] {
  if (!isPlainObject(modulesContent)) return [{ field, rule: "must be an object of modules" }];
  return layered ? checkLayeredManifest(modulesContent, field) : checkBaseManifest(modulesContent, field);
}

function checkBaseManifest(content: Record<string, unknown>, field: string): RuleViolation[] {
  const violations: RuleViolation[] = [];
  for (const system of [EDGE_AGENT, EDGE_HUB]) {
    const module = content[system];
    const at = `${field}.${system}`;
    if (!isPlainObject(module) || !isPlainObject(module[DESIRED_ROOT])) {
      violations.push({
        field: `${at}.${DESIRED_ROOT}`,
        rule: `is required: a base deployment sets ${system}'s whole desired document (a deployment that adds to one is layered)`,
      });
      continue;
    }
    const desired = module[DESIRED_ROOT] as Record<string, unknown>;
    const desiredAt = `${at}.${DESIRED_ROOT}`;
    violations.push(
      ...(system === EDGE_AGENT
        ? checkAgentDocument(desired, desiredAt)
        : checkHubDocument(desired, desiredAt)),
    );
  }
  return violations;
}

function checkAgentDocument(desired: Record<string, unknown>, field: string): RuleViolation[] {
  const violations = checkSchemaVersion(desired.schemaVersion, `${field}.schemaVersion`);
  const runtime = desired.runtime;
  if (!isPlainObject(runtime)) {
    violations.push({
      field: `${field}.runtime`,
      rule: "is required: an object with type 'docker' and settings",
    });
  } else {
    if (runtime.type !== "docker")
      violations.push({ field: `${field}.runtime.type`, rule: "must be 'docker'" });
    if (runtime.settings !== undefined && !isPlainObject(runtime.settings)) {
      violations.push({ field: `${field}.runtime.settings`, rule: "must be an object" });
    } else if (isPlainObject(runtime.settings)) {
      violations.push(
        ...checkRegistryCredentials(runtime.settings.registryCredentials, `${field}.runtime.settings`),
      );
    }
  }
  const systemModules = desired.systemModules;
  if (!isPlainObject(systemModules)) {
    violations.push({
      field: `${field}.systemModules`,
      rule: "is required: an object with edgeAgent and edgeHub",
    });
  } else {
    for (const name of ["edgeAgent", "edgeHub"]) {
      const at = `${field}.systemModules.${name}`;
      const module = systemModules[name];
      if (!isPlainObject(module))
        violations.push({ field: at, rule: "is required: the runtime's own module" });
      else violations.push(...checkModuleDefinition(module, at, name === "edgeHub"));
    }
  }
  const modules = desired.modules;
  if (modules !== undefined && !isPlainObject(modules)) {
    violations.push({ field: `${field}.modules`, rule: "must be an object of modules by name" });
  } else if (isPlainObject(modules)) {
    for (const [name, module] of Object.entries(modules)) {
      violations.push(...checkCustomModule(name, module, `${field}.modules.${name}`));
    }
  }
  return violations;
}

function checkHubDocument(desired: Record<string, unknown>, field: string): RuleViolation[] {
  const violations = checkSchemaVersion(desired.schemaVersion, `${field}.schemaVersion`);
  const routes = desired.routes;
  if (!isPlainObject(routes)) {
    violations.push({ field: `${field}.routes`, rule: "is required: an object of routes by name" });
  } else {
    for (const [name, route] of Object.entries(routes))
      violations.push(...checkRoute(route, `${field}.routes.${name}`));
  }
  const storeAndForward = desired.storeAndForwardConfiguration;
  const ttl = isPlainObject(storeAndForward) ? storeAndForward.timeToLiveSecs : undefined;
  if (!isWholeNumber(ttl)) {
    violations.push({
      field: `${field}.storeAndForwardConfiguration.timeToLiveSecs`,
      rule: "is required: a whole number of seconds >= 0",
    });
  }
  return violations;
}

function checkLayeredManifest(content: Record<string, unknown>, field: string): RuleViolation[] {
  const violations: RuleViolation[] = [];
  for (const [module, moduleContent] of Object.entries(content)) {
    if (!isPlainObject(moduleContent)) continue; // the twin-content rules name it
    for (const [key, value] of Object.entries(moduleContent)) {
      const at = `${field}.${module}.${key}`;
      if (key === DESIRED_ROOT) {
        violations.push({
          field: at,
          rule: `a layered deployment sets '${DESIRED_ROOT}.<path>' keys only (the whole document is the base deployment's)`,
        });
      } else if (module === EDGE_AGENT) {
        violations.push(...checkLayeredAgentKey(key, value, at));
      } else if (module === EDGE_HUB) {
        violations.push(...checkLayeredHubKey(key, value, at));
      }
    }
  }
  return violations;
}

/** `$edgeAgent` in a layer: `properties.desired.modules.<name>` (a whole module) or a path below one. */
function checkLayeredAgentKey(key: string, value: unknown, field: string): RuleViolation[] {
  const match = /^properties\.desired\.modules\.([^.]+)(\..+)?$/.exec(key);
  if (!match) {
    return [
      {
        field,
        rule: `a layered deployment may set only '${DESIRED_ROOT}.modules.<module>' on ${EDGE_AGENT} (runtime, systemModules and schemaVersion are the base deployment's)`,
      },
    ];
  }
  return match[2] === undefined ? checkCustomModule(match[1], value, field) : [];
}

/** `$edgeHub` in a layer: `properties.desired.routes.<name>` (a route). */
function checkLayeredHubKey(key: string, value: unknown, field: string): RuleViolation[] {
  const match = /^properties\.desired\.routes\.([^.]+)$/.exec(key);
  if (!match) {
    return [
      {
        field,
        rule: `a layered deployment may set only '${DESIRED_ROOT}.routes.<route>' on ${EDGE_HUB}`,
      },
    ];
  }
  return checkRoute(value, field);
}

function checkSchemaVersion(value: unknown, field: string): RuleViolation[] {
  return typeof value === "string" && SCHEMA_VERSION.test(value)
    ? []
    : [{ field, rule: 'is required: the manifest schema version, e.g. "1.1"' }];
}

/** A custom module: its name (IoT Hub's module id rules) and its definition. */
function checkCustomModule(name: string, module: unknown, field: string): RuleViolation[] {
  const violations = checkModuleId(name, field).map((v) => ({ ...v, rule: `module names: ${v.rule}` }));
  if (!isPlainObject(module))
    return [...violations, { field, rule: "must be a module: type, status, restartPolicy, settings.image" }];
  violations.push(...checkModuleDefinition(module, field, true));
  if (module.version !== undefined && typeof module.version !== "string") {
    violations.push({ field: `${field}.version`, rule: "must be a string" });
  }
  if (
    module.imagePullPolicy !== undefined &&
    !IMAGE_PULL_POLICIES.includes(module.imagePullPolicy as string)
  ) {
    violations.push({
      field: `${field}.imagePullPolicy`,
      rule: `must be one of ${oneOf(IMAGE_PULL_POLICIES)}`,
    });
  }
  if (module.startupOrder !== undefined && !isWholeNumber(module.startupOrder)) {
    violations.push({ field: `${field}.startupOrder`, rule: "must be a whole number >= 0" });
  }
  if (module.env !== undefined) violations.push(...checkEnvironment(module.env, `${field}.env`));
  return violations;
}

/**
 * What every module definition has: `type: docker` and `settings.image` (with optional `createOptions` text);
 * modules the agent runs (custom ones, edgeHub) also `status` and `restartPolicy`.
 */
function checkModuleDefinition(
  module: Record<string, unknown>,
  field: string,
  run: boolean,
): RuleViolation[] {
  const violations: RuleViolation[] = [];
  if (module.type !== "docker") violations.push({ field: `${field}.type`, rule: "must be 'docker'" });
  if (run) {
    if (!MODULE_STATUSES.includes(module.status as string)) {
      violations.push({ field: `${field}.status`, rule: `must be one of ${oneOf(MODULE_STATUSES)}` });
    }
    if (!RESTART_POLICIES.includes(module.restartPolicy as string)) {
      violations.push({ field: `${field}.restartPolicy`, rule: `must be one of ${oneOf(RESTART_POLICIES)}` });
    }
  }
  const settings = module.settings;
  if (!isPlainObject(settings)) {
    violations.push({ field: `${field}.settings`, rule: "is required: an object with image" });
    return violations;
  }
  if (typeof settings.image !== "string" || settings.image.trim() === "") {
    violations.push({
      field: `${field}.settings.image`,
      rule: "is required: the container image, e.g. mcr.microsoft.com/azureiotedge-agent:1.5",
    });
  }
  if (settings.createOptions !== undefined && !isObjectJsonText(settings.createOptions)) {
    violations.push({ field: `${field}.settings.createOptions`, rule: CREATE_OPTIONS_RULE });
  }
  return violations;
}

/** `env`: variable name -> `{value}`. */
function checkEnvironment(env: unknown, field: string): RuleViolation[] {
  if (!isPlainObject(env)) return [{ field, rule: "must be an object of {value} by variable name" }];
  return Object.entries(env).flatMap(([name, variable]) =>
    isPlainObject(variable) && ["string", "number", "boolean"].includes(typeof variable.value)
      ? []
      : [{ field: `${field}.${name}`, rule: "must be {value: <string, number or boolean>}" }],
  );
}

/**
 * `registryCredentials`: name -> `{username, password, address}`. The password is a credential in the content:
 * the providers keep the whole content secret when any is declared (components/adm/edgeDeployment.ts).
 */
function checkRegistryCredentials(credentials: unknown, field: string): RuleViolation[] {
  if (credentials === undefined) return [];
  const at = `${field}.registryCredentials`;
  if (!isPlainObject(credentials))
    return [{ field: at, rule: "must be an object of {username, password, address} by name" }];
  return Object.entries(credentials).flatMap(([name, entry]) =>
    ["username", "password", "address"].flatMap((key) =>
      isPlainObject(entry) && typeof entry[key] === "string" && entry[key] !== ""
        ? []
        : [{ field: `${at}.${name}.${key}`, rule: "is required: a non-empty string" }],
    ),
  );
}

function checkRoute(route: unknown, field: string): RuleViolation[] {
  if (typeof route === "string") return ROUTE_PATTERN.test(route) ? [] : [{ field, rule: ROUTE_RULE }];
  if (!isPlainObject(route)) return [{ field, rule: `${ROUTE_RULE}, or {route, priority, timeToLiveSecs}` }];
  const violations: RuleViolation[] = [];
  if (typeof route.route !== "string" || !ROUTE_PATTERN.test(route.route)) {
    violations.push({ field: `${field}.route`, rule: ROUTE_RULE });
  }
  if (route.priority !== undefined && !(isWholeNumber(route.priority) && route.priority <= 9)) {
    violations.push({ field: `${field}.priority`, rule: "must be a whole number 0-9" });
  }
  if (route.timeToLiveSecs !== undefined && !isWholeNumber(route.timeToLiveSecs)) {
    violations.push({ field: `${field}.timeToLiveSecs`, rule: "must be a whole number of seconds >= 0" });
  }
  return violations;
}

/** True when any `registryCredentials` is declared in a manifest (then its content holds passwords). */
export function hasRegistryCredentials(modulesContent: unknown): boolean {
  if (!isPlainObject(modulesContent)) return false;
  const agent = modulesContent[EDGE_AGENT];
  if (!isPlainObject(agent)) return false;
  const desired = agent[DESIRED_ROOT];
  const runtime = isPlainObject(desired) ? desired.runtime : undefined;
  const settings = isPlainObject(runtime) ? runtime.settings : undefined;
  return isPlainObject(settings) && settings.registryCredentials !== undefined;
}

const isWholeNumber = (value: unknown): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 0;

function isObjectJsonText(value: unknown): boolean {
  if (typeof value !== "string") return false;
  try {
    return isPlainObject(JSON.parse(value));
  } catch {
    return false;
  }
}
