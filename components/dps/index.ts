export { EnrollmentGroup, type EnrollmentGroupArgs } from "./enrollmentGroup";
export { IndividualEnrollment, type IndividualEnrollmentArgs } from "./individualEnrollment";
export type { AttestationArgs, EnrollmentArgs } from "./enrollmentProvider";
export type { DpsConnectionArgs } from "./dpsConnection";
