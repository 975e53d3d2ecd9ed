import { allowedSubscriptions, classifyPublish, topicMatches } from "../../local-hub/mqtt/topics";

/**
 * Device and module ids may contain the MQTT wildcards `+` and `#` (IoT Hub's id alphabet): in a client's own
 * topics they are characters of the id, never wildcards over other identities' topics.
 */

const ownFilter = (identity: { deviceId: string; moduleId?: string }): string =>
  allowedSubscriptions(identity).find((filter) => filter.startsWith("devices/"))!;

describe("a client's own topics compare literally", () => {
  it("a device whose id is '+' or '#' is granted only its own cloud-to-device topics", () => {
    for (const deviceId of ["+", "#", "a+b", "a#"]) {
      const filter = ownFilter({ deviceId });
      expect(filter).toBe(`devices/${deviceId}/messages/devicebound/#`);
      expect(topicMatches(filter, `devices/${deviceId}/messages/devicebound/%24.to=x`)).toBe(true);
      expect(topicMatches(filter, "devices/other/messages/devicebound/%24.to=x")).toBe(false);
      expect(topicMatches(filter, "devices/other/modules/m/inputs/in1/")).toBe(false);
    }
  });

  it("a module whose id is '+' is granted only its own inputs", () => {
    const filter = ownFilter({ deviceId: "d1", moduleId: "+" });
    expect(filter).toBe("devices/d1/modules/+/inputs/#");
    expect(topicMatches(filter, "devices/d1/modules/+/inputs/in1/")).toBe(true);
    expect(topicMatches(filter, "devices/d1/modules/m2/inputs/in1/")).toBe(false);
  });

  it("the hub's own filters still cover everything below them", () => {
    expect(topicMatches("$iothub/methods/POST/#", "$iothub/methods/POST/reboot/?$rid=1")).toBe(true);
    expect(topicMatches("$iothub/twin/res/#", "$iothub/twin/res/200/?$rid=1")).toBe(true);
    expect(topicMatches("$iothub/twin/res/#", "$iothub/twin/PATCH/properties/desired/?$version=2")).toBe(
      false,
    );
  });

  it("a '+' device may publish telemetry only on its own topic", () => {
    expect(classifyPublish({ deviceId: "+" }, "devices/+/messages/events/")).toEqual({
      kind: "telemetry",
      properties: "",
    });
    expect(classifyPublish({ deviceId: "+" }, "devices/other/messages/events/")).toBeUndefined();
  });
});
