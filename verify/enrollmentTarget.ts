import type { ProvisioningServiceClient } from "azure-iot-provisioning-service";
import type { Registry } from "azure-iothub";
import type { EnrollmentGroup } from "azure-iot-provisioning-service/dist/interfaces";
import { dpsServiceClient } from "../lib/dps/serviceClient";
import { serviceRegistry } from "../lib/iothub/serviceClient";
import type { TwinDocument } from "../lib/iothub/twin";
import { findRunningHub, type HubInfo } from "../local-hub/stateDir";
import type { EnrollmentTarget } from "./enrollment";
import { describeError } from "./failures";
import { InputError } from "./inputError";
import { GROUP_KEY_VARIABLE, type EnrollmentOptions } from "./options";
import type { StackOutputs } from "./outputs";
import { serviceSideRegistry } from "./serviceAccess";
import { resolveTrust } from "./trust";

/** Where an enrollment run goes, the group's key and the desired properties every device must receive. */
export interface EnrollmentSetup {
  target: EnrollmentTarget;
  groupKey: string;
  desired: TwinDocument;
}

/**
 * The stack's DPS, from its outputs (`dps`, `dpsServiceConnectionString`; the contract in
 * lib/iothub/stackOutputs.ts): devices register at its provisioning host (on Azure
 * global.azure-devices-provisioning.net:8883, trusted with the system CAs) and connect to the hub they are assigned
 * (through `dps.gatewayHostName` when the hub's MQTT is not on 8883); their identities are deleted through the
 * outputs' hub access, as verify's canary patch reaches the hub.
 */
export async function stackEnrollmentTarget(
  outputs: StackOutputs,
  options: EnrollmentOptions,
  ca: string | undefined,
): Promise<EnrollmentSetup> {
  const { dps: dpsOutput, dpsServiceConnectionString } = outputs;
  // parseStackOutputs with the enrollment rule has made sure of both.
  if (!dpsOutput || !dpsServiceConnectionString) throw new InputError("the stack outputs name no DPS");
  const trust = resolveTrust(ca, outputs.caFile);
  return enrollmentSetup(
    { connectionString: dpsServiceConnectionString, ...dpsOutput },
    trust.caPem,
    () => serviceSideRegistry(outputs, trust.caPem),
    options,
  );
}

/**
 * The local DPS an enrollment run talks to, from the state dir's hub.json: the DPS's device endpoint and id
 * scope, its owner connection string (to read the group and to delete the simulated registrations), the hub's
 * owner connection string (to delete their identities) and MQTT endpoint, and the CA.
 */
export async function localEnrollmentTarget(
  options: EnrollmentOptions,
  ca: string | undefined,
): Promise<EnrollmentSetup> {
  let info: HubInfo | undefined;
  try {
    info = findRunningHub(options.stateDir);
  } catch (error) {
    throw new InputError(`--state ${options.stateDir}: ${describeError(error)}`);
  }
  if (!info) {
    throw new InputError(
      `--state ${options.stateDir}: no local hub runs there (start one with: npm run hub -- --state ${options.stateDir} --dps-host ADDR)`,
    );
  }
  const dpsInfo = info.dps;
  if (!dpsInfo) {
    throw new InputError(
      `--state ${options.stateDir}: the hub there runs no DPS (restart it with --dps-host ADDR, an address of its own)`,
    );
  }
  const trust = resolveTrust(ca, info.caFile);
  const hubConnectionString = info.connectionString;
  return enrollmentSetup(
    {
      connectionString: dpsInfo.connectionString,
      serviceHostName: dpsInfo.hostName,
      idScope: dpsInfo.idScope,
      provisioningHost: `${dpsInfo.host}:${dpsInfo.mqttPort}`,
      gatewayHostName: `${info.host}:${info.mqttPort}`,
    },
    trust.caPem,
    () => serviceRegistry(hubConnectionString, trust.caPem),
    options,
  );
}

/** What either DPS gives an enrollment run: its service API (a connection string) and where devices go. */
interface DpsEndpoint {
  connectionString: string;
  serviceHostName: string;
  idScope: string;
  provisioningHost: string;
  gatewayHostName?: string;
}

/** The run's target on `endpoint`, once its group is read; `registry` reaches the hub the devices are assigned. */
async function enrollmentSetup(
  endpoint: DpsEndpoint,
  caPem: string | undefined,
  registry: () => Registry,
  options: EnrollmentOptions,
): Promise<EnrollmentSetup> {
  const dps = dpsServiceClient(endpoint.connectionString, caPem);
  const group = await readEnrollmentGroup(
    dps,
    options,
    `the DPS ${endpoint.serviceHostName} (id scope ${endpoint.idScope})`,
  );
  return {
    target: {
      provisioningHost: endpoint.provisioningHost,
      idScope: endpoint.idScope,
      gatewayHostName: endpoint.gatewayHostName,
      caPem,
      dps,
      registry: registry(),
    },
    ...group,
  };
}

/**
 * The group an enrollment run registers through: it must exist and use symmetric keys; its key is `--group-key` /
 * IOTHUB_DPS_GROUP_KEY when given, else its primary key as the DPS's service API hands it out (POST
 * .../attestationmechanism). Anything missing is an InputError (exit 2): nothing ran.
 */
async function readEnrollmentGroup(
  dps: ProvisioningServiceClient,
  options: EnrollmentOptions,
  dpsLabel: string,
): Promise<Omit<EnrollmentSetup, "target">> {
  const id = options.enrollmentGroupId;
  let group: EnrollmentGroup;
  try {
    group = (await dps.getEnrollmentGroup(id)).responseBody;
  } catch (error) {
    if ((error as { response?: { statusCode?: number } }).response?.statusCode === 404) {
      throw new InputError(`--enrollment ${id}: ${dpsLabel} has no such enrollment group`);
    }
    throw error;
  }
  if (group.attestation.type !== "symmetricKey") {
    throw new InputError(
      `--enrollment ${id}: the group uses ${group.attestation.type} attestation; simulated devices need a symmetricKey group`,
    );
  }
  const groupKey =
    options.groupKey ??
    (await dps.getEnrollmentGroupAttestationMechanism(id)).responseBody.symmetricKey?.primaryKey;
  if (!groupKey) {
    throw new InputError(
      `--enrollment ${id}: the DPS gave no key; pass --group-key KEY or ${GROUP_KEY_VARIABLE}`,
    );
  }
  const initialTwin = group.initialTwin as { properties?: { desired?: TwinDocument } } | undefined;
  return { groupKey, desired: initialTwin?.properties?.desired ?? {} };
}
