import { renderEnrollmentJson, renderEnrollmentTable, verifyEnrollment } from "./enrollment";
import { localEnrollmentTarget } from "./enrollmentTarget";
import type { EnrollmentOptions, VerifyOptions } from "./options";

/** `verify --enrollment GROUP --simulate N`: prints the report; 0 when every simulated device passed, else 1. */
export async function runEnrollmentCheck(
  enrollment: EnrollmentOptions,
  options: VerifyOptions,
): Promise<number> {
  const { target, groupKey, desired } = await localEnrollmentTarget(enrollment, options.ca);
  const report = await verifyEnrollment(target, {
    enrollmentGroupId: enrollment.enrollmentGroupId,
    simulate: enrollment.simulate,
    groupKey,
    desired,
    keep: enrollment.keep,
    timeoutSeconds: options.timeoutSeconds,
    concurrency: options.concurrency,
  });
  console.log(options.json ? renderEnrollmentJson(report) : renderEnrollmentTable(report));
  return report.ok ? 0 : 1;
}
