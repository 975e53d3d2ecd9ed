import { CommanderError } from "commander";
import { EXIT, packageVersion, StrictCommand, UsageError } from "./cli/commandLine";
import { addEntraCommands } from "./cli/entraCommands";
import { addHubCommands } from "./cli/hubCommands";
import { addIdentityCommands } from "./cli/identityCommands";
import { addMethodCommands } from "./cli/methodCommands";
import { addQueryCommand } from "./cli/queryCommand";
import { addTwinCommands } from "./cli/twinCommands";
import { HubStartError } from "./errors/startError";

/**
 * `iothub-local`: the commands that run a local hub (start, ca, policy, quota, fault, tail, stop), its Entra ID
 * principals and roles (principal, role), and the service
 * commands that work against any hub (device, module, twin, connection-string, query, method, sas-token). One error
 * exit for all of them: the message on stderr, and the exit code of docs/cli.md.
 */
const program = new StrictCommand("iothub-local")
  .description("A local Azure IoT Hub: the service API over HTTPS (443) and the device API over MQTT")
  .version(packageVersion(), "-V, --version", "print the version")
  .showHelpAfterError()
  // Commander's own refusals (unknown flag or command, missing or extra argument, a value outside its choices)
  // throw a CommanderError instead of exiting, so that they exit with the usage code like every other refusal.
  .exitOverride();

addHubCommands(program);
addEntraCommands(program);
addIdentityCommands(program);
addTwinCommands(program);
addQueryCommand(program);
addMethodCommands(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof CommanderError) {
    // Help and --version end with exit code 0; commander has already printed its message.
    process.exit(error.exitCode === 0 ? EXIT.ok : EXIT.usage);
  }
  console.error(`iothub-local: ${error instanceof Error ? error.message : String(error)}`);
  if (error instanceof HubStartError) process.exit(error.exitCode);
  if (error instanceof UsageError) process.exit(EXIT.usage);
  process.exit(EXIT.failed);
});
