import type { DeviceApiBackend } from "../../local-hub/mqtt/backend";
import { answerReportedPatch, answerTwinGet } from "../../local-hub/mqtt/twinRequests";

// A device's twin requests over MQTT are parsed before the store sees them: a patch that breaks IoT Hub's twin rules
// is answered 400 naming the property and the rule, and nothing is written.

function backendRecordingPatches(): { backend: DeviceApiBackend; patches: unknown[] } {
  const patches: unknown[] = [];
  const backend: DeviceApiBackend = {
    getDevice: () => undefined,
    getModule: () => undefined,
    getDeviceSideTwin: (ref) =>
      ref.deviceId === "d1" ? { desired: { $version: 1 }, reported: { $version: 4 } } : undefined,
    patchReported: (_ref, patch) => {
      patches.push(patch);
      return 5;
    },
    setConnectionState: () => undefined,
    touchActivity: () => undefined,
  };
  return { backend, patches };
}

const identity = { deviceId: "d1", moduleId: "m1" };

describe("MQTT twin requests", () => {
  it("hands a valid reported patch (null deletes) to the store and answers 204 with the new $version", () => {
    const { backend, patches } = backendRecordingPatches();
    const answer = answerReportedPatch(backend, identity, Buffer.from('{"fw":"1.0","old":null}'));
    expect(answer).toEqual({ status: 204, body: "", version: 5 });
    expect(patches).toEqual([{ fw: "1.0", old: null }]);
  });

  it.each([
    [
      "a property name with a dot, even when it deletes",
      '{"bad.key":null}',
      /reported\.bad\.key: property names/,
    ],
    ["a list instead of an object", "[1,2]", /must be a JSON object/],
    ["text that is no JSON", "{", /must be a JSON object/],
    [
      "a patch nested 40,000 levels deep",
      '{"a":'.repeat(40_000) + "1" + "}".repeat(40_000),
      /^reported(\.a){11}: must be nested at most 10 levels deep$/,
    ],
  ])("refuses %s with 400 and writes nothing", (_case, body, message) => {
    const { backend, patches } = backendRecordingPatches();
    const answer = answerReportedPatch(backend, identity, Buffer.from(body));
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({
      errorCode: 400004,
      message: expect.stringMatching(message),
    });
    expect(patches).toEqual([]);
  });

  it("answers a GET of an unknown identity with 404 ModuleNotFound", () => {
    const { backend } = backendRecordingPatches();
    expect(answerTwinGet(backend, identity).status).toBe(200);
    const missing = answerTwinGet(backend, { deviceId: "d2", moduleId: "m1" });
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toMatchObject({ errorCode: 404010 });
  });
});
