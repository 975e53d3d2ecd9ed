import { checkDeviceId, checkTwinSection, type RuleViolation } from "../iothub/rules";
import { isPlainObject, type TwinDocument } from "../iothub/twin";
import {
  parseAttestation,
  type EnrollmentKind,
  type PublicAttestation,
  type RegisteredAttestation,
} from "./attestation";
import { checkEnrollmentGroupId, checkRegistrationId, DPS_LIMITS } from "./rules";

/**
 * DPS's enrollments as its service API carries them (api-version 2021-10-01): enrollment groups (many devices, one
 * attestation) and individual enrollments (one registration id). Both hold the settings a registration applies:
 * attestation, allocation policy and the linked hubs it chooses from, the initial twin, capabilities (IoT Edge),
 * provisioning status (a disabled enrollment refuses registrations) and the reprovision policy. The local DPS
 * parses PUT bodies with these rules and the Pulumi side checks its inputs with them.
 */

export type ProvisioningStatus = "enabled" | "disabled";
/** `custom` needs an Azure Function webhook: not supported locally. */
export type AllocationPolicy = "hashed" | "geoLatency" | "static" | "custom";
const ALLOCATION_POLICIES: readonly AllocationPolicy[] = ["hashed", "geoLatency", "static", "custom"];

/** What a re-registering device gets: a new hub assignment, and its twin carried over to it (DPS's defaults: both). */
export interface ReprovisionPolicy {
  updateHubAssignment: boolean;
  migrateDeviceData: boolean;
}

/** The twin a registration gives the device it creates in the hub. */
export interface InitialTwin {
  tags: TwinDocument;
  properties: { desired: TwinDocument };
}

export interface DeviceCapabilities {
  iotEdge: boolean;
}

/** What both kinds of enrollment hold, as checked and registered. */
export interface EnrollmentSettings {
  attestation: RegisteredAttestation;
  capabilities: DeviceCapabilities;
  initialTwin: InitialTwin | null;
  provisioningStatus: ProvisioningStatus;
  reprovisionPolicy: ReprovisionPolicy;
  /** null = the DPS's own default policy (hashed). */
  allocationPolicy: AllocationPolicy | null;
  /** Host names of linked hubs the allocation chooses from; empty = every linked hub. */
  iotHubs: string[];
}

export interface EnrollmentGroupInput extends EnrollmentSettings {
  enrollmentGroupId: string;
}

export interface IndividualEnrollmentInput extends EnrollmentSettings {
  registrationId: string;
  /** The device id registration creates; null = the registration id. */
  deviceId: string | null;
}

/** An enrollment as DPS holds it: the settings plus its bookkeeping. */
interface EnrollmentRecordFields extends EnrollmentSettings {
  iotHubHostName: string | null;
  customAllocationDefinition: null;
  etag: string;
  createdDateTimeUtc: string;
  lastUpdatedDateTimeUtc: string;
}

export interface EnrollmentGroupRecord extends EnrollmentRecordFields {
  enrollmentGroupId: string;
}

export interface IndividualEnrollmentRecord extends EnrollmentRecordFields {
  registrationId: string;
  deviceId: string | null;
  registrationState?: DeviceRegistrationState;
}

/** An enrollment as GET and query answer it: keys and certificate texts withheld (see publicAttestation). */
export type PublicEnrollment<T extends EnrollmentSettings> = Omit<T, "attestation"> & {
  attestation: PublicAttestation;
};

export type RegistrationStatus = "unassigned" | "assigning" | "assigned" | "failed" | "disabled";
export type RegistrationSubstatus =
  "initialAssignment" | "deviceDataMigrated" | "deviceDataReset" | "reprovisionedToInitialAssignment";

/** A device's registration as DPS records it (`DeviceRegistrationState`). */
export interface DeviceRegistrationState {
  registrationId: string;
  createdDateTimeUtc: string;
  assignedHub: string | null;
  deviceId: string | null;
  status: RegistrationStatus;
  substatus: RegistrationSubstatus | null;
  lastUpdatedDateTimeUtc: string;
  errorCode: number | null;
  errorMessage: string | null;
  etag: string;
}

/** Fields an answer carries that a client may send back unchanged (a GET's result, updated and PUT again). */
const READ_ONLY_FIELDS = ["etag", "createdDateTimeUtc", "lastUpdatedDateTimeUtc", "iotHubHostName"];
const SETTINGS_FIELDS = [
  "attestation",
  "capabilities",
  "initialTwin",
  "provisioningStatus",
  "reprovisionPolicy",
  "allocationPolicy",
  "iotHubs",
  "customAllocationDefinition",
];
const GROUP_FIELDS = new Set(["enrollmentGroupId", ...SETTINGS_FIELDS, ...READ_ONLY_FIELDS]);
const ENROLLMENT_FIELDS = new Set([
  "registrationId",
  "deviceId",
  "registrationState",
  ...SETTINGS_FIELDS,
  ...READ_ONLY_FIELDS,
]);

const absent = (value: unknown): boolean => value === undefined || value === null;

/**
 * An enrollment group's PUT body: `enrollmentGroupId` (when given) as in the path, and the settings' rules.
 * `linkedHubs` are the DPS's linked hubs' host names (an allocation may only name those). `input` is set only
 * when there is no violation.
 */
export function parseEnrollmentGroupBody(
  id: string,
  body: unknown,
  linkedHubs: readonly string[],
): { input?: EnrollmentGroupInput; violations: RuleViolation[] } {
  const violations = checkEnrollmentGroupId(id);
  if (!isPlainObject(body))
    return { violations: [...violations, { field: "body", rule: "must be an enrollment group object" }] };
  if (!absent(body.enrollmentGroupId) && body.enrollmentGroupId !== id) {
    violations.push({ field: "enrollmentGroupId", rule: `must match the id in the path '${id}'` });
  }
  violations.push(...unknownFields(body, GROUP_FIELDS));
  const settings = parseSettings(body, "enrollmentGroup", linkedHubs, violations);
  if (violations.length > 0 || !settings) return { violations };
  return { input: { enrollmentGroupId: id, ...settings }, violations };
}

/** An individual enrollment's PUT body (or a bulk entry): `registrationId` as in the path, `deviceId` by IoT Hub's rules. */
export function parseIndividualEnrollmentBody(
  id: string,
  body: unknown,
  linkedHubs: readonly string[],
  field = "",
): { input?: IndividualEnrollmentInput; violations: RuleViolation[] } {
  const at = (name: string): string => (field ? `${field}.${name}` : name);
  const violations = checkRegistrationId(id, at("registrationId"));
  if (!isPlainObject(body)) {
    return {
      violations: [
        ...violations,
        { field: field || "body", rule: "must be an individual enrollment object" },
      ],
    };
  }
  if (!absent(body.registrationId) && body.registrationId !== id) {
    violations.push({ field: at("registrationId"), rule: `must match the id in the path '${id}'` });
  }
  violations.push(...unknownFields(body, ENROLLMENT_FIELDS, field));
  const deviceId = absent(body.deviceId) || body.deviceId === "" ? null : body.deviceId;
  if (deviceId !== null) violations.push(...checkDeviceId(deviceId, at("deviceId")));
  const settings = parseSettings(body, "enrollment", linkedHubs, violations, field);
  if (violations.length > 0 || !settings) return { violations };
  return { input: { registrationId: id, deviceId: deviceId as string | null, ...settings }, violations };
}

function unknownFields(
  body: Record<string, unknown>,
  known: ReadonlySet<string>,
  field = "",
): RuleViolation[] {
  return Object.keys(body)
    .filter((key) => !known.has(key))
    .map((key) => ({ field: field ? `${field}.${key}` : key, rule: "is not a field of a DPS enrollment" }));
}

function parseSettings(
  body: Record<string, unknown>,
  kind: EnrollmentKind,
  linkedHubs: readonly string[],
  violations: RuleViolation[],
  field = "",
): EnrollmentSettings | undefined {
  const at = (name: string): string => (field ? `${field}.${name}` : name);
  const { attestation, violations: attestationViolations } = parseAttestation(
    body.attestation,
    kind,
    at("attestation"),
  );
  violations.push(...attestationViolations);

  const provisioningStatus = body.provisioningStatus ?? "enabled";
  if (provisioningStatus !== "enabled" && provisioningStatus !== "disabled") {
    violations.push({ field: at("provisioningStatus"), rule: "must be enabled or disabled" });
  }
  const capabilities = parseCapabilities(body.capabilities, at("capabilities"), violations);
  const reprovisionPolicy = parseReprovisionPolicy(
    body.reprovisionPolicy,
    at("reprovisionPolicy"),
    violations,
  );
  const initialTwin = parseInitialTwin(body.initialTwin, at("initialTwin"), violations);

  const allocationPolicy = absent(body.allocationPolicy) ? null : body.allocationPolicy;
  if (allocationPolicy !== null && !ALLOCATION_POLICIES.includes(allocationPolicy as AllocationPolicy)) {
    violations.push({
      field: at("allocationPolicy"),
      rule: `must be one of ${ALLOCATION_POLICIES.join(", ")}`,
    });
  } else if (allocationPolicy === "custom" || !absent(body.customAllocationDefinition)) {
    violations.push({
      field: at(allocationPolicy === "custom" ? "allocationPolicy" : "customAllocationDefinition"),
      rule: "custom allocation (an Azure Function webhook) is not supported by the local DPS",
    });
  }
  const iotHubs = parseIotHubs(body.iotHubs, linkedHubs, at("iotHubs"), violations);
  if (allocationPolicy === "static" && iotHubs && iotHubs.length !== 1) {
    violations.push({
      field: at("iotHubs"),
      rule: "must name exactly one linked hub with the static allocation policy",
    });
  }
  if (!attestation || !capabilities || !reprovisionPolicy || initialTwin === undefined || !iotHubs)
    return undefined;
  return {
    attestation,
    capabilities,
    initialTwin,
    provisioningStatus: provisioningStatus as ProvisioningStatus,
    reprovisionPolicy,
    allocationPolicy: allocationPolicy as AllocationPolicy | null,
    iotHubs,
  };
}

function parseCapabilities(
  value: unknown,
  field: string,
  violations: RuleViolation[],
): DeviceCapabilities | undefined {
  if (absent(value)) return { iotEdge: false };
  if (!isPlainObject(value) || !(absent(value.iotEdge) || typeof value.iotEdge === "boolean")) {
    violations.push({ field, rule: "must be an object {iotEdge: boolean}" });
    return undefined;
  }
  return { iotEdge: value.iotEdge === true };
}

function parseReprovisionPolicy(
  value: unknown,
  field: string,
  violations: RuleViolation[],
): ReprovisionPolicy | undefined {
  if (absent(value)) return { updateHubAssignment: true, migrateDeviceData: true };
  if (!isPlainObject(value)) {
    violations.push({ field, rule: "must be an object {updateHubAssignment, migrateDeviceData}" });
    return undefined;
  }
  const flag = (name: "updateHubAssignment" | "migrateDeviceData"): boolean | undefined => {
    const flagValue = value[name];
    if (absent(flagValue)) return true;
    if (typeof flagValue === "boolean") return flagValue;
    violations.push({ field: `${field}.${name}`, rule: "must be a boolean" });
    return undefined;
  };
  const updateHubAssignment = flag("updateHubAssignment");
  const migrateDeviceData = flag("migrateDeviceData");
  if (updateHubAssignment === undefined || migrateDeviceData === undefined) return undefined;
  return { updateHubAssignment, migrateDeviceData };
}

/**
 * `{tags, properties: {desired}}` with IoT Hub's twin rules (tags 8 KB, desired 32 KB, depth, names): the device
 * registration creates must be able to hold it. Returns null for none, undefined when refused.
 */
function parseInitialTwin(
  value: unknown,
  field: string,
  violations: RuleViolation[],
): InitialTwin | null | undefined {
  if (absent(value)) return null;
  if (!isPlainObject(value)) {
    violations.push({ field, rule: "must be an object {tags, properties: {desired}}" });
    return undefined;
  }
  const before = violations.length;
  for (const key of Object.keys(value)) {
    if (key !== "tags" && key !== "properties") {
      violations.push({
        field: `${field}.${key}`,
        rule: "is not a section of an initial twin (tags, properties.desired)",
      });
    }
  }
  const properties = absent(value.properties) ? {} : value.properties;
  if (!isPlainObject(properties)) {
    violations.push({ field: `${field}.properties`, rule: "must be an object {desired}" });
    return undefined;
  }
  for (const key of Object.keys(properties)) {
    if (key !== "desired") {
      violations.push({
        field: `${field}.properties.${key}`,
        rule: "is not settable in an initial twin (only desired)",
      });
    }
  }
  const tags = absent(value.tags) ? {} : value.tags;
  const desired = absent(properties.desired) ? {} : properties.desired;
  violations.push(...checkTwinSection("tags", tags, `${field}.tags`));
  violations.push(...checkTwinSection("desired", desired, `${field}.properties.desired`));
  if (violations.length > before) return undefined;
  return { tags: tags as TwinDocument, properties: { desired: desired as TwinDocument } };
}

function parseIotHubs(
  value: unknown,
  linkedHubs: readonly string[],
  field: string,
  violations: RuleViolation[],
): string[] | undefined {
  if (absent(value)) return [];
  if (!Array.isArray(value)) {
    violations.push({ field, rule: "must be a list of linked hub host names" });
    return undefined;
  }
  if (value.length > DPS_LIMITS.linkedHubsMax) {
    violations.push({ field, rule: `may name at most ${DPS_LIMITS.linkedHubsMax} hubs` });
    return undefined;
  }
  const before = violations.length;
  value.forEach((hub, index) => {
    if (typeof hub !== "string" || !linkedHubs.some((linked) => linked.toLowerCase() === hub.toLowerCase())) {
      violations.push({
        field: `${field}[${index}]`,
        rule: `must be the host name of a linked hub (${linkedHubs.join(", ") || "none linked"})`,
      });
    }
  });
  return violations.length > before
    ? undefined
    : [...new Set((value as string[]).map((hub) => hub.toLowerCase()))];
}
