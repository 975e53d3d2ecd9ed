import type * as pulumi from "@pulumi/pulumi";
import { parseEnrollmentGroupBody } from "../../lib/dps/enrollment";
import type { RuleViolation } from "../../lib/iothub/rules";
import type { OutputsOf } from "../registry/providerKit";
import { ENROLLMENT_OUTPUTS, type EnrollmentInputs, type EnrollmentKind } from "./enrollmentArgs";
import { checkEnrollmentInputs, checkEnrollmentSettings, enrollmentProvider } from "./enrollmentProvider";

export type EnrollmentGroupInputs = EnrollmentInputs & { enrollmentGroupId: string };

export const ENROLLMENT_GROUP_OUTPUTS = ENROLLMENT_OUTPUTS;

export type EnrollmentGroupOutputs = OutputsOf<EnrollmentGroupInputs, typeof ENROLLMENT_GROUP_OUTPUTS>;

const enrollmentGroupKind: EnrollmentKind = {
  noun: "enrollment group",
  collection: "enrollmentGroups",
  idField: "enrollmentGroupId",
  ownFields: [],
  parseBody: parseEnrollmentGroupBody,
};

/** Every violation of an enrollment group's inputs, each naming the field and the rule. */
export function checkEnrollmentGroup(inputs: EnrollmentGroupInputs): RuleViolation[] {
  return checkEnrollmentInputs(enrollmentGroupKind, inputs);
}

/** What checkEnrollmentGroup checks but the DPS arguments (the stack config's entries). */
export function checkEnrollmentGroupSettings(inputs: Partial<EnrollmentGroupInputs>): RuleViolation[] {
  return checkEnrollmentSettings(enrollmentGroupKind, inputs);
}

/** A DPS enrollment group: many devices, one attestation (a group key, or a signing certificate). */
export const enrollmentGroupProvider: pulumi.dynamic.ResourceProvider =
  enrollmentProvider(enrollmentGroupKind);
