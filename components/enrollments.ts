import * as pulumi from "@pulumi/pulumi";
import { EnrollmentGroup } from "./dps";
import type { EnrollmentGroupConfig } from "./dpsConfig";
import type { RegistryProviderOptions } from "./registry";

/** What the component needs: the DPS (either target's DpsOutputs) and the checked groups of the stack config. */
export interface EnrollmentsArgs {
  /** The DPS's service connection string (secret): a policy with enrollment read and write. */
  serviceConnectionString: pulumi.Input<string>;
  /** The CA the DPS's certificate chains to when it is no public one (the local hub's), besides the system CAs. */
  caCertificate?: pulumi.Input<string | undefined>;
  enrollmentGroups: EnrollmentGroupConfig[];
  /** The hubs a group that names none allocates to: the stack's hub (host names). */
  defaultIotHubs?: pulumi.Input<string>[];
  /** Retry budget and pacing of the service calls (the stack's `registry` options). */
  serviceCalls?: RegistryProviderOptions;
}

/** Resource names: from the group's id only (stable across setting changes), percent-encoded as the Fleet's. */
export function enrollmentGroupResourceName(componentName: string, enrollmentGroupId: string): string {
  return `${componentName}-group-${encodeURIComponent(enrollmentGroupId)}`;
}

/**
 * The stack's DPS enrollment groups as resources, one EnrollmentGroup per entry of `iothub-provisioner:enrollmentGroups`
 * (their rules were checked with the stack config). `groups` holds each group's id and its keys (secret).
 */
export class Enrollments extends pulumi.ComponentResource {
  readonly groups: EnrollmentGroup[];

  constructor(name: string, args: EnrollmentsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("iothub-provisioner:dps:Enrollments", name, {}, opts);
    const dps = {
      serviceConnectionString: pulumi.secret(args.serviceConnectionString),
      // Undefined on Azure (an Output of undefined is an absent input): the system CAs.
      caCertificate: args.caCertificate as pulumi.Input<string> | undefined,
      serviceCalls: args.serviceCalls,
    };
    this.groups = args.enrollmentGroups.map(
      (group) =>
        new EnrollmentGroup(
          enrollmentGroupResourceName(name, group.enrollmentGroupId),
          // Declared keys come from a config secret, read in plain text: secret again as an input.
          {
            ...dps,
            ...group,
            iotHubs: group.iotHubs ?? args.defaultIotHubs,
            attestation: pulumi.secret(group.attestation),
          },
          { parent: this },
        ),
    );
    this.registerOutputs({});
  }
}
