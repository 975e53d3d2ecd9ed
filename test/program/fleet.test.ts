import type * as PulumiModule from "@pulumi/pulumi";
import type * as FleetModule from "../../components/fleet";
import { fakeCloud } from "./support/fakeCloud";
import { PROJECT_NAME } from "./support/runProgram";

/**
 * The Fleet component used on its own (as another program would), under mocks: it checks its own preconditions
 * on the device list and refuses a bad one, naming the arg and the ids, before it registers anything.
 */

const serviceConnectionString = `HostName=hub.example;SharedAccessKeyName=provisioner;SharedAccessKey=${"A".repeat(44)}`;

let pulumi: typeof PulumiModule;
let Fleet: typeof FleetModule.Fleet;
let registered: string[];
let waitForRPCs: () => Promise<void>;

beforeEach(() => {
  registered = [];
  const cloud = fakeCloud();
  jest.isolateModules(() => {
    pulumi = require("@pulumi/pulumi") as typeof PulumiModule;
    // internal, but what the Pulumi runtime itself awaits before a program ends
    ({ waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> });
    void pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          registered.push(args.name);
          return cloud.newResource(args);
        },
        call: (args) => cloud.call(args),
      },
      PROJECT_NAME,
      "test",
      false,
    );
    ({ Fleet } = require("../../components/fleet") as typeof FleetModule);
  });
});

describe("the Fleet component", () => {
  it("refuses a cycle of parents, naming the arg and both device ids, and registers nothing", async () => {
    const devices = [
      { deviceId: "edge-a", edgeEnabled: true, parentDeviceId: "edge-b", modules: [] },
      { deviceId: "edge-b", edgeEnabled: true, parentDeviceId: "edge-a", modules: [] },
    ];
    expect(() => new Fleet("cyclic", { serviceConnectionString, devices })).toThrow(
      'Fleet "cyclic": invalid args: devices[0].parentDeviceId: must not lead back to this device through ' +
        'other parents (a cycle: "edge-a" -> "edge-b" -> "edge-a")',
    );

    // A valid fleet next to it registers; the refused one left nothing behind.
    const valid = new Fleet("valid", {
      serviceConnectionString,
      devices: [{ deviceId: "edge-a", edgeEnabled: true, modules: [] }],
    });
    await new Promise((resolve) => valid.devices.get("edge-a")!.deviceId.apply(resolve));
    await waitForRPCs();
    expect(registered).toEqual(["valid", "valid-device-edge-a"]);
  });

  it.each([
    [
      [
        { deviceId: "d", modules: [] },
        { deviceId: "d", modules: [] },
      ],
      "devices[1].deviceId: must be unique (devices[0] has the same deviceId)",
    ],
    [
      [{ deviceId: "d", modules: [{ moduleId: "m" }, { moduleId: "m" }] }],
      "devices[0].modules[1].moduleId: must be unique on its device (modules[0] has the same moduleId)",
    ],
    [
      [{ deviceId: "child", parentDeviceId: "nowhere", modules: [] }],
      "devices[0].parentDeviceId: must name a device declared in devices",
    ],
    [
      [{ deviceId: "self", edgeEnabled: true, parentDeviceId: "self", modules: [] }],
      "devices[0].parentDeviceId: must not name the device itself",
    ],
    [
      [
        { deviceId: "child", parentDeviceId: "plain", modules: [] },
        { deviceId: "plain", modules: [] },
      ],
      "devices[0].parentDeviceId: must name an edge device (devices[1] needs edgeEnabled: true)",
    ],
  ])("refuses %j: %s", async (devices, expected) => {
    expect(() => new Fleet("bad", { serviceConnectionString, devices })).toThrow(
      `Fleet "bad": invalid args: ${expected}`,
    );
    await waitForRPCs();
    expect(registered).toEqual([]);
  });
});
