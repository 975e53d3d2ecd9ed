import type {
  DeviceRegistrationState,
  EnrollmentGroupRecord,
  EnrollmentSettings,
  RegistrationSubstatus,
} from "../../lib/dps/enrollment";
import type { RegistrationOperationStatus } from "../../lib/dps/registrationProtocol";
import { DPS_LIMITS } from "../../lib/dps/rules";
import { registeredAuthentication } from "../../lib/iothub/identityAuthentication";
import { dpsUnauthorized } from "../errors/dpsError";
import { IotHubError } from "../errors/iotHubError";
import type { DpsStore, StoredRegistration } from "../persistence/dpsStore";
import { registrationStateOf } from "../persistence/dpsStore";
import type { DeviceIdentityModel } from "../persistence/identityModels";
import type { IdentityStore } from "../persistence/identityStore";
import type { Attestation, AttestationBackend, DeviceCredentials } from "./attestation";

/**
 * What a device's registration does, as DPS does it with its one linked hub (this hub): the device id is the
 * individual enrollment's `deviceId` or the registration id; the identity gets the credentials the device proved
 * (its enrollment's keys, the keys derived from its group's keys, or its certificate's thumbprints), so it
 * connects to the hub as it registered; the enrollment's capabilities (IoT Edge) are applied each time; the
 * initial twin (tags, desired) on a first assignment and when device data is reset. Re-registration follows the
 * enrollment's reprovision policy:
 * - `updateHubAssignment: false`: the assignment stays as it was; the hub is not touched (an identity deleted since
 *   is made again, with the initial twin, so the device can connect).
 * - `updateHubAssignment: true, migrateDeviceData: true` (DPS's default): the identity is updated, its twin kept
 *   (`deviceDataMigrated`: with one hub, the data is already there).
 * - `updateHubAssignment: true, migrateDeviceData: false`: the identity is deleted and made again with the initial
 *   twin (`deviceDataReset`: reported properties, modules and generation id start afresh).
 * The registration state is recorded where the service API reads it (GET /registrations/{id}, an individual
 * enrollment's registrationState). A disabled enrollment or group changes nothing and answers `disabled`.
 */

export type RegistrationOutcome = Omit<RegistrationOperationStatus, "operationId">;

export interface DeviceRegistrationsOptions {
  dps: DpsStore;
  identities: IdentityStore;
  /** The hub's host name: the assigned hub of every registration. */
  hubHostName: string;
}

export class DeviceRegistrations {
  constructor(private readonly options: DeviceRegistrationsOptions) {}

  /** What attestation reads: the enrollments and the symmetric-key and X.509 groups of this DPS. */
  readonly attestationBackend: AttestationBackend = {
    getEnrollment: (registrationId) => this.options.dps.getEnrollment(registrationId),
    symmetricKeyGroups: () => this.groupsOf("symmetricKey"),
    x509Groups: () => this.groupsOf("x509"),
  };

  /** DPS holds at most 100 groups per attestation kind: one page of both kinds holds them all. */
  private groupsOf(type: "symmetricKey" | "x509"): EnrollmentGroupRecord[] {
    return this.options.dps
      .listEnrollmentGroups("", 2 * DPS_LIMITS.enrollmentGroupsPerAttestation)
      .items.filter((group) => group.attestation.type === type);
  }

  /**
   * Registers the device an attestation proved (at CONNECT). The enrollment is read again: it may have been
   * disabled, changed or deleted since (deleted: 401, as DPS refuses a device it no longer knows).
   */
  register(registrationId: string, attestation: Attestation): RegistrationOutcome {
    const { dps } = this.options;
    const current =
      attestation.source === "enrollment"
        ? dps.getEnrollment(registrationId)
        : dps.getEnrollmentGroup(attestation.group.enrollmentGroupId);
    if (!current) throw dpsUnauthorized(`The enrollment of '${registrationId}' no longer exists.`);
    const enrollmentGroupId =
      attestation.source === "enrollmentGroup" ? attestation.group.enrollmentGroupId : null;
    // The enrollment as it is now: its deviceId may have changed since the device connected.
    const deviceId = ("deviceId" in current ? current.deviceId : null) ?? registrationId;

    if (current.provisioningStatus === "disabled") {
      const now = new Date().toISOString();
      return {
        status: "disabled",
        registrationState: withoutNulls({
          registrationId,
          createdDateTimeUtc: now,
          assignedHub: null,
          deviceId: null,
          status: "disabled",
          substatus: null,
          lastUpdatedDateTimeUtc: now,
          errorCode: null,
          errorMessage: `The ${enrollmentGroupId === null ? "enrollment" : `enrollment group ${enrollmentGroupId}`} is disabled.`,
          // Nothing is recorded, so there is no etag: withoutNulls drops the empty one.
          etag: "",
        }),
      };
    }

    const prior = dps.getRegistration(registrationId);
    let substatus: RegistrationSubstatus;
    try {
      substatus = this.assign(deviceId, current, attestation.credentials, prior);
    } catch (error) {
      if (!(error instanceof IotHubError)) throw error;
      // The hub refused the identity or its twin: DPS records the failure and the device sees `failed`.
      const stored = dps.putRegistration({
        registrationId,
        enrollmentGroupId,
        assignedHub: null,
        deviceId: null,
        status: "failed",
        substatus: null,
        errorCode: error.status * 1000,
        errorMessage: error.message,
      });
      return { status: "failed", registrationState: withoutNulls(registrationStateOf(stored)) };
    }
    const stored = dps.putRegistration({
      registrationId,
      enrollmentGroupId,
      assignedHub: this.options.hubHostName,
      deviceId,
      status: "assigned",
      substatus,
      errorCode: null,
      errorMessage: null,
    });
    return { status: "assigned", registrationState: withoutNulls(registrationStateOf(stored)) };
  }

  /** Writes the identity (and twin) the registration gives the device; returns DPS's substatus for it. */
  private assign(
    deviceId: string,
    enrollment: EnrollmentSettings,
    credentials: DeviceCredentials,
    prior: StoredRegistration | undefined,
  ): RegistrationSubstatus {
    const { identities } = this.options;
    const existing = identities.getDevice(deviceId);
    const reassignment =
      prior?.status === "assigned" &&
      prior.deviceId === deviceId &&
      prior.assignedHub?.toLowerCase() === this.options.hubHostName.toLowerCase();
    const model: DeviceIdentityModel = {
      deviceId,
      status: existing?.status ?? "enabled",
      statusReason: existing?.statusReason,
      authentication: registeredAuthentication(
        credentials.type === "sas"
          ? { type: "sas", symmetricKey: credentials }
          : { type: "selfSigned", x509Thumbprint: credentials },
      ),
      capabilities: { iotEdge: enrollment.capabilities.iotEdge },
      // An edge device sends its own scope back, a child its parent's; a device whose edge flag the enrollment
      // changes sends none (an edge device's scope is the hub's to make, and an edge device names no parent).
      deviceScope:
        existing?.capabilities.iotEdge === enrollment.capabilities.iotEdge
          ? existing?.deviceScope
          : undefined,
      parentScopes: existing?.parentScopes,
    };
    const create = (): void => {
      identities.putDevice({ ...model, status: "enabled", statusReason: undefined }, "absent");
      this.applyInitialTwin(deviceId, enrollment);
    };

    if (!reassignment) {
      if (existing) {
        identities.putDevice(model, { etag: existing.etag });
        this.applyInitialTwin(deviceId, enrollment);
      } else create();
      return "initialAssignment";
    }
    if (!enrollment.reprovisionPolicy.updateHubAssignment) {
      if (!existing) create();
      return prior.substatus ?? "initialAssignment";
    }
    if (enrollment.reprovisionPolicy.migrateDeviceData) {
      if (existing) identities.putDevice(model, { etag: existing.etag });
      else create();
      return "deviceDataMigrated";
    }
    if (existing) identities.deleteDevice(deviceId, { etag: existing.etag });
    create();
    return "deviceDataReset";
  }

  /** Tags and desired replaced by the enrollment's initial twin (lib/dps/enrollment.ts checked it by the twin rules). */
  private applyInitialTwin(deviceId: string, enrollment: EnrollmentSettings): void {
    if (!enrollment.initialTwin) return;
    this.options.identities.replaceTwin(
      { deviceId },
      { tags: enrollment.initialTwin.tags, desired: enrollment.initialTwin.properties.desired },
      "any",
    );
  }
}

/** DPS leaves out what a registration state does not have (no error, no hub yet). */
function withoutNulls(state: DeviceRegistrationState): DeviceRegistrationState {
  return Object.fromEntries(
    Object.entries(state).filter(([, value]) => value !== null && value !== ""),
  ) as unknown as DeviceRegistrationState;
}
