import type * as pulumi from "@pulumi/pulumi";
import { enrollmentGroupResourceProvider } from "./enrollmentGroup";
import { individualEnrollmentResourceProvider } from "./individualEnrollment";

/** The provider each DPS resource hands to Pulumi, by resource name (tests serve them like the registry's). */
export const dpsProviders: Record<
  "EnrollmentGroup" | "IndividualEnrollment",
  pulumi.dynamic.ResourceProvider
> = {
  EnrollmentGroup: enrollmentGroupResourceProvider,
  IndividualEnrollment: individualEnrollmentResourceProvider,
};
