import { checkIdentityStatus, checkStatusReason } from "../../lib/iothub/identity";

// A device's status and statusReason: IoT Hub's rules, shared by the stack config, check() and the local hub.
describe("identity status rules", () => {
  it("accepts enabled, disabled and no status (the registry's default: enabled)", () => {
    expect([undefined, "enabled", "disabled"].flatMap((status) => checkIdentityStatus(status))).toEqual([]);
  });

  it.each([["paused"], ["Enabled"], [1], [null]])(
    "refuses %j, naming the field and both statuses",
    (status) => {
      expect(checkIdentityStatus(status)).toEqual([{ field: "status", rule: "must be enabled or disabled" }]);
    },
  );

  it("accepts a statusReason of up to 128 characters, or none", () => {
    expect([undefined, "", "r".repeat(128)].flatMap((reason) => checkStatusReason(reason))).toEqual([]);
  });

  it("refuses a longer statusReason or one that is no string", () => {
    expect(checkStatusReason("r".repeat(129))).toEqual([
      { field: "statusReason", rule: "must be at most 128 characters" },
    ]);
    expect(checkStatusReason(5, "devices[0].statusReason")).toEqual([
      { field: "devices[0].statusReason", rule: "must be a string" },
    ]);
  });
});
