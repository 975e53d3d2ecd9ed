import { readFileSync } from "node:fs";
import type { EnrollmentGroup } from "azure-iot-provisioning-service/dist/interfaces";
import type { Registry } from "azure-iothub";
import { dpsServiceClient } from "../../lib/dps/serviceClient";
import { generateKey } from "../../lib/iothub/sas";
import type { EnrollmentReport } from "../../verify/enrollment";
import { startHub, type TestHub } from "../support/hubProcess";
import { deviceExists, hubRegistry } from "../support/suiteHub";
import { runVerify } from "./runVerify";

/**
 * `verify --enrollment GROUP --simulate N` as a pipeline runs it against a local hub with its DPS: simulated
 * devices register with the real provisioning device client and derived keys, connect to the hub and must hold the
 * group's initial desired twin; their registrations and identities are gone afterwards unless --keep.
 */

let hub: TestHub;
let registry: Registry;
const GROUP_KEY = generateKey();

const dps = () => dpsServiceClient(hub.info.dps!.connectionString, readFileSync(hub.info.caFile, "utf8"));

const exists = (deviceId: string): Promise<boolean> => deviceExists(registry, deviceId);

async function registrationExists(registrationId: string): Promise<boolean> {
  try {
    await dps().getDeviceRegistrationState(registrationId);
    return true;
  } catch (error) {
    if ((error as { response?: { statusCode?: number } }).response?.statusCode === 404) return false;
    throw error;
  }
}

beforeAll(async () => {
  hub = await startHub({ dps: true });
  registry = hubRegistry(hub.info);
  await dps().createOrUpdateEnrollmentGroup({
    enrollmentGroupId: "line-a",
    attestation: {
      type: "symmetricKey",
      symmetricKey: { primaryKey: GROUP_KEY, secondaryKey: generateKey() },
    },
    provisioningStatus: "enabled",
    initialTwin: { tags: { line: "a" }, properties: { desired: { interval: 30, thresholds: { high: 80 } } } },
  } as unknown as EnrollmentGroup);
}, 120000);

afterAll(async () => {
  await hub?.stop();
});

const verify = (...args: string[]) =>
  runVerify(["--enrollment", "line-a", "--state", hub.stateDir, ...args], {
    ...process.env,
    IOTHUB_DPS_GROUP_KEY: "",
  });

describe("verify --enrollment", () => {
  it("registers N simulated devices, proves each got the initial desired twin, then deletes them", async () => {
    const result = await verify("--simulate", "3", "--json");
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as EnrollmentReport;
    expect(report).toMatchObject({
      ok: true,
      enrollmentGroupId: "line-a",
      total: 3,
      passed: 3,
      failed: 0,
      kept: false,
    });
    expect(report.idScope).toBe(hub.info.dps!.idScope);
    expect(report.devices.map((device) => device.registrationId)).toEqual([
      "line-a-sim-0001",
      "line-a-sim-0002",
      "line-a-sim-0003",
    ]);
    for (const device of report.devices) {
      expect(device).toMatchObject({
        ok: true,
        deviceId: device.registrationId,
        assignedHub: hub.info.hostName,
        passedSteps: ["register", "connect", "readTwin", "checkDesired", "cleanup"],
      });
      expect(await exists(device.registrationId)).toBe(false);
      expect(await registrationExists(device.registrationId)).toBe(false);
    }
  });

  it("--keep leaves the registrations and identities; the table names each device", async () => {
    const result = await verify("--simulate", "1", "--keep");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /line-a-sim-0001\s+pass\s+registered, connected to .*, initial desired twin received\n/,
    );
    expect(result.stdout).toContain("all 1 simulated devices of line-a passed in");
    expect(await exists("line-a-sim-0001")).toBe(true);
    expect(await registrationExists("line-a-sim-0001")).toBe(true);
    await registry.delete("line-a-sim-0001");
  });

  it("fails (exit 1) when the devices' key is not derived from the group's key, and leaves nothing behind", async () => {
    const result = await verify("--simulate", "2", "--group-key", generateKey(), "--json");
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as EnrollmentReport;
    expect(report).toMatchObject({ ok: false, total: 2, passed: 0, failed: 2 });
    expect(report.devices[0].failure).toMatchObject({
      kind: "registration-failed",
      step: "register",
      message: expect.stringMatching(
        /^registration failed: line-a-sim-0001 could not register through enrollment group line-a/,
      ),
    });
    expect(await exists("line-a-sim-0002")).toBe(false);
  });

  it("refuses bad usage with exit 2 before anything registers", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["--simulate", "0"], /--simulate: must be a positive whole number/],
      [["--simulate", "10001"], /--simulate: must be at most 10000/],
      [[], /--simulate: how many devices/],
      [["--simulate", "1", "--group-key", "not base64!"], /--group-key: must be valid base64/],
      [["--simulate", "1", "--all-keys"], /--all-keys: does not go with --enrollment/],
    ];
    for (const [args, message] of cases) {
      const result = await verify(...args);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
    }
    const badId = await runVerify(["--enrollment", "Line_A", "--simulate", "1", "--state", hub.stateDir]);
    expect(badId.code).toBe(2);
    expect(badId.stderr).toMatch(/--enrollment: may contain only lowercase letters/);
    const missing = await runVerify(["--enrollment", "nope", "--simulate", "1", "--state", hub.stateDir]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--enrollment nope: the DPS .* has no such enrollment group/);
    const keepAlone = await runVerify(["--outputs", "x.json", "--keep"]);
    expect(keepAlone.code).toBe(2);
    expect(keepAlone.stderr).toMatch(/--keep: goes with --enrollment GROUP/);
    expect(await exists("line-a-sim-0001")).toBe(false);
  });
});

describe("verify --enrollment on stack outputs", () => {
  /** The stack outputs a local stack with `dps` exports (index.ts), from the running hub. */
  const stackOutputs = (overrides: Record<string, unknown> = {}) => ({
    hostName: hub.info.hostName,
    serviceConnectionString: hub.info.connectionString,
    caFile: hub.info.caFile,
    modules: [],
    dps: {
      idScope: hub.info.dps!.idScope,
      serviceHostName: hub.info.dps!.hostName,
      provisioningHost: `${hub.info.dps!.host}:${hub.info.dps!.mqttPort}`,
      gatewayHostName: `${hub.info.host}:${hub.info.mqttPort}`,
      enrollmentGroups: ["line-a"],
    },
    dpsServiceConnectionString: hub.info.dps!.connectionString,
    ...overrides,
  });
  const verifyOutputs = (outputs: unknown, ...args: string[]) =>
    runVerify(
      ["--enrollment", "line-a", "--outputs", "-", ...args],
      { ...process.env, IOTHUB_DPS_GROUP_KEY: "" },
      JSON.stringify(outputs),
    );

  it("registers through the DPS the outputs name, connects through their gateway, and cleans up", async () => {
    const result = await verifyOutputs(stackOutputs(), "--simulate", "2", "--json");
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as EnrollmentReport;
    expect(report).toMatchObject({ ok: true, idScope: hub.info.dps!.idScope, total: 2, passed: 2 });
    for (const device of report.devices) {
      expect(device.passedSteps).toEqual(["register", "connect", "readTwin", "checkDesired", "cleanup"]);
      expect(await exists(device.registrationId)).toBe(false);
      expect(await registrationExists(device.registrationId)).toBe(false);
    }
  });

  it("refuses outputs that cannot say where to register, with exit 2, before anything registers", async () => {
    const cases: Array<[unknown, string[], RegExp]> = [
      [
        stackOutputs({ dps: undefined, dpsServiceConnectionString: undefined }),
        [],
        /dps: is absent: the stack declares no DPS/,
      ],
      [
        stackOutputs(),
        ["--enrollment", "line-b"],
        /dps.enrollmentGroups: does not hold line-b \(the stack declares: line-a\)/,
      ],
      [
        stackOutputs({ dpsServiceConnectionString: "[secret]" }),
        [],
        /dpsServiceConnectionString: is hidden as "\[secret\]"/,
      ],
      [
        stackOutputs({ dps: { ...stackOutputs().dps, idScope: "scope" } }),
        [],
        /dps.idScope: must be 0ne followed by 8 hex digits/,
      ],
      [stackOutputs(), ["--state", hub.stateDir], /--state: does not go with --outputs/],
    ];
    for (const [outputs, args, message] of cases) {
      const result = await runVerify(
        ["--enrollment", "line-a", "--outputs", "-", "--simulate", "1", ...args],
        process.env,
        JSON.stringify(outputs),
      );
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toContain(hub.info.dps!.connectionString);
    }
    expect(await exists("line-a-sim-0001")).toBe(false);
  });
});
