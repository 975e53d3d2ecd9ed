import type { EnrollmentGroup } from "azure-iot-provisioning-service/dist/interfaces";
import { dpsServiceClient } from "../lib/dps/serviceClient";
import { serviceRegistry } from "../lib/iothub/serviceClient";
import type { TwinDocument } from "../lib/iothub/twin";
import { findRunningHub, type HubInfo } from "../local-hub/stateDir";
import type { EnrollmentTarget } from "./enrollment";
import { describeError } from "./failures";
import { InputError } from "./inputError";
import { GROUP_KEY_VARIABLE, type EnrollmentOptions } from "./options";
import { resolveTrust } from "./trust";

/**
 * The local DPS an enrollment run talks to, from the state dir's hub.json: the DPS's device endpoint and id
 * scope, its owner connection string (to read the group and to delete the simulated registrations), the hub's
 * owner connection string (to delete their identities) and MQTT endpoint, and the CA. The group must exist and use
 * symmetric keys; its key is `--group-key` / IOTHUB_DPS_GROUP_KEY when given, else its primary key as the DPS's
 * service API hands it out (GET .../attestationmechanism). Anything missing is an InputError (exit 2): nothing ran.
 */
export async function localEnrollmentTarget(
  options: EnrollmentOptions,
  ca: string | undefined,
): Promise<{ target: EnrollmentTarget; groupKey: string; desired: TwinDocument }> {
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
  const dps = dpsServiceClient(dpsInfo.connectionString, trust.caPem);
  const id = options.enrollmentGroupId;
  let group: EnrollmentGroup;
  try {
    group = (await dps.getEnrollmentGroup(id)).responseBody;
  } catch (error) {
    if ((error as { response?: { statusCode?: number } }).response?.statusCode === 404) {
      throw new InputError(
        `--enrollment ${id}: the DPS ${dpsInfo.hostName} (id scope ${dpsInfo.idScope}) has no such enrollment group`,
      );
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
  return {
    target: {
      provisioningHost: `${dpsInfo.host}:${dpsInfo.mqttPort}`,
      idScope: dpsInfo.idScope,
      gatewayHostName: `${info.host}:${info.mqttPort}`,
      caPem: trust.caPem,
      dps,
      registry: serviceRegistry(info.connectionString, trust.caPem),
    },
    groupKey,
    desired: initialTwin?.properties?.desired ?? {},
  };
}
