import { publicAttestation } from "../../lib/dps/attestation";
import {
  parseEnrollmentGroupBody,
  parseIndividualEnrollmentBody,
  type EnrollmentGroupRecord,
  type IndividualEnrollmentRecord,
  type PublicEnrollment,
} from "../../lib/dps/enrollment";
import { checkEnrollmentGroupId, checkRegistrationId, DPS_LIMITS } from "../../lib/dps/rules";
import { describeViolations } from "../../lib/iothub/rules";
import { isPlainObject } from "../../lib/iothub/twin";
import {
  dpsBadRequest,
  enrollmentGroupNotFound,
  enrollmentNotFound,
  throwIfDpsViolations,
  type DpsError,
} from "../errors/dpsError";
import type { DpsStore, EnrollmentOperation } from "../persistence/dpsStore";
import type { EtagCondition } from "../persistence/identityModels";
import { pageResponse, parseQueryRequest } from "./dpsQuery";
import { parseIfMatch } from "./requestModels";
import type { DpsRoute } from "./route";

/**
 * DPS's enrollment operations, as azure-iot-provisioning-service calls them: PUT (create or replace; If-Match =
 * the etag the client read), GET, DELETE (If-Match optional) of `/enrollmentGroups/{id}` and `/enrollments/{id}`,
 * bulk `POST /enrollments`, the two queries and `POST .../attestationmechanism`. GET and query answers withhold
 * keys and certificate texts; the attestation mechanism call (EnrollmentWrite) is where keys are read back. A PUT
 * answers with what was stored, keys included: the caller just wrote them.
 */
export function dpsEnrollmentRoutes(dps: DpsStore, linkedHubs: readonly string[]): DpsRoute[] {
  return [
    {
      method: "PUT",
      pattern: "/enrollmentGroups/:id",
      right: "EnrollmentWrite",
      operationClass: "dpsService",
      handle: ({ params, body, headers }) => {
        const condition = parseIfMatch(headers["if-match"]);
        const { input, violations } = parseEnrollmentGroupBody(params.id, body, linkedHubs);
        throwIfDpsViolations(violations);
        return { status: 200, body: dps.putEnrollmentGroup(input!, condition) };
      },
    },
    {
      method: "GET",
      pattern: "/enrollmentGroups/:id",
      right: "EnrollmentRead",
      operationClass: "dpsService",
      handle: ({ params }) => ({ status: 200, body: publicGroup(requireGroup(dps, params.id)) }),
    },
    {
      method: "DELETE",
      pattern: "/enrollmentGroups/:id",
      right: "EnrollmentWrite",
      operationClass: "dpsService",
      handle: ({ params, headers }) => {
        throwIfDpsViolations(checkEnrollmentGroupId(params.id));
        dps.deleteEnrollmentGroup(params.id, parseIfMatch(headers["if-match"]));
        return { status: 204 };
      },
    },
    {
      method: "POST",
      pattern: "/enrollmentGroups/:id/attestationmechanism",
      right: "EnrollmentWrite",
      operationClass: "dpsService",
      handle: ({ params }) => ({ status: 200, body: requireGroup(dps, params.id).attestation }),
    },
    {
      method: "POST",
      pattern: "/enrollmentGroups/query",
      right: "EnrollmentRead",
      operationClass: "dpsService",
      handle: ({ body, headers }) => {
        const { after, limit } = parseQueryRequest(body, headers, "enrollmentGroups");
        return pageResponse(dps.listEnrollmentGroups(after, limit), "enrollmentGroups", publicGroup);
      },
    },
    {
      method: "PUT",
      pattern: "/enrollments/:id",
      right: "EnrollmentWrite",
      operationClass: "dpsService",
      handle: ({ params, body, headers }) => {
        const condition = parseIfMatch(headers["if-match"]);
        const { input, violations } = parseIndividualEnrollmentBody(params.id, body, linkedHubs);
        throwIfDpsViolations(violations);
        return { status: 200, body: dps.putEnrollment(input!, condition) };
      },
    },
    {
      method: "GET",
      pattern: "/enrollments/:id",
      right: "EnrollmentRead",
      operationClass: "dpsService",
      handle: ({ params }) => ({ status: 200, body: publicEnrollment(requireEnrollment(dps, params.id)) }),
    },
    {
      method: "DELETE",
      pattern: "/enrollments/:id",
      right: "EnrollmentWrite",
      operationClass: "dpsService",
      handle: ({ params, headers }) => {
        throwIfDpsViolations(checkRegistrationId(params.id));
        dps.deleteEnrollment(params.id, parseIfMatch(headers["if-match"]));
        return { status: 204 };
      },
    },
    {
      method: "POST",
      pattern: "/enrollments/:id/attestationmechanism",
      right: "EnrollmentWrite",
      operationClass: "dpsService",
      handle: ({ params }) => ({ status: 200, body: requireEnrollment(dps, params.id).attestation }),
    },
    {
      method: "POST",
      pattern: "/enrollments/query",
      right: "EnrollmentRead",
      operationClass: "dpsService",
      handle: ({ body, headers }) => {
        const { after, limit } = parseQueryRequest(body, headers, "enrollments");
        return pageResponse(dps.listEnrollments(after, limit), "enrollments", publicEnrollment);
      },
    },
    {
      method: "POST",
      pattern: "/enrollments",
      right: "EnrollmentWrite",
      operationClass: "dpsService",
      handle: ({ body }) => {
        const operations = parseBulkOperation(body, linkedHubs);
        const outcomes = dps.applyEnrollmentBatch(
          operations.flatMap((entry) => ("operation" in entry ? [entry.operation] : [])),
        );
        let applied = 0;
        const errors = operations.flatMap((entry) => {
          const error: DpsError | undefined = "operation" in entry ? outcomes[applied++] : entry.error;
          return error
            ? [
                {
                  registrationId: entry.registrationId,
                  errorCode: error.errorCode,
                  errorStatus: error.message,
                },
              ]
            : [];
        });
        return { status: 200, body: { isSuccessful: errors.length === 0, errors } };
      },
    },
  ];
}

function requireGroup(dps: DpsStore, id: string): EnrollmentGroupRecord {
  throwIfDpsViolations(checkEnrollmentGroupId(id));
  const group = dps.getEnrollmentGroup(id);
  if (!group) throw enrollmentGroupNotFound(id);
  return group;
}

function requireEnrollment(dps: DpsStore, registrationId: string): IndividualEnrollmentRecord {
  throwIfDpsViolations(checkRegistrationId(registrationId));
  const enrollment = dps.getEnrollment(registrationId);
  if (!enrollment) throw enrollmentNotFound(registrationId);
  return enrollment;
}

const publicGroup = (group: EnrollmentGroupRecord): PublicEnrollment<EnrollmentGroupRecord> => ({
  ...group,
  attestation: publicAttestation(group.attestation),
});
const publicEnrollment = (
  enrollment: IndividualEnrollmentRecord,
): PublicEnrollment<IndividualEnrollmentRecord> => ({
  ...enrollment,
  attestation: publicAttestation(enrollment.attestation),
});

const BULK_MODES = ["create", "update", "updateIfMatchEtag", "delete"] as const;
type BulkEntry = { registrationId: string } & ({ operation: EnrollmentOperation } | { error: DpsError });

/**
 * `{mode, enrollments}`: 1-10 entries (else 400 for the whole call); each entry is checked on its own and a bad
 * one fails alone, as DPS reports it in `errors` (the same registration id twice: the second fails).
 */
function parseBulkOperation(body: unknown, linkedHubs: readonly string[]): BulkEntry[] {
  if (!isPlainObject(body))
    throw dpsBadRequest("body: must be a bulk enrollment operation {mode, enrollments}");
  const mode = body.mode;
  if (typeof mode !== "string" || !(BULK_MODES as readonly string[]).includes(mode)) {
    throw dpsBadRequest(`mode: must be one of ${BULK_MODES.join(", ")}`);
  }
  const enrollments = body.enrollments;
  if (
    !Array.isArray(enrollments) ||
    enrollments.length === 0 ||
    enrollments.length > DPS_LIMITS.bulkMaxEnrollments
  ) {
    throw dpsBadRequest(
      `enrollments: must be a list of 1-${DPS_LIMITS.bulkMaxEnrollments} individual enrollments`,
    );
  }
  const seen = new Set<string>();
  return enrollments.map((entry: unknown, index): BulkEntry => {
    const field = `enrollments[${index}]`;
    const registrationId =
      isPlainObject(entry) && typeof entry.registrationId === "string" ? entry.registrationId : "";
    const fail = (message: string): BulkEntry => ({
      registrationId,
      error: dpsBadRequest(message),
    });
    const idViolations = checkRegistrationId(registrationId, `${field}.registrationId`);
    if (!isPlainObject(entry) || idViolations.length > 0) {
      return fail(
        isPlainObject(entry)
          ? describeViolations(idViolations)
          : `${field}: must be an individual enrollment`,
      );
    }
    if (seen.has(registrationId)) return fail(`${field}.registrationId: is given twice in this operation`);
    seen.add(registrationId);
    const etag = typeof entry.etag === "string" && entry.etag !== "" ? entry.etag : undefined;
    const condition: EtagCondition = etag === undefined ? "absent" : parseIfMatch(etag);
    if (mode === "delete")
      return { registrationId, operation: { kind: "delete", registrationId, condition } };
    if (mode === "updateIfMatchEtag" && etag === undefined) {
      return fail(`${field}.etag: is required with mode updateIfMatchEtag`);
    }
    const { input, violations } = parseIndividualEnrollmentBody(registrationId, entry, linkedHubs, field);
    if (!input) return fail(describeViolations(violations));
    if (mode === "create") return { registrationId, operation: { kind: "create", enrollment: input } };
    return {
      registrationId,
      operation: { kind: "put", enrollment: input, condition: mode === "update" ? "absent" : condition },
    };
  });
}
