import type { IdentityRef } from "../events";

/**
 * IoT Hub's MQTT topic space for one identity. Every device or module sees the same `$iothub/...` names, so who a
 * message belongs to is decided by the connection, never by the topic: the hub answers on the asking connection
 * only, and nothing a client publishes is ever routed to another client.
 */

/** `devices/{d}` or `devices/{d}/modules/{m}`: the prefix of an identity's own topics. */
export function identityTopicPrefix(identity: IdentityRef): string {
  return `devices/${identity.deviceId}` + (identity.moduleId ? `/modules/${identity.moduleId}` : "");
}

export const TWIN_RESPONSES = "$iothub/twin/res/#";
export const DESIRED_PATCHES = "$iothub/twin/PATCH/properties/desired/#";
export const METHOD_REQUESTS = "$iothub/methods/POST/#";

/** The filters an identity may subscribe to: its twin, its methods, and its cloud-to-device or input messages. */
export function allowedSubscriptions(identity: IdentityRef): string[] {
  const own = identityTopicPrefix(identity);
  return [
    TWIN_RESPONSES,
    DESIRED_PATCHES,
    METHOD_REQUESTS,
    identity.moduleId ? `${own}/inputs/#` : `${own}/messages/devicebound/#`,
  ];
}

/** What a client's PUBLISH asks the hub to do; `undefined` = a topic this identity may not publish to. */
export type DeviceRequest =
  | { kind: "twinGet"; rid: string }
  | { kind: "reportedPatch"; rid: string }
  | { kind: "methodResponse"; rid: string; status: number }
  | { kind: "telemetry"; properties: string };

export function classifyPublish(identity: IdentityRef, topic: string): DeviceRequest | undefined {
  const telemetryPrefix = `${identityTopicPrefix(identity)}/messages/events/`;
  if (topic.startsWith(telemetryPrefix)) {
    return { kind: "telemetry", properties: topic.slice(telemetryPrefix.length) };
  }
  const [path, query = ""] = splitQuery(topic);
  const rid = new URLSearchParams(query).get("$rid") ?? "";
  // The SDK's comments write these names in lower case while it sends upper case: accept both, as IoT Hub does.
  const lowerPath = path.toLowerCase();
  if (lowerPath === "$iothub/twin/get/") return { kind: "twinGet", rid };
  if (lowerPath === "$iothub/twin/patch/properties/reported/") return { kind: "reportedPatch", rid };
  const methodResponse = /^\$iothub\/methods\/res\/(\d{3})\/$/i.exec(path);
  if (methodResponse) return { kind: "methodResponse", rid, status: Number(methodResponse[1]) };
  return undefined;
}

function splitQuery(topic: string): [string, string | undefined] {
  const question = topic.indexOf("?");
  return question < 0 ? [topic, undefined] : [topic.slice(0, question), topic.slice(question + 1)];
}

/** Topics the hub sends to one connection (never routed between clients). */
export const hubTopics = {
  twinResponse: (status: number, rid: string, version?: number): string =>
    `$iothub/twin/res/${status}/?$rid=${encodeURIComponent(rid)}` +
    (version === undefined ? "" : `&$version=${version}`),
  desiredPatch: (version: number): string => `$iothub/twin/PATCH/properties/desired/?$version=${version}`,
  methodRequest: (methodName: string, rid: string): string =>
    `$iothub/methods/POST/${methodName}/?$rid=${encodeURIComponent(rid)}`,
};

/** Topics only the hub sends (clients may not publish them), so forwarding them can never leak a client's message. */
export function isHubToDeviceTopic(topic: string): boolean {
  return (
    topic.startsWith("$iothub/twin/res/") ||
    topic.startsWith("$iothub/twin/PATCH/properties/desired/") ||
    topic.startsWith("$iothub/methods/POST/") ||
    /^devices\/[^/]+\/(messages\/devicebound|modules\/[^/]+\/inputs)\//.test(topic)
  );
}

/**
 * Whether a filter this hub granted covers a topic. Granted filters are fixed prefixes ending in `/#`
 * (allowedSubscriptions), but device and module ids may contain `+` and `#`: every level is compared literally and
 * only a final `#` matches the rest, so the own filter of a client whose id is `+` (`devices/+/...`) never spans
 * other identities' topics.
 */
export function topicMatches(filter: string, topic: string): boolean {
  const filterLevels = filter.split("/");
  const topicLevels = topic.split("/");
  for (let i = 0; i < filterLevels.length; i++) {
    const level = filterLevels[i];
    if (level === "#" && i === filterLevels.length - 1) return true;
    if (i >= topicLevels.length || level !== topicLevels[i]) return false;
  }
  return filterLevels.length === topicLevels.length;
}
