import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import * as os from "node:os";
import * as pulumi from "@pulumi/pulumi";
import { Client as DeviceClient } from "azure-iot-device";
import { dpsProviders } from "../components/dps/providers";
import { Enrollments } from "../components/enrollments";
import { Fleet, deviceResourceName } from "../components/fleet";
import { providers } from "../components/registry/providers";
import { registerDevice } from "../lib/dps/deviceClient";
import { deriveDeviceKey } from "../lib/dps/deviceKey";
import { deviceMqttTrusting } from "../lib/iothub/deviceMqttTrust";
import { identityConnectionString } from "../lib/iothub/sas";
import { PROJECT_ROOT, startHub, type TestHub } from "../test/support/hubProcess";
import { startProviderServer, type Props, type ProviderServer } from "../test/support/providerServer";
import { ensureSuiteCa } from "./support/benchHub";
import {
  componentState,
  customResourceState,
  exportedDeployment,
  exportedText,
  passphraseEncrypter,
  stackResources,
  type ResourceV3,
  type StackIdentity,
} from "./support/checkpoint";
import { BenchFlagError, parseDpsBenchFlags, type DpsBenchOptions } from "./support/dpsBenchFlags";
import { cpuSecondsOf, memoryOf, percentile, pool } from "./support/measure";
import { programRegistrations, type Registration } from "./support/programRegistrations";

/**
 * `npm run bench:dps [-- --devices N] [--concurrency C] [--parallel P] [--only dps|identities] [--json]`: a fleet
 * of N devices (default 10,000) both ways, in one run on one machine, each half on a local hub of its own:
 *
 * - DPS: one EnrollmentGroup resource (created through its real provider), then N devices provisioning themselves
 *   with the real SDKs: the provisioning device client (MQTT, its key derived from the group's), then a device
 *   client on the hub it was assigned and its first twin GET (which must hold the group's initial twin), C at a time.
 * - identities: N DeviceIdentity resources through the real providers, served by the real dynamic-provider server
 *   and called as the engine calls them (check, then create), P operations at a time (default: the Pulumi CLI's
 *   default `--parallel`, 4 per CPU).
 *
 * For each: the time, the hub's CPU and RSS (the local hub and its DPS are one process), the provider process's
 * RSS, and the Pulumi state the stack would hold: a `pulumi stack export` built from the providers' real answers in
 * this run and the program's real registrations (bench/support/checkpoint.ts, programRegistrations.ts).
 */

const PROJECT = "iothub-provisioner";
/** The engine version a checkpoint's manifest names: the SDK's, as the CLI of the same release would write. */
const PULUMI_VERSION = (require("@pulumi/pulumi/package.json") as { version: string }).version;
const STACK = "bench";
const INITIAL_TWIN = { tags: { fleet: "bench" }, properties: { desired: { interval: 10 } } };
const ENROLLMENT_GROUP_ID = "bench";
/** The Fleet's registration is captured for one device; every device's resource registers the same way. */
const TEMPLATE_DEVICE_ID = "template-device";

interface ProcessFigures {
  cpuMsPerItem: number;
  rssMb: number;
  peakMb: number;
}

interface StateFigures {
  resources: number;
  bytes: number;
  bytesPerItem: number;
}

interface HalfFigures {
  items: number;
  failed: number;
  seconds: number;
  perSecond: number;
  hub: ProcessFigures;
  provider: ProcessFigures;
  state: StateFigures;
  latencyMs?: Record<string, number>;
  errors: string[];
}

/** The program's registrations of the resources both halves create (run once, under the SDK's mocks). */
interface ProgramRegistrations {
  enrollments: Registration;
  group: Registration;
  fleet: Registration;
  device: Registration;
}

async function registrationsOfTheProgram(): Promise<ProgramRegistrations> {
  const hubArgs = {
    serviceConnectionString: "HostName=h;SharedAccessKeyName=p;SharedAccessKey=a2V5",
    caCertificate: "-",
  };
  const registrations = await programRegistrations(PROJECT, STACK, () => {
    const fleet = new Fleet("fleet", {
      ...hubArgs,
      gatewayHostName: "h:8883",
      devices: [{ deviceId: TEMPLATE_DEVICE_ID, modules: [] }],
    });
    const enrollments = new Enrollments("enrollments", {
      ...hubArgs,
      enrollmentGroups: [groupConfig()],
    });
    return [...fleet.devices.values(), ...enrollments.groups];
  });
  const byType = (type: string): Registration => {
    const found = registrations.find((registration) => registration.type.endsWith(type));
    if (!found) throw new Error(`the program registered no ${type}`);
    return found;
  };
  return {
    enrollments: byType(":Enrollments"),
    group: byType(":EnrollmentGroup"),
    fleet: byType(":Fleet"),
    device: byType(":DeviceIdentity"),
  };
}

/** The enrollment group as the stack config declares it (components/dpsConfig.ts's entry). */
function groupConfig() {
  return {
    enrollmentGroupId: ENROLLMENT_GROUP_ID,
    attestation: { type: "symmetricKey" as const },
    provisioningStatus: "enabled" as const,
    initialTwin: INITIAL_TWIN,
  };
}

/** The engine's way for one new resource: check, then create with the checked inputs. */
async function createResource(
  server: ProviderServer,
  providerText: string,
  registration: Registration,
  inputs: Props,
): Promise<{ id: string; inputs: Props; outputs: Props }> {
  // The stand-in must send what the program registers: the same input names, `__provider` aside.
  const declared = registration.inputNames.filter((name) => name !== "__provider").sort();
  if (JSON.stringify(Object.keys(inputs).sort()) !== JSON.stringify(declared)) {
    throw new Error(`${registration.type}: the bench sends ${Object.keys(inputs)}, the program ${declared}`);
  }
  const checked = await server.check(providerText, {}, inputs);
  if (checked.failures.length > 0) throw new Error(checked.failures.map((f) => f.reason).join("; "));
  const created = await server.create(providerText, checked.inputs);
  // The engine stores `__provider` in both, as the provider server answers it.
  return {
    id: created.id,
    inputs: { ...checked.inputs, __provider: providerText },
    outputs: { ...created.outs, __provider: providerText },
  };
}

const processFigures = (pid: number, cpuBefore: number, items: number): ProcessFigures => ({
  cpuMsPerItem: ((cpuSecondsOf(pid) - cpuBefore) * 1000) / items,
  ...memoryOf(pid),
});

/** Device i's registration id and device id, in both halves. */
const itemId = (i: number): string => `bench-${String(i).padStart(7, "0")}`;

/**
 * Runs `items` pieces of work, at most `concurrency` at a time, and what they cost: the wall time, the hub's and the
 * provider process's CPU per item and memory afterwards. A failed item is an error line, not the end of the run.
 */
async function measured(
  pids: { hub: number; provider: number },
  items: number,
  concurrency: number,
  work: (i: number) => Promise<void>,
): Promise<Omit<HalfFigures, "state" | "latencyMs">> {
  const errors: string[] = [];
  const cpuBefore = { hub: cpuSecondsOf(pids.hub), provider: cpuSecondsOf(pids.provider) };
  const started = performance.now();
  await pool(items, concurrency, (i) =>
    work(i).catch((error: unknown) => {
      errors.push(`${itemId(i)}: ${(error as { details?: string }).details ?? String(error)}`);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    items,
    failed: errors.length,
    seconds,
    perSecond: (items - errors.length) / seconds,
    hub: processFigures(pids.hub, cpuBefore.hub, items),
    provider: processFigures(pids.provider, cpuBefore.provider, items),
    errors: errors.slice(0, 5),
  };
}

function stateFigures(
  resources: ResourceV3[],
  items: number,
  encrypter: ReturnType<typeof passphraseEncrypter>,
): StateFigures {
  const text = exportedText(
    exportedDeployment(resources, encrypter, { version: `v${PULUMI_VERSION}`, time: new Date() }),
  );
  const bytes = Buffer.byteLength(text);
  return { resources: resources.length, bytes, bytesPerItem: bytes / Math.max(1, items) };
}

/** What both halves run with: the flags, the provider texts, the program's registrations, the stack they make. */
interface BenchRun {
  options: DpsBenchOptions;
  /** The serialized providers (`__provider`), by resource name. */
  texts: Record<string, string>;
  program: ProgramRegistrations;
  stack: StackIdentity;
}

/** Runs `half` on a hub (with its DPS when asked) and a provider server of its own, and stops both. */
async function onOwnHub<T>(
  dps: boolean,
  half: (hub: TestHub, server: ProviderServer) => Promise<T>,
): Promise<T> {
  const hub = await startHub({ dps });
  try {
    const server = await startProviderServer();
    try {
      return await half(hub, server);
    } finally {
      await server.stop();
    }
  } finally {
    await hub.stop();
  }
}

async function dpsHalf({ options, texts, program, stack }: BenchRun): Promise<HalfFigures> {
  return onOwnHub(true, async (hub, server) => {
    const info = hub.info;
    const dps = info.dps!;
    const ca = readFileSync(info.caFile, "utf8");
    const deviceMqtt = deviceMqttTrusting(ca);
    const time = new Date().toISOString();
    const encrypter = passphraseEncrypter();
    const group = await createResource(server, texts.EnrollmentGroup, program.group, {
      serviceConnectionString: dps.connectionString,
      caCertificate: ca,
      ...groupConfig(),
    });
    const groupKey = group.outputs.primaryKey as string;

    const registrationMs: number[] = [];
    const twinMs: number[] = [];
    const cost = await measured(
      { hub: info.pid, provider: server.pid },
      options.devices,
      options.concurrency,
      async (i) => {
        const registrationId = itemId(i);
        const key = deriveDeviceKey(groupKey, registrationId);
        const registering = performance.now();
        const result = await registerDevice({
          provisioningHost: `${dps.host}:${dps.mqttPort}`,
          idScope: dps.idScope,
          registrationId,
          key,
          caCertificate: ca,
        });
        registrationMs.push(performance.now() - registering);
        const connecting = performance.now();
        // As verify's simulated devices connect: one TLS context for the hub's CA, not one per connection.
        const client = DeviceClient.fromConnectionString(
          identityConnectionString({
            hostName: result.assignedHub,
            deviceId: result.deviceId,
            key,
            gatewayHostName: `${info.host}:${info.mqttPort}`,
          }),
          deviceMqtt,
        );
        await client.open();
        try {
          const twin = await client.getTwin();
          if (twin.properties.desired.interval !== 10) throw new Error("no initial twin");
          twinMs.push(performance.now() - connecting);
        } finally {
          await client.close();
        }
      },
    );
    registrationMs.sort((a, b) => a - b);
    twinMs.sort((a, b) => a - b);
    const resources = [
      ...stackResources(stack, time),
      componentState(stack, program.enrollments, time),
      customResourceState(stack, program.group, group, encrypter, time),
    ];
    return {
      ...cost,
      state: stateFigures(resources, options.devices, encrypter),
      latencyMs: {
        registrationP50: percentile(registrationMs, 50),
        registrationP99: percentile(registrationMs, 99),
        connectAndTwinP50: percentile(twinMs, 50),
        connectAndTwinP99: percentile(twinMs, 99),
      },
    };
  });
}

async function identitiesHalf({ options, texts, program, stack }: BenchRun): Promise<HalfFigures> {
  return onOwnHub(false, async (hub, server) => {
    const info = hub.info;
    const hubArgs = {
      serviceConnectionString: info.connectionString,
      caCertificate: readFileSync(info.caFile, "utf8"),
      gatewayHostName: `${info.hostName}:${info.mqttPort}`,
    };
    const time = new Date().toISOString();
    const encrypter = passphraseEncrypter();
    const states: ResourceV3[] = [];
    const cost = await measured(
      { hub: info.pid, provider: server.pid },
      options.devices,
      options.parallel,
      async (i) => {
        const registration = { ...program.device, name: deviceResourceName("fleet", "device", itemId(i)) };
        const step = await createResource(server, texts.DeviceIdentity, registration, {
          ...hubArgs,
          deviceId: itemId(i),
        });
        states.push(customResourceState(stack, registration, step, encrypter, time));
      },
    );
    const resources = [...stackResources(stack, time), componentState(stack, program.fleet, time), ...states];
    return { ...cost, state: stateFigures(resources, options.devices, encrypter) };
  });
}

const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(2);
const processLine = (name: string, p: ProcessFigures, per: string): string =>
  `  ${name}: ${p.cpuMsPerItem.toFixed(2)} ms CPU per ${per}, RSS ${p.rssMb.toFixed(0)} MB (peak ${p.peakMb.toFixed(0)} MB)`;

function printText(
  options: DpsBenchOptions,
  load: number,
  dps?: HalfFigures,
  identities?: HalfFigures,
): void {
  console.log(
    `DPS benchmark: ${options.devices} devices, machine load average ${load.toFixed(1)} on ${os.cpus().length} cores`,
  );
  if (dps) {
    const l = dps.latencyMs!;
    console.log(
      `DPS: ${dps.items} devices through the local DPS, ${options.concurrency} at a time (one EnrollmentGroup)`,
    );
    console.log(
      `  ${dps.perSecond.toFixed(1)} devices/s (registration + connect + first twin GET) in ${dps.seconds.toFixed(1)} s, ${dps.failed} failed`,
    );
    console.log(
      `  registration p50 ${l.registrationP50.toFixed(1)} ms, p99 ${l.registrationP99.toFixed(1)} ms; connect + first twin GET p50 ${l.connectAndTwinP50.toFixed(1)} ms, p99 ${l.connectAndTwinP99.toFixed(1)} ms`,
    );
    console.log(processLine("hub and DPS (one process)", dps.hub, "device"));
    console.log(
      `  provider process (served the EnrollmentGroup only): RSS ${dps.provider.rssMb.toFixed(0)} MB`,
    );
    console.log(
      `  Pulumi state: ${dps.state.bytes} bytes (${mb(dps.state.bytes)} MB), ${dps.state.resources} resources (stack, provider, Enrollments, 1 EnrollmentGroup), whatever the fleet's size`,
    );
  }
  if (identities) {
    console.log(
      `DeviceIdentity: ${identities.items} resources through the real provider server, ${options.parallel} operations at a time`,
    );
    console.log(
      `  ${identities.perSecond.toFixed(1)} resources/s (check + create) in ${identities.seconds.toFixed(1)} s, ${identities.failed} failed`,
    );
    console.log(processLine("hub", identities.hub, "resource"));
    console.log(processLine("provider process", identities.provider, "resource"));
    console.log(
      `  Pulumi state: ${identities.state.bytes} bytes (${mb(identities.state.bytes)} MB), ${identities.state.resources} resources, ${identities.state.bytesPerItem.toFixed(0)} bytes per device`,
    );
  }
  for (const error of [...(dps?.errors ?? []), ...(identities?.errors ?? [])])
    console.log(`  failure: ${error}`);
}

async function main(options: DpsBenchOptions): Promise<void> {
  const texts: Record<string, string> = {};
  for (const [name, provider] of Object.entries({
    DeviceIdentity: providers.DeviceIdentity,
    EnrollmentGroup: dpsProviders.EnrollmentGroup,
  })) {
    texts[name] = (await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true })).text;
  }
  const program = await registrationsOfTheProgram();
  const stack: StackIdentity = {
    stack: STACK,
    project: PROJECT,
    projectRoot: PROJECT_ROOT,
    providerId: randomUUID(),
  };
  const run: BenchRun = { options, texts, program, stack };
  const dps = options.only === "identities" ? undefined : await dpsHalf(run);
  const identities = options.only === "dps" ? undefined : await identitiesHalf(run);
  const load = os.loadavg()[0];
  if (options.json) {
    const { devices, concurrency, parallel } = options;
    console.log(
      JSON.stringify(
        { devices, concurrency, parallel, loadAverage: load, cores: os.cpus().length, dps, identities },
        null,
        2,
      ),
    );
  } else printText(options, load, dps, identities);
  if ((dps?.failed ?? 0) + (identities?.failed ?? 0) > 0) process.exitCode = 1;
}

let options: DpsBenchOptions;
try {
  options = parseDpsBenchFlags(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof BenchFlagError)) throw error;
  console.error(`bench:dps: ${error.message}`);
  process.exit(2);
}
ensureSuiteCa();
main(options).then(
  () => process.exit(),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
