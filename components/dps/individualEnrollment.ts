import type * as pulumi from "@pulumi/pulumi";
import { projectProvider } from "../registry/lazyProvider";
import { registryResourceClass } from "../registry/registryResource";
import { ENROLLMENT_SECRET_INPUTS, type EnrollmentArgs } from "./enrollmentArgs";
import {
  INDIVIDUAL_ENROLLMENT_OUTPUTS,
  type IndividualEnrollmentOutputs,
} from "./individualEnrollmentProvider";

export interface IndividualEnrollmentArgs extends EnrollmentArgs {
  /** The device's registration id (DPS's id rules); another one replaces the enrollment. */
  registrationId: pulumi.Input<string>;
  /** The device id registration creates in the hub (default: the registration id). */
  deviceId?: pulumi.Input<string>;
}

/** What Pulumi serializes for this resource: a small stub that loads individualEnrollmentProvider. */
export const individualEnrollmentResourceProvider = projectProvider(
  "individualEnrollmentProvider",
  __dirname,
);

const IndividualEnrollmentResource = registryResourceClass<pulumi.Inputs, IndividualEnrollmentOutputs>({
  type: "IndividualEnrollment",
  provider: individualEnrollmentResourceProvider,
  outputs: INDIVIDUAL_ENROLLMENT_OUTPUTS,
  secretInputs: ENROLLMENT_SECRET_INPUTS,
});

/**
 * A DPS individual enrollment: one device (its registration id) attesting with its own key or client certificate.
 * Outputs: `etag`, `primaryKey` and `secondaryKey` (secret; symmetric-key enrollments), and the inputs as the DPS
 * holds them.
 */
export class IndividualEnrollment extends IndividualEnrollmentResource {
  constructor(name: string, args: IndividualEnrollmentArgs, opts?: pulumi.CustomResourceOptions) {
    super(name, args, opts);
  }
}
