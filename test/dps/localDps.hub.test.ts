import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { registerDevice } from "../../lib/dps/deviceClient";
import { serializeProgramProviders } from "../program/support/deployment";
import { startHub, type TestHub } from "../support/hubProcess";
import { startProviderServer, type ProviderServer } from "../support/providerServer";

/**
 * The local target's LocalDps resource through the real provider server: it reads the running hub's DPS from
 * hub.json (what an Azure DPS would output), and its outputs are enough for the enrollment providers and a device.
 */
let server: ProviderServer;
let texts: Record<string, string>;
let withDps: TestHub;
let withoutDps: TestHub;

beforeAll(async () => {
  [server, withDps, withoutDps] = await Promise.all([
    startProviderServer(),
    startHub({ dps: true }),
    startHub(),
  ]);
  texts = serializeProgramProviders();
});
afterAll(async () => {
  await server?.stop();
  await withDps?.stop();
  await withoutDps?.stop();
});

it("outputs the running DPS's id scope, hosts, owner connection string and CA; an enrollment made with them registers a device", async () => {
  const { id, outs } = await server.create(texts.LocalDps, { stateDir: withDps.stateDir });
  const dps = withDps.info.dps!;
  expect(id).toBe(withDps.stateDir);
  expect(outs).toMatchObject({
    hostName: dps.hostName,
    idScope: dps.idScope,
    provisioningHost: `${dps.host}:${dps.mqttPort}`,
    serviceConnectionString: dps.connectionString,
  });
  const created = await server.create(texts.IndividualEnrollment, {
    serviceConnectionString: outs.serviceConnectionString,
    caCertificate: outs.caCertificate,
    registrationId: "via-local-dps",
    attestation: { type: "symmetricKey" },
  });
  const result = await registerDevice({
    provisioningHost: outs.provisioningHost as string,
    idScope: outs.idScope as string,
    registrationId: "via-local-dps",
    key: created.outs.primaryKey as string,
    caCertificate: outs.caCertificate as string,
  });
  expect(result).toMatchObject({ status: "assigned", deviceId: "via-local-dps" });
  expect((await server.read(texts.LocalDps, id, outs)).props).toEqual(outs);
});

it("fails with how to start it when the hub runs no DPS, or no hub runs", async () => {
  await expect(server.create(texts.LocalDps, { stateDir: withoutDps.stateDir })).rejects.toMatchObject({
    details: expect.stringContaining("runs no DPS (hub.json has no dps): restart it with `--dps-host ADDR`"),
  });
  const empty = mkdtempSync(path.join(os.tmpdir(), "no-hub-"));
  try {
    await expect(server.create(texts.LocalDps, { stateDir: empty })).rejects.toMatchObject({
      details: expect.stringContaining("The local IoT Hub is not running"),
    });
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});
