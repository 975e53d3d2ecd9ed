import { EDGE_AGENT, type ConfigurationKind } from "../../lib/iothub/configuration";

/**
 * The queries behind a configuration's system metrics, as IoT Hub lists them in `systemMetrics.queries`. The engine
 * counts these itself while it applies (one pass, no query per metric); the texts tell a user what each count
 * means and can be run as they are with `POST /devices/query`.
 */
export function systemMetricQueries(
  id: string,
  kind: ConfigurationKind,
  targetCondition: string,
): Record<string, string> {
  const condition = targetCondition.trim();
  const applied = `configurations.[[${id}]].status = 'Applied'`;
  if (kind === "module") {
    const where = condition.replace(/^\s*FROM\s+devices\.modules\s+WHERE\s+/i, "");
    return {
      targetedCount: `SELECT deviceId, moduleId FROM devices.modules${where === "*" ? "" : ` WHERE ${where}`}`,
      appliedCount: `SELECT deviceId, moduleId FROM devices.modules WHERE ${applied}`,
    };
  }
  if (kind === "device") {
    return {
      // `*` selects every twin: no WHERE (the query language has no bare `true`).
      targetedCount: `SELECT deviceId FROM devices${condition === "*" ? "" : ` WHERE ${condition}`}`,
      appliedCount: `SELECT deviceId FROM devices WHERE ${applied}`,
    };
  }
  const agent = `SELECT deviceId FROM devices.modules WHERE moduleId = '${EDGE_AGENT}' AND ${applied}`;
  const inSync = "properties.desired.$version = properties.reported.lastDesiredVersion";
  return {
    targetedCount: `SELECT deviceId FROM devices WHERE capabilities.iotEdge = true${condition === "*" ? "" : ` AND ${condition}`}`,
    appliedCount: agent,
    reportedSuccessfulCount: `${agent} AND ${inSync} AND properties.reported.lastDesiredStatus.code = 200`,
    reportedFailedCount: `${agent} AND ${inSync} AND properties.reported.lastDesiredStatus.code != 200`,
  };
}
