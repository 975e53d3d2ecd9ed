import { DATA_ACTIONS } from "../../lib/iothub/dataPlaneRoles";
import {
  CONFIGURATION_LIMITS,
  configurationKind,
  parseConfigurationBody,
} from "../../lib/iothub/configuration";
import { describeViolations } from "../../lib/iothub/rules";
import { isPlainObject } from "../../lib/iothub/twin";
import { applyOnEdgeDevice } from "../adm/edgeDevice";
import {
  TargetConditionError,
  parseMetricQuery,
  parseTargetCondition,
  testQueries,
} from "../adm/targetCondition";
import { badRequest, configurationNotFound, invalidConfiguration } from "../errors/iotHubError";
import { recordOf, type ConfigurationStore } from "../persistence/configurationStore";
import type { IdentityStore } from "../persistence/identityStore";
import { parseIfMatch } from "./requestModels";
import type { Route } from "./route";

/**
 * ADM configurations and IoT Edge deployments (`/configurations`, as azure-iothub's Registry calls them):
 * PUT (no If-Match = create-only, 409; with If-Match = update: priority, target condition, labels, metrics and
 * schemaVersion change, id and content stay), GET, DELETE (If-Match optional), the list (`top`), testQueries, and
 * applyConfigurationContent on one IoT Edge device.
 */
export function configurationRoutes(configurations: ConfigurationStore, store: IdentityStore): Route[] {
  return [
    {
      method: "PUT",
      pattern: "/configurations/:id",
      right: "RegistryWrite",
      dataActions: [DATA_ACTIONS.configurationsWrite],
      operationClass: "configurations",
      handle: ({ params, body, headers }) => {
        const condition = parseIfMatch(headers["if-match"]);
        const input = parseConfiguration(params.id, body);
        return { status: 200, body: configurations.put(input, condition) };
      },
    },
    {
      method: "GET",
      pattern: "/configurations/:id",
      right: "RegistryRead",
      dataActions: [DATA_ACTIONS.configurationsRead],
      operationClass: "configurations",
      handle: ({ params }) => {
        const configuration = configurations.get(params.id);
        if (!configuration) throw configurationNotFound(params.id);
        return { status: 200, body: recordOf(configuration) };
      },
    },
    {
      method: "DELETE",
      pattern: "/configurations/:id",
      right: "RegistryWrite",
      dataActions: [DATA_ACTIONS.configurationsDelete],
      operationClass: "configurations",
      handle: ({ params, headers }) => {
        configurations.delete(params.id, parseIfMatch(headers["if-match"]));
        return { status: 204 };
      },
    },
    {
      method: "GET",
      pattern: "/configurations",
      right: "RegistryRead",
      dataActions: [DATA_ACTIONS.configurationsRead],
      operationClass: "configurations",
      handle: ({ query }) => {
        const top = query.get("top");
        const limit = top === null ? CONFIGURATION_LIMITS.configurationsPerHub : Number(top);
        if (!Number.isInteger(limit) || limit < 1) throw badRequest("top: must be a positive integer");
        return {
          status: 200,
          body: configurations.list(Math.min(limit, CONFIGURATION_LIMITS.configurationsPerHub)).map(recordOf),
        };
      },
    },
    {
      method: "POST",
      pattern: "/configurations/testQueries",
      right: "RegistryRead",
      dataActions: [DATA_ACTIONS.configurationsTestQueries],
      operationClass: "configurations",
      handle: ({ body }) => {
        if (!isPlainObject(body))
          throw badRequest("The request body must be {targetCondition, customMetricQueries}.");
        const { targetCondition, customMetricQueries } = body;
        if (targetCondition !== undefined && typeof targetCondition !== "string") {
          throw badRequest("targetCondition: must be a string");
        }
        const queries = customMetricQueries ?? {};
        if (!isPlainObject(queries) || Object.values(queries).some((q) => typeof q !== "string")) {
          throw badRequest("customMetricQueries: must be an object of query strings");
        }
        return { status: 200, body: testQueries(targetCondition ?? "", queries as Record<string, string>) };
      },
    },
    {
      method: "POST",
      pattern: "/devices/:deviceId/applyConfigurationContent",
      right: "RegistryWrite",
      dataActions: [DATA_ACTIONS.configurationsApplyToEdgeDevice],
      operationClass: "configurations",
      handle: ({ params, body }) => {
        applyOnEdgeDevice(store, params.deviceId, body);
        return { status: 204 };
      },
    },
  ];
}

/**
 * The PUT body with IoT Hub's rules and its answers: 400 InvalidConfigurationContent for the content, 400
 * InvalidConfigurationTargetCondition for the target condition, 400 ArgumentInvalid for the rest (each naming the
 * field and the rule). Nothing reaches the store before all of it passed.
 */
function parseConfiguration(id: string, body: unknown) {
  const { input, violations } = parseConfigurationBody(id, body);
  const content = violations.filter((v) => v.field.startsWith("content"));
  if (content.length > 0)
    throw invalidConfiguration("InvalidConfigurationContent", describeViolations(violations));
  if (violations.length > 0) throw badRequest(describeViolations(violations));
  try {
    parseTargetCondition(input.targetCondition, configurationKind(input.content));
  } catch (error) {
    if (!(error instanceof TargetConditionError)) throw error;
    throw invalidConfiguration("InvalidConfigurationTargetCondition", `targetCondition: ${error.message}`);
  }
  for (const [name, query] of Object.entries(input.metricQueries)) {
    try {
      parseMetricQuery(query);
    } catch (error) {
      if (!(error instanceof TargetConditionError)) throw error;
      throw badRequest(`metrics.queries.${name}: ${error.message}`);
    }
  }
  return input;
}
