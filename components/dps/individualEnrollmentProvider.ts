import type * as pulumi from "@pulumi/pulumi";
import { parseIndividualEnrollmentBody } from "../../lib/dps/enrollment";
import type { RuleViolation } from "../../lib/iothub/rules";
import type { OutputsOf } from "../registry/providerKit";
import { ENROLLMENT_OUTPUTS, type EnrollmentInputs, type EnrollmentKind } from "./enrollmentArgs";
import { checkEnrollmentInputs, enrollmentProvider } from "./enrollmentProvider";

export type IndividualEnrollmentInputs = EnrollmentInputs & { registrationId: string; deviceId?: string };

export const INDIVIDUAL_ENROLLMENT_OUTPUTS = ENROLLMENT_OUTPUTS;

export type IndividualEnrollmentOutputs = OutputsOf<
  IndividualEnrollmentInputs,
  typeof INDIVIDUAL_ENROLLMENT_OUTPUTS
>;

const individualEnrollmentKind: EnrollmentKind = {
  noun: "individual enrollment",
  collection: "enrollments",
  idField: "registrationId",
  ownFields: ["deviceId"],
  parseBody: (id, body, linkedHubs) => parseIndividualEnrollmentBody(id, body, linkedHubs),
};

/** Every violation of an individual enrollment's inputs, each naming the field and the rule. */
export function checkIndividualEnrollment(inputs: IndividualEnrollmentInputs): RuleViolation[] {
  return checkEnrollmentInputs(individualEnrollmentKind, inputs);
}

/** A DPS individual enrollment: one registration id, its own key or its own client certificate. */
export const individualEnrollmentProvider: pulumi.dynamic.ResourceProvider =
  enrollmentProvider(individualEnrollmentKind);
