import type * as pulumi from "@pulumi/pulumi";
import { projectProvider } from "../registry/lazyProvider";
import { registryResourceClass } from "../registry/registryResource";
import { ENROLLMENT_SECRET_INPUTS, type EnrollmentArgs } from "./enrollmentArgs";
import { ENROLLMENT_GROUP_OUTPUTS, type EnrollmentGroupOutputs } from "./enrollmentGroupProvider";

export interface EnrollmentGroupArgs extends EnrollmentArgs {
  /**
   * The group's id in the DPS (default: the resource's name): lowercase letters, digits and `- . _ :`, at most 128
   * characters, ending with a letter, a digit or `-`. Another id replaces the group.
   */
  enrollmentGroupId?: pulumi.Input<string>;
}

/** What Pulumi serializes for this resource: a small stub that loads enrollmentGroupProvider (see lazyProvider.ts). */
export const enrollmentGroupResourceProvider = projectProvider("enrollmentGroupProvider", __dirname);

const EnrollmentGroupResource = registryResourceClass<pulumi.Inputs, EnrollmentGroupOutputs>({
  type: "EnrollmentGroup",
  provider: enrollmentGroupResourceProvider,
  outputs: ENROLLMENT_GROUP_OUTPUTS,
  secretInputs: ENROLLMENT_SECRET_INPUTS,
});

/**
 * A DPS enrollment group: the devices that attest with a key derived from its key (or a certificate its signing
 * certificate signed) register themselves and get its initial twin. Outputs: `etag`, `primaryKey` and
 * `secondaryKey` (secret; symmetric-key groups), and the inputs as the DPS holds them (after refresh: drift shows).
 */
export class EnrollmentGroup extends EnrollmentGroupResource {
  constructor(name: string, args: EnrollmentGroupArgs, opts?: pulumi.CustomResourceOptions) {
    super(name, { ...args, enrollmentGroupId: args.enrollmentGroupId ?? name }, opts);
  }
}
