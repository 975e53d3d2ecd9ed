import BetterSqlite3 from "better-sqlite3";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../support/hubProcess";

/**
 * `iothub-local principal|role` on a state dir: what they print, what hub.db keeps (a digest, never the secret),
 * and what they refuse before anything is written.
 */
describe("iothub-local principal and role", () => {
  const stateDir = mkdtempSync(join(tmpdir(), "iothub-local-entra-cli-"));
  const cli = (...args: string[]) => runCli([...args, "--state", stateDir]);
  let added: { name: string; clientId: string; tenantId: string; objectId: string; clientSecret: string };

  /** Every row of the principal tables, as text: what an attacker with hub.db would find. */
  function databaseText(): string {
    const db = new BetterSqlite3(join(stateDir, "hub.db"), { readonly: true });
    try {
      const principals = db.prepare("SELECT * FROM entra_principals").all();
      const roles = db.prepare("SELECT * FROM entra_role_assignments").all();
      return JSON.stringify({ principals, roles });
    } finally {
      db.close();
    }
  }

  it("principal add prints the client id, tenant id and a secret once; hub.db keeps only a digest", async () => {
    const result = await cli("principal", "add", "deployer", "-o", "json");
    expect(result.code).toBe(0);
    added = JSON.parse(result.stdout) as typeof added;
    expect(added).toMatchObject({ name: "deployer" });
    expect(added.clientId).toMatch(/^[0-9a-f-]{36}$/);
    expect(added.tenantId).toMatch(/^[0-9a-f-]{36}$/);
    expect(added.clientSecret).toMatch(/^[A-Za-z0-9_-]{40}$/);
    expect(result.stderr).toContain("shown only now");
    expect(databaseText()).toContain(added.clientId);
    expect(databaseText()).not.toContain(added.clientSecret);

    const again = await cli("principal", "add", "other", "-o", "json");
    const other = JSON.parse(again.stdout) as typeof added;
    expect(other.tenantId).toBe(added.tenantId); // one tenant per hub
    expect(other.clientSecret).not.toBe(added.clientSecret);
  });

  it("principal list shows ids and roles, never a secret", async () => {
    const listed = await cli("principal", "list", "-o", "tsv");
    expect(listed).toMatchObject({ code: 0 });
    expect(listed.stdout.split("\n")).toHaveLength(3); // deployer, other, and the final newline
    expect(listed.stdout.split("\n")[0]).toBe(`deployer\t${added.clientId}\t${added.objectId}\t`);
    expect(listed.stdout).not.toContain(added.clientSecret);
  });

  it("role assign takes a role name in any case and stores Azure's spelling; role list shows its definition id", async () => {
    expect(await cli("role", "assign", "deployer", "--role", "iot hub registry contributor")).toMatchObject({
      code: 0,
      stdout: "assigned 'IoT Hub Registry Contributor' to deployer\n",
    });
    expect(await cli("role", "assign", "deployer", "--role", "IoT Hub Twin Contributor")).toMatchObject({
      code: 0,
    });
    expect(await cli("role", "assign", "deployer", "--role", "IoT Hub Twin Contributor")).toMatchObject({
      code: 0,
      stdout: "deployer already has 'IoT Hub Twin Contributor'\n",
    });
    const listed = await cli("role", "list", "deployer", "-o", "json");
    expect(JSON.parse(listed.stdout)).toEqual([
      {
        principal: "deployer",
        role: "IoT Hub Registry Contributor",
        roleDefinitionId: "4ea46cd5-c1b2-4a8e-910b-273211f9ce47",
        effectiveFrom: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      },
      {
        principal: "deployer",
        role: "IoT Hub Twin Contributor",
        roleDefinitionId: "494bdba2-168f-4f31-a0a1-191d2f7c028c",
        effectiveFrom: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      },
    ]);
    expect(await cli("role", "remove", "deployer", "--role", "IoT Hub Twin Contributor")).toMatchObject({
      code: 0,
      stdout: "removed 'IoT Hub Twin Contributor' from deployer\n",
    });
    const after = await cli("principal", "list", "-o", "json");
    expect(JSON.parse(after.stdout)).toContainEqual(
      expect.objectContaining({ name: "deployer", roles: ["IoT Hub Registry Contributor"] }),
    );
  });

  it("refuses names with spaces or control characters, and unknown roles with a suggestion, changing nothing", async () => {
    const before = databaseText();
    const spaced = await cli("principal", "add", "my app");
    expect(spaced).toMatchObject({ code: 2 });
    expect(spaced.stderr).toContain(
      "principal name: must be 1-64 letters, digits, '.', '_' or '-' (no spaces)",
    );
    expect((await cli("principal", "add", "a\nb")).code).toBe(2);
    expect((await cli("principal", "add", "x".repeat(65))).code).toBe(2);

    const misspelt = await cli("role", "assign", "deployer", "--role", "IoT Hub Registry Contributer");
    expect(misspelt).toMatchObject({ code: 2 });
    expect(misspelt.stderr).toContain(
      "role: 'IoT Hub Registry Contributer' is not an IoT Hub data-plane role (did you mean 'IoT Hub Registry Contributor'?)",
    );
    const owner = await cli("role", "assign", "deployer", "--role", "Owner");
    expect(owner).toMatchObject({ code: 2 });
    expect(owner.stderr).toContain("use one of 'IoT Hub Data Contributor'");
    const huge = await cli("role", "assign", "deployer", "--role", "r".repeat(10_000));
    expect(huge).toMatchObject({ code: 2 });
    expect(huge.stderr.length).toBeLessThan(1000); // the rule, not the value
    expect(databaseText()).toBe(before);
  });

  it("role assign --effective-in takes 0-3600 whole seconds and says when the role takes effect", async () => {
    const before = databaseText();
    for (const value of ["abc", "-5", "3601", "1e3", "1.5", "9".repeat(500)]) {
      const refused = await cli(
        "role",
        "assign",
        "other",
        "--role",
        "IoT Hub Data Reader",
        "--effective-in",
        value,
      );
      expect([value, refused.code]).toEqual([value, 2]);
      expect(refused.stderr).toContain("--effective-in: must be a whole number of seconds, 0-3600");
    }
    expect(databaseText()).toBe(before);
    const delayed = await cli(
      "role",
      "assign",
      "other",
      "--role",
      "IoT Hub Data Reader",
      "--effective-in",
      "600",
    );
    expect(delayed).toMatchObject({
      code: 0,
      stdout: "assigned 'IoT Hub Data Reader' to other (in effect in 600 s)\n",
    });
    const [listed] = JSON.parse((await cli("role", "list", "other", "-o", "json")).stdout) as Array<{
      effectiveFrom: string;
    }>;
    // Ten minutes on from about now (the CLI's clock is this machine's).
    expect(Date.parse(listed.effectiveFrom) - Date.now()).toBeGreaterThan(500_000);
  });

  it("fails (exit 1) for a principal or an assignment that does not exist", async () => {
    expect(await cli("role", "assign", "nobody", "--role", "IoT Hub Data Reader")).toMatchObject({
      code: 1,
      stderr: "iothub-local: principal 'nobody' does not exist\n",
    });
    expect(await cli("role", "remove", "deployer", "--role", "IoT Hub Data Reader")).toMatchObject({
      code: 1,
      stderr: "iothub-local: deployer does not have 'IoT Hub Data Reader'\n",
    });
    expect((await cli("principal", "add", "deployer")).code).toBe(1);
    expect((await cli("principal", "remove", "nobody")).code).toBe(1);
  });

  it("principal remove takes its role assignments with it", async () => {
    expect(await cli("principal", "remove", "deployer")).toMatchObject({
      code: 0,
      stdout: "removed deployer\n",
    });
    expect(databaseText()).not.toContain("deployer");
  });

  it("start refuses an --entra-port that is no port, naming the flag, before anything is written", async () => {
    const fresh = mkdtempSync(join(tmpdir(), "iothub-local-entra-port-"));
    for (const value of ["70000", "-1", "0x50", "port", "4".repeat(1000)]) {
      const result = await runCli(["start", "--state", fresh, "--host", "127.0.0.1", "--entra-port", value]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("--entra-port: '");
      expect(result.stderr).toContain("' must be a port number 0-65535");
    }
    expect(existsSync(join(fresh, "hub.db"))).toBe(false);
    expect(existsSync(join(fresh, "token-signing-key.pem"))).toBe(false);
  });

  it("refuses a state dir without hub.db for every command but principal add", async () => {
    const empty = mkdtempSync(join(tmpdir(), "iothub-local-entra-empty-"));
    const listed = await runCli(["principal", "list", "--state", empty]);
    expect(listed.code).toBe(1);
    expect(listed.stderr).toContain("no local hub state in");
  });
});
