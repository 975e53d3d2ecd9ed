import type { Command } from "commander";
import { checkPrincipalName, checkRoleName, findRole } from "../../lib/iothub/dataPlaneRoles";
import { PrincipalStore, type Principal } from "../persistence/principalStore";
import { refuseViolations, UsageError } from "./commandLine";
import { stateOption, withDatabase } from "./hubCommands";
import { outputOption, printOutput, type OutputFormat } from "./output";

/**
 * `principal add|list|remove` and `role assign|list|remove`: the Entra ID principals the local hub issues tokens
 * for and their data-plane roles at the hub's scope, in hub.db (a running hub sees changes at once). Names and
 * roles are checked before hub.db is opened, so a refused command changes nothing. A client secret is printed once,
 * by `principal add`; hub.db keeps only its digest.
 */

interface StateFlags {
  state: string;
  output?: OutputFormat;
}

interface RoleFlags extends StateFlags {
  role: string;
  effectiveIn?: string;
}

/** Azure documents up to 10 minutes for a role assignment to take effect; an hour bounds the simulation. */
const MAX_EFFECTIVE_IN_SECONDS = 3600;

function parseEffectiveIn(value: string | undefined): number {
  if (value === undefined) return 0;
  const seconds = Number(value);
  if (!/^\d{1,4}$/.test(value) || seconds > MAX_EFFECTIVE_IN_SECONDS) {
    throw new UsageError(`--effective-in: must be a whole number of seconds, 0-${MAX_EFFECTIVE_IN_SECONDS}`);
  }
  return seconds;
}

export function addEntraCommands(program: Command): void {
  addPrincipalCommands(program);
  addRoleCommands(program);
}

function addPrincipalCommands(program: Command): void {
  const principal = program
    .command("principal")
    .description("Entra ID principals (client id + secret) the hub's token endpoint issues tokens for");
  principal
    .command("add <name>")
    .description("register a principal; prints its client id, tenant id and client secret (shown only now)")
    .addOption(stateOption())
    .addOption(outputOption())
    .action((name: string, flags: StateFlags) => {
      refuseViolations(checkPrincipalName(name));
      const { added, tenantId } = withDatabase(
        flags.state,
        (db) => {
          const store = new PrincipalStore(db);
          return { added: store.add(name), tenantId: store.tenantId() };
        },
        { create: true },
      );
      const shown = {
        name: added.principal.name,
        clientId: added.principal.clientId,
        tenantId,
        objectId: added.principal.objectId,
        clientSecret: added.clientSecret,
      };
      printOutput(
        shown,
        [
          { header: "Name", value: (row) => row.name },
          { header: "ClientId", value: (row) => row.clientId },
          { header: "TenantId", value: (row) => row.tenantId },
          { header: "ClientSecret", value: (row) => row.clientSecret },
        ],
        flags.output,
      );
      console.error("iothub-local: the client secret is shown only now; the hub keeps only its digest");
    });
  principal
    .command("list")
    .description("list principals and their roles (never a secret)")
    .addOption(stateOption())
    .addOption(outputOption())
    .action((flags: StateFlags) => {
      const principals = withDatabase(flags.state, (db) => new PrincipalStore(db).list());
      printOutput<Principal>(
        principals,
        [
          { header: "Name", value: (row) => row.name },
          { header: "ClientId", value: (row) => row.clientId },
          { header: "ObjectId", value: (row) => row.objectId },
          { header: "Roles", value: (row) => row.roles.join(", ") },
        ],
        flags.output,
      );
    });
  principal
    .command("remove <name>")
    .description("remove a principal and its role assignments; its tokens stop working at once")
    .addOption(stateOption())
    .action((name: string, flags: StateFlags) => {
      refuseViolations(checkPrincipalName(name));
      const removed = withDatabase(flags.state, (db) => new PrincipalStore(db).remove(name));
      if (!removed) throw new Error(`principal '${name}' does not exist`);
      console.log(`removed ${name}`);
    });
}

function addRoleCommands(program: Command): void {
  const role = program
    .command("role")
    .description("data-plane role assignments of principals at the hub's scope");
  role
    .command("assign <principal>")
    .description("assign a built-in IoT Hub role to a principal")
    .requiredOption("--role <role>", 'e.g. "IoT Hub Registry Contributor"')
    .option(
      "--effective-in <seconds>",
      "the assignment takes effect this many seconds from now, as Azure's propagate (default 0)",
    )
    .addOption(stateOption())
    .action((name: string, flags: RoleFlags) => {
      refuseViolations([...checkPrincipalName(name), ...checkRoleName(flags.role)]);
      const delaySeconds = parseEffectiveIn(flags.effectiveIn);
      const roleName = findRole(flags.role)!.name;
      const added = withDatabase(flags.state, (db) =>
        new PrincipalStore(db).assign(name, roleName, delaySeconds * 1000),
      );
      const when = delaySeconds > 0 ? ` (in effect in ${delaySeconds} s)` : "";
      console.log(added ? `assigned '${roleName}' to ${name}${when}` : `${name} already has '${roleName}'`);
    });
  role
    .command("list [principal]")
    .description("list role assignments (of one principal, or all)")
    .addOption(stateOption())
    .addOption(outputOption())
    .action((name: string | undefined, flags: StateFlags) => {
      if (name !== undefined) refuseViolations(checkPrincipalName(name));
      const principals = withDatabase(flags.state, (db) => {
        const store = new PrincipalStore(db);
        if (name === undefined) return store.list();
        const one = store.get(name);
        if (!one) throw new Error(`principal '${name}' does not exist`);
        return [one];
      });
      const assignments = principals.flatMap((principal) =>
        principal.roles.map((roleName) => ({
          principal: principal.name,
          role: roleName,
          roleDefinitionId: findRole(roleName)!.definitionId,
          effectiveFrom: new Date(principal.effectiveAtMs[roleName]).toISOString(),
        })),
      );
      printOutput(
        assignments,
        [
          { header: "Principal", value: (row) => row.principal },
          { header: "Role", value: (row) => row.role },
          { header: "RoleDefinitionId", value: (row) => row.roleDefinitionId },
          { header: "EffectiveFrom", value: (row) => row.effectiveFrom },
        ],
        flags.output,
      );
    });
  role
    .command("remove <principal>")
    .description("remove a role assignment; the principal's next request is judged without it")
    .requiredOption("--role <role>", "the role to remove")
    .addOption(stateOption())
    .action((name: string, flags: RoleFlags) => {
      refuseViolations([...checkPrincipalName(name), ...checkRoleName(flags.role)]);
      const roleName = findRole(flags.role)!.name;
      const removed = withDatabase(flags.state, (db) => new PrincipalStore(db).unassign(name, roleName));
      if (!removed) throw new Error(`${name} does not have '${roleName}'`);
      console.log(`removed '${roleName}' from ${name}`);
    });
}
