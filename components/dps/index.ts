export { EnrollmentGroup, type EnrollmentGroupArgs } from "./enrollmentGroup";
export { IndividualEnrollment, type IndividualEnrollmentArgs } from "./individualEnrollment";
export type { AttestationArgs, EnrollmentArgs } from "./enrollmentArgs";
export type { DpsConnectionArgs } from "./dpsConnection";
