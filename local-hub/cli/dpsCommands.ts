import type { Command } from "commander";
import { resolve } from "node:path";
import { deriveDeviceKey } from "../../lib/dps/deviceKey";
import { checkEnrollmentGroupId, checkRegistrationId, DPS_RIGHTS } from "../../lib/dps/rules";
import { checkKey, type RuleViolation } from "../../lib/iothub/rules";
import { serviceConnectionString } from "../../lib/iothub/sas";
import { DPS_OWNER_POLICY, DPS_POLICIES } from "../authentication/dpsPolicies";
import { checkNewPolicy, parseRights, PolicyStore } from "../authentication/policyStore";
import { DpsStore } from "../persistence/dpsStore";
import { readHubInfo } from "../stateDir";
import { parseInput, refuseViolations, UsageError } from "./commandLine";
import { POLICY_COLUMNS, stateOption, withDatabase } from "./hubCommands";
import { outputOption, printOutput, type OutputFormat } from "./output";

/**
 * `iothub-local dps ...`: the local DPS of a state dir. `show` (id scope, endpoints), `derive-key` (a device's key
 * under a symmetric-key enrollment group, from the group's key in hub.db or `--key`), and `policy` (DPS's shared
 * access policies, as `policy` is for the hub's). They read hub.db directly: no running hub is needed, except for
 * the endpoints `show` reports.
 */
export function addDpsCommands(program: Command): void {
  const dps = program.command("dps").description("the local Device Provisioning Service of a state dir");
  dps
    .command("show")
    .description("the local DPS's id scope and endpoints (never its keys)")
    .addOption(stateOption())
    .addOption(outputOption())
    .action((flags: { state: string; output?: OutputFormat }) => {
      const stateDir = resolve(flags.state);
      // Read first: a hub.json no hub wrote is refused with nothing opened.
      const running = readHubInfo(stateDir)?.dps;
      const idScope = withDatabase(flags.state, (db) => new DpsStore(db).idScope());
      const shown = {
        idScope,
        serviceHostName: running?.hostName ?? null,
        serviceEndpoint: running ? `https://${running.hostName}:${running.httpsPort}` : null,
        host: running?.host ?? null,
        // What devices give ProvisioningDeviceClient.create: the device registration endpoint (MQTT).
        provisioningHost: running ? `${running.host}:${running.mqttPort}` : null,
        running: running !== undefined,
      };
      printOutput(
        shown,
        [
          { header: "idScope", value: (row) => row.idScope },
          {
            header: "serviceEndpoint",
            value: (row) => row.serviceEndpoint ?? "(not running: start with --dps-host)",
          },
          { header: "host", value: (row) => row.host },
          { header: "provisioningHost", value: (row) => row.provisioningHost },
        ],
        flags.output,
      );
    });
  dps
    .command("derive-key <group> <registrationId>")
    .description(
      "print the device key of REGISTRATION_ID under symmetric-key enrollment group GROUP (a secret)",
    )
    .option("--key <base64>", "the group's key, instead of reading it from the local DPS")
    .option("--secondary", "derive from the group's secondary key")
    .addOption(stateOption())
    .action(
      (
        group: string,
        registrationId: string,
        flags: { key?: string; secondary?: boolean; state: string },
      ) => {
        const violations: RuleViolation[] = [
          ...checkEnrollmentGroupId(group, "GROUP"),
          ...checkRegistrationId(registrationId, "REGISTRATION_ID"),
        ];
        if (flags.key !== undefined) {
          if (flags.secondary) violations.push({ field: "--secondary", rule: "does not go with --key" });
          violations.push(...checkKey(flags.key, "--key"));
        }
        refuseViolations(violations);
        const groupKey = flags.key ?? storedGroupKey(flags.state, group, flags.secondary === true);
        console.log(deriveDeviceKey(groupKey, registrationId));
      },
    );
  addDpsPolicyCommands(dps);
}

function storedGroupKey(stateDir: string, group: string, secondary: boolean): string {
  const stored = withDatabase(stateDir, (db) => new DpsStore(db).getEnrollmentGroup(group));
  if (!stored)
    throw new Error(`enrollment group '${group}' does not exist in the local DPS on ${resolve(stateDir)}`);
  const keys = stored.attestation.symmetricKey;
  if (!keys)
    throw new Error(
      `enrollment group '${group}' attests with X.509 certificates: it has no key to derive from`,
    );
  return secondary ? keys.secondaryKey : keys.primaryKey;
}

function addDpsPolicyCommands(dps: Command): void {
  const policy = dps.command("policy").description("the local DPS's shared access policies (seen at once)");
  policy
    .command("add <name>")
    .description("add a DPS policy with fresh keys; prints its connection string")
    .requiredOption("--rights <rights>", `comma-separated: ${DPS_RIGHTS.join(", ")}`)
    .option("--hostname <name>", "DPS host name for the connection string (default: the running DPS's)")
    .addOption(stateOption())
    .action((name: string, flags: { rights: string; hostname?: string; state: string }) => {
      const rights = parseInput(() => parseRights(flags.rights, DPS_RIGHTS));
      refuseViolations(checkNewPolicy(name, rights));
      const hostName = flags.hostname ?? dpsHostName(flags.state);
      const added = withDatabase(flags.state, (db) => new PolicyStore(db, DPS_POLICIES).add(name, rights), {
        create: true,
      });
      console.log(serviceConnectionString(hostName, added.name, added.primaryKey));
    });
  policy
    .command("list")
    .description("list DPS policies and their rights (never their keys)")
    .addOption(stateOption())
    .addOption(outputOption())
    .action((flags: { state: string; output?: OutputFormat }) => {
      const policies = withDatabase(flags.state, (db) => new PolicyStore(db, DPS_POLICIES).list());
      printOutput(
        policies.map(({ name, rights }) => ({ name, rights })),
        POLICY_COLUMNS,
        flags.output,
      );
    });
  policy
    .command("remove <name>")
    .description("remove a DPS policy; tokens signed with its keys stop working at once")
    .addOption(stateOption())
    .action((name: string, flags: { state: string }) => {
      if (name === DPS_OWNER_POLICY) {
        throw new UsageError(`DPS policy '${DPS_OWNER_POLICY}' is the DPS's own (hub.json uses it)`);
      }
      const removed = withDatabase(flags.state, (db) => new PolicyStore(db, DPS_POLICIES).remove(name));
      if (!removed) throw new Error(`DPS policy '${name}' does not exist`);
      console.log(`removed ${name}`);
    });
  policy
    .command("show <name>")
    .description("print one DPS policy's connection string")
    .option("--hostname <name>", "DPS host name for the connection string (default: the running DPS's)")
    .addOption(stateOption())
    .action((name: string, flags: { hostname?: string; state: string }) => {
      const hostName = flags.hostname ?? dpsHostName(flags.state);
      const found = withDatabase(flags.state, (db) => new PolicyStore(db, DPS_POLICIES).get(name));
      if (!found) throw new Error(`DPS policy '${name}' does not exist`);
      console.log(serviceConnectionString(hostName, found.name, found.primaryKey));
    });
}

/** The running DPS's host name (hub.json), which connection strings need; without one, `--hostname` must say. */
function dpsHostName(stateDir: string): string {
  const hostName = readHubInfo(resolve(stateDir))?.dps?.hostName;
  if (!hostName) {
    throw new UsageError(
      `--hostname: is required when no local DPS runs on ${resolve(stateDir)} (start the hub with --dps-host)`,
    );
  }
  return hostName;
}
