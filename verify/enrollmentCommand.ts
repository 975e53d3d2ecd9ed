import { renderEnrollmentJson, renderEnrollmentTable, verifyEnrollment } from "./enrollment";
import { localEnrollmentTarget, stackEnrollmentTarget } from "./enrollmentTarget";
import { loadStackOutputs } from "./loadOutputs";
import type { EnrollmentOptions, VerifyOptions } from "./options";

/**
 * `verify --enrollment GROUP --simulate N`: prints the report; 0 when every simulated device passed, else 1. The DPS
 * is the stack's when stack outputs are given (`--stack`, `--outputs`), else the local hub's of `--state`.
 */
export async function runEnrollmentCheck(
  enrollment: EnrollmentOptions,
  options: VerifyOptions,
): Promise<number> {
  const { target, groupKey, desired } = options.source
    ? await stackEnrollmentTarget(
        await loadStackOutputs(options.source, { enrollment: enrollment.enrollmentGroupId }),
        enrollment,
        options.ca,
      )
    : await localEnrollmentTarget(enrollment, options.ca);
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
