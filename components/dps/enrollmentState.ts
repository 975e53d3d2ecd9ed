import { certificateInfo } from "../../lib/dps/attestation";
import { isPlainObject, type TwinDocument } from "../../lib/iothub/twin";
import { jsonEqual } from "../registry/twinOwnership";
import type { EnrollmentAnswer } from "./dpsClient";
import { absent, type EnrollmentInputs, type EnrollmentKind, type EnrollmentOutputs } from "./enrollmentArgs";

/**
 * How an enrollment's declared state compares with what DPS holds, whose answers withhold keys and certificate
 * texts: the declared keys, certificates by thumbprint, the settings with DPS's defaults filled in (what diff
 * compares), and the attestation read puts in the state.
 */

/** The symmetric keys the inputs declare; undefined when DPS is to generate (or keep) them. */
export function declaredKeys(
  inputs: EnrollmentInputs,
): { primaryKey: string; secondaryKey: string } | undefined {
  const attestation = inputs.attestation as { type?: unknown; symmetricKey?: Record<string, unknown> };
  const keys = attestation?.symmetricKey;
  return attestation?.type === "symmetricKey" &&
    typeof keys?.primaryKey === "string" &&
    keys.primaryKey !== ""
    ? (keys as { primaryKey: string; secondaryKey: string })
    : undefined;
}

/** The SHA-256 thumbprints an X.509 attestation names, from certificate texts or from DPS's certificate info. */
function thumbprints(attestation: unknown): string[] {
  if (!isPlainObject(attestation) || !isPlainObject(attestation.x509)) return [];
  const x509 = attestation.x509;
  const certificates = (x509.clientCertificates ?? x509.signingCertificates) as
    | Record<string, { certificate?: string; info?: { sha256Thumbprint?: string } } | null | undefined>
    | undefined;
  if (!isPlainObject(certificates)) return [];
  return [certificates.primary, certificates.secondary].map((entry) => {
    if (!entry) return "";
    if (typeof entry.certificate === "string")
      return certificateInfo(entry.certificate)?.sha256Thumbprint ?? "";
    return entry.info?.sha256Thumbprint ?? "";
  });
}

/** The declared settings with DPS's defaults filled in: what diff compares (outputs and keys DPS made aside). */
export function settingsOf(kind: EnrollmentKind, inputs: EnrollmentInputs): unknown {
  const twin = inputs.initialTwin as
    { tags?: TwinDocument; properties?: { desired?: TwinDocument } } | undefined;
  const tags = twin?.tags ?? {};
  const desired = twin?.properties?.desired ?? {};
  const policy = inputs.reprovisionPolicy as Record<string, unknown> | undefined;
  const attestation = inputs.attestation as { type?: unknown };
  return {
    attestation:
      attestation?.type === "x509"
        ? { type: "x509", thumbprints: thumbprints(attestation) }
        : { type: attestation?.type, keys: declaredKeys(inputs) ?? null },
    allocationPolicy: inputs.allocationPolicy ?? null,
    iotHubs: ((inputs.iotHubs as string[] | undefined) ?? []).map((hub) => hub.toLowerCase()).sort(),
    initialTwin:
      Object.keys(tags).length === 0 && Object.keys(desired).length === 0 ? null : { tags, desired },
    capabilities: { iotEdge: (inputs.capabilities as { iotEdge?: boolean } | undefined)?.iotEdge === true },
    provisioningStatus: inputs.provisioningStatus ?? "enabled",
    reprovisionPolicy: {
      updateHubAssignment: policy?.updateHubAssignment ?? true,
      migrateDeviceData: policy?.migrateDeviceData ?? true,
    },
    own: kind.ownFields.map((field) =>
      absent(inputs[field]) || inputs[field] === "" ? null : inputs[field],
    ),
  };
}

/** DPS may answer the initial twin with `$metadata`/`$version` bookkeeping: not part of what was declared. */
export function withoutMetadata(twin: unknown): unknown {
  if (!isPlainObject(twin)) return twin;
  const strip = (section: unknown): unknown => {
    if (!isPlainObject(section)) return section;
    const { $metadata: _metadata, $version: _version, ...rest } = section;
    return rest;
  };
  const properties = isPlainObject(twin.properties)
    ? { desired: strip(twin.properties.desired) }
    : twin.properties;
  return { ...twin, tags: strip(twin.tags), properties };
}

/**
 * The attestation as the state should hold it after read: the declared one while DPS holds the same (its answers
 * withhold keys and certificate texts), else what DPS holds, so that diff shows the drift.
 */
export function heldAttestation(
  props: EnrollmentInputs,
  answer: EnrollmentAnswer,
  outputs: EnrollmentOutputs<EnrollmentInputs>,
): unknown {
  const declared = props.attestation as { type?: unknown };
  if (answer.attestation?.type === "symmetricKey") {
    if (declared?.type !== "symmetricKey") return { type: "symmetricKey" };
    if (!declaredKeys(props)) return declared;
    return {
      type: "symmetricKey",
      symmetricKey: { primaryKey: outputs.primaryKey, secondaryKey: outputs.secondaryKey },
    };
  }
  return jsonEqual(thumbprints(declared), thumbprints(answer.attestation)) ? declared : answer.attestation;
}
