import { dpsTopics, parseDpsDeviceTopic } from "../../lib/dps/registrationProtocol";

// The device registration topics as azure-iot-provisioning-device-mqtt publishes them (its dist/mqtt.js), and
// what the local DPS takes as no request at all (the connection is then closed).

describe("DPS device registration topics", () => {
  it("parses the SDK's register and operation status topics", () => {
    const rid = "0b5e2f3c-1f2a-4c1d-9f7e-123456789abc";
    expect(parseDpsDeviceTopic(`$dps/registrations/PUT/iotdps-register/?$rid=${rid}`)).toEqual({
      kind: "register",
      rid,
    });
    expect(
      parseDpsDeviceTopic(
        `$dps/registrations/GET/iotdps-get-operationstatus/?$rid=${rid}&operationId=4.abc.def`,
      ),
    ).toEqual({ kind: "operationStatus", rid, operationId: "4.abc.def" });
    expect(parseDpsDeviceTopic(dpsTopics.register("7"))).toEqual({ kind: "register", rid: "7" });
    expect(parseDpsDeviceTopic(dpsTopics.operationStatus("8", "op"))).toEqual({
      kind: "operationStatus",
      rid: "8",
      operationId: "op",
    });
  });

  it("takes nothing else: other topics, missing, repeated, extra, empty or oversized parameters, odd characters", () => {
    for (const topic of [
      "$dps/registrations/res/200/?$rid=1",
      "$dps/registrations/PUT/iotdps-register/",
      "$dps/registrations/PUT/iotdps-register/?",
      "$dps/registrations/PUT/iotdps-register/?$rid=",
      "$dps/registrations/PUT/iotdps-register/?$rid=1&$rid=2",
      "$dps/registrations/PUT/iotdps-register/?$rid=1&extra=2",
      "$dps/registrations/PUT/iotdps-register/?rid=1",
      `$dps/registrations/PUT/iotdps-register/?$rid=${"a".repeat(129)}`,
      "$dps/registrations/PUT/iotdps-register/?$rid=a/b",
      "$dps/registrations/PUT/iotdps-register/?$rid=a\nb",
      "$dps/registrations/PUT/iotdps-register/?$rid=%2e%2e",
      "$dps/registrations/GET/iotdps-get-operationstatus/?$rid=1",
      "$dps/registrations/GET/iotdps-get-operationstatus/?operationId=1",
      "$dps/registrations/GET/iotdps-get-operationstatus/?$rid=1&operationId=2&operationId=3",
      "$iothub/twin/GET/?$rid=1",
      "",
    ]) {
      expect(parseDpsDeviceTopic(topic)).toBeUndefined();
    }
  });

  it("builds the answer topics the SDK matches (status, rid, retry-after)", () => {
    expect(dpsTopics.response(202, "r1", 0)).toBe("$dps/registrations/res/202/?$rid=r1&retry-after=0");
    expect(dpsTopics.response(404, "r1")).toBe("$dps/registrations/res/404/?$rid=r1");
  });
});
