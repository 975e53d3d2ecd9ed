import { checkEnrollmentGroupId, checkRegistrationId } from "../../lib/dps/rules";
import { registrationNotFound, throwIfDpsViolations } from "../errors/dpsError";
import { registrationStateOf, type DpsStore } from "../persistence/dpsStore";
import { pageResponse, parseQueryRequest } from "./dpsQuery";
import { parseIfMatch } from "./requestModels";
import type { DpsRoute } from "./route";

/**
 * Device registration states (`/registrations/{registrationId}`, and per enrollment group
 * `POST /registrations/{groupId}/query`). Deleting one lets the device register anew; the device it created in the
 * hub stays (as with DPS).
 */
export function dpsRegistrationRoutes(dps: DpsStore): DpsRoute[] {
  return [
    {
      method: "GET",
      pattern: "/registrations/:id",
      right: "RegistrationStatusRead",
      operationClass: "dpsService",
      handle: ({ params }) => {
        throwIfDpsViolations(checkRegistrationId(params.id));
        const registration = dps.getRegistration(params.id);
        if (!registration) throw registrationNotFound(params.id);
        return { status: 200, body: registrationStateOf(registration) };
      },
    },
    {
      method: "DELETE",
      pattern: "/registrations/:id",
      right: "RegistrationStatusWrite",
      operationClass: "dpsService",
      handle: ({ params, headers }) => {
        throwIfDpsViolations(checkRegistrationId(params.id));
        dps.deleteRegistration(params.id, parseIfMatch(headers["if-match"]));
        return { status: 204 };
      },
    },
    {
      method: "POST",
      pattern: "/registrations/:groupId/query",
      right: "RegistrationStatusRead",
      operationClass: "dpsService",
      handle: ({ params, body, headers }) => {
        throwIfDpsViolations(checkEnrollmentGroupId(params.groupId, "enrollmentGroupId"));
        const { after, limit } = parseQueryRequest(body, headers, "registrations");
        return pageResponse(
          dps.listRegistrations(params.groupId, after, limit),
          "registrations",
          registrationStateOf,
        );
      },
    },
  ];
}
