import { createSasToken } from "../../lib/iothub/sas";
import { authenticateConnect, identityFromClientId } from "../../local-hub/mqtt/authenticate";
import type { DeviceApiBackend } from "../../local-hub/mqtt/backend";
import {
  allowedSubscriptions,
  classifyPublish,
  isHubToDeviceTopic,
  topicMatches,
} from "../../local-hub/mqtt/topics";

// The device API's decisions that need no broker: who a CONNECT proves to be, and which topics it may use.
// (The same rules run end to end in mqtt.test.ts; these pin the edge cases without a hub.)

const HOST = "hub.local";
const PRIMARY = Buffer.alloc(32, 1).toString("base64");
const SECONDARY = Buffer.alloc(32, 2).toString("base64");
const THUMBPRINT = "AB".repeat(20);

const backend: DeviceApiBackend = {
  getDevice: (deviceId) =>
    ({
      d1: { status: "enabled" as const, authentication: sas() },
      off: { status: "disabled" as const, authentication: sas() },
      x509: {
        status: "enabled" as const,
        authentication: {
          type: "selfSigned" as const,
          x509Thumbprint: { primaryThumbprint: THUMBPRINT, secondaryThumbprint: null },
        },
      },
      x509sha256: {
        status: "enabled" as const,
        authentication: {
          type: "selfSigned" as const,
          x509Thumbprint: { primaryThumbprint: null, secondaryThumbprint: "cd".repeat(32) },
        },
      },
    })[deviceId],
  getModule: (deviceId, moduleId) =>
    deviceId === "d1" && moduleId === "m1" ? { authentication: sas() } : undefined,
  getDeviceSideTwin: () => undefined,
  patchReported: () => 1,
  setConnectionState: () => undefined,
  touchActivity: () => undefined,
};

function sas() {
  return { type: "sas" as const, symmetricKey: { primaryKey: PRIMARY, secondaryKey: SECONDARY } };
}

const now = new Date("2026-01-01T00:00:00Z");
const inAnHour = now.getTime() / 1000 + 3600;

function attempt(clientId: string, resource: string, key = PRIMARY, expiry = inAnHour) {
  return {
    clientId,
    username: `${HOST}/${clientId}/?api-version=2021-04-12&DeviceClientType=test`,
    password: Buffer.from(createSasToken(resource, key, expiry)),
  };
}

describe("MQTT CONNECT authentication", () => {
  it("accepts a module token signed with the primary or the secondary key, and says when it expires", () => {
    for (const key of [PRIMARY, SECONDARY]) {
      expect(
        authenticateConnect(backend, HOST, attempt("d1/m1", `${HOST}/devices/d1/modules/m1`, key), now),
      ).toEqual({
        ok: true,
        identity: { deviceId: "d1", moduleId: "m1" },
        tokenExpiresAtMs: inAnHour * 1000,
      });
    }
  });

  it("refuses an expired token, a token for another identity, a wrong key and a disabled device", () => {
    const refused = (result: ReturnType<typeof authenticateConnect>): string =>
      result.ok ? "accepted" : result.reason;
    expect(
      refused(authenticateConnect(backend, HOST, attempt("d1", `${HOST}/devices/d1`, PRIMARY, 1000), now)),
    ).toMatch(/expired/);
    expect(refused(authenticateConnect(backend, HOST, attempt("d1/m1", `${HOST}/devices/d1`), now))).toMatch(
      /scoped to/,
    );
    const wrongKey = Buffer.alloc(32, 9).toString("base64");
    expect(
      refused(authenticateConnect(backend, HOST, attempt("d1", `${HOST}/devices/d1`, wrongKey), now)),
    ).toMatch(/signature/);
    expect(refused(authenticateConnect(backend, HOST, attempt("off", `${HOST}/devices/off`), now))).toMatch(
      /disabled/,
    );
    expect(
      refused(authenticateConnect(backend, HOST, attempt("ghost", `${HOST}/devices/ghost`), now)),
    ).toMatch(/not registered/);
  });

  it("refuses a username that names another hub or identity than the clientId", () => {
    const mismatched = {
      ...attempt("d1", `${HOST}/devices/d1`),
      username: `${HOST}/d2/?api-version=2021-04-12`,
    };
    expect(authenticateConnect(backend, HOST, mismatched, now)).toMatchObject({ ok: false });
  });

  it("accepts a registered self-signed thumbprint (SHA-1 or SHA-256 form) and nothing else, with no expiry", () => {
    const withCertificate = (sha1: string, clientId = "x509") => ({
      clientId,
      username: `${HOST}/${clientId}/?api-version=2021-04-12`,
      password: undefined,
      certificateThumbprints: { sha1, sha256: "CD".repeat(32) },
    });
    // A certificate connection has no token to expire: the hub sets it no expiry timer.
    expect(authenticateConnect(backend, HOST, withCertificate(THUMBPRINT), now)).toEqual({
      ok: true,
      identity: { deviceId: "x509" },
    });
    expect(authenticateConnect(backend, HOST, withCertificate("EF".repeat(20)), now)).toMatchObject({
      ok: false,
    });
  });

  it("parses clientIds as {deviceId} or {deviceId}/{moduleId} only", () => {
    expect(identityFromClientId("d1")).toEqual({ deviceId: "d1" });
    expect(identityFromClientId("d1/m1")).toEqual({ deviceId: "d1", moduleId: "m1" });
    expect(identityFromClientId("d1/m1/x")).toBeUndefined();
    expect(identityFromClientId("")).toBeUndefined();
  });
});

describe("MQTT topic rules", () => {
  const module = { deviceId: "d1", moduleId: "m1" };

  it("classifies what a module may publish, and nothing of another identity's", () => {
    expect(classifyPublish(module, "$iothub/twin/GET/?$rid=7")).toEqual({ kind: "twinGet", rid: "7" });
    expect(classifyPublish(module, "$iothub/twin/PATCH/properties/reported/?$rid=8")).toEqual({
      kind: "reportedPatch",
      rid: "8",
    });
    expect(classifyPublish(module, "$iothub/methods/res/200/?$rid=9")).toEqual({
      kind: "methodResponse",
      rid: "9",
      status: 200,
    });
    expect(classifyPublish(module, "devices/d1/modules/m1/messages/events/%24.ct=json&a=1")).toEqual({
      kind: "telemetry",
      properties: "%24.ct=json&a=1",
    });
    expect(classifyPublish(module, "devices/d1/modules/m2/messages/events/")).toBeUndefined();
    expect(classifyPublish(module, "devices/d1/messages/events/")).toBeUndefined();
    expect(classifyPublish(module, "$iothub/twin/res/200/?$rid=1")).toBeUndefined();
    expect(classifyPublish(module, "$iothub/twin/PATCH/properties/desired/?$version=2")).toBeUndefined();
  });

  it("allows a module its twin, methods and inputs only; a device its cloud-to-device messages", () => {
    expect(allowedSubscriptions(module)).toEqual([
      "$iothub/twin/res/#",
      "$iothub/twin/PATCH/properties/desired/#",
      "$iothub/methods/POST/#",
      "devices/d1/modules/m1/inputs/#",
    ]);
    expect(allowedSubscriptions({ deviceId: "d1" })).toContain("devices/d1/messages/devicebound/#");
  });

  it("forwards only hub-to-device topics, and matches MQTT filters", () => {
    expect(isHubToDeviceTopic("$iothub/twin/res/200/?$rid=1")).toBe(true);
    expect(isHubToDeviceTopic("devices/d1/modules/m1/messages/events/")).toBe(false);
    expect(isHubToDeviceTopic("$iothub/twin/GET/?$rid=1")).toBe(false);
    expect(topicMatches("$iothub/twin/res/#", "$iothub/twin/res/200/?$rid=1")).toBe(true);
    // Granted filters are literal prefixes: '+' inside one is a character of an id, not a wildcard.
    expect(topicMatches("a/+/c", "a/+/c")).toBe(true);
    expect(topicMatches("a/+/c", "a/b/c")).toBe(false);
  });
});
