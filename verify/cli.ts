import { InputError } from "./inputError";
import { loadStackOutputs } from "./loadOutputs";
import { parseVerifyOptions, USAGE } from "./options";
import { renderJson, renderTable } from "./report";
import { resolveTrust } from "./trust";

/**
 * `npm run verify`: proves each module of a stack connects, holds its declared desired properties and receives
 * live patches; with `--enrollment`, that simulated devices register through a DPS enrollment group and receive its
 * initial twin. Exit 0 = every module (device) passed, 1 = one failed, 2 = bad usage or unreadable outputs.
 */
async function main(argv: string[]): Promise<number> {
  const options = parseVerifyOptions(argv);
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  if (options.enrollment) {
    const { runEnrollmentCheck } = await import("./enrollmentCommand");
    return runEnrollmentCheck(options.enrollment, options);
  }
  const outputs = await loadStackOutputs(options.source!, { allKeys: options.allKeys });
  const trust = resolveTrust(options.ca, outputs.caFile);

  // The Azure SDKs take most of the start-up time: load them only once there is something to check.
  if (options.watch) {
    const { watchModule } = await import("./watch");
    return watchModule(outputs, options.watch, trust, {
      json: options.json,
      timeoutSeconds: options.timeoutSeconds,
    });
  }
  const { verifyModules } = await import("./run");
  const report = await verifyModules(outputs, trust, options);
  console.log(options.json ? renderJson(report) : renderTable(report));
  return report.ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    // SDK clients may hold timers or sockets a little longer; the verdict is final.
    process.exit(code);
  },
  (error: unknown) => {
    if (error instanceof InputError) {
      console.error(`verify: ${error.message}`);
      if (error.usage) console.error("run with --help for usage");
      process.exit(2);
    }
    console.error(
      `verify: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    process.exit(1);
  },
);
