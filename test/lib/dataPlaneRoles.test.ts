import {
  DATA_ACTIONS,
  DATA_PLANE_ROLES,
  checkPrincipalName,
  checkRoleName,
  findRole,
  patternGrants,
  rolesGrant,
} from "../../lib/iothub/dataPlaneRoles";

const role = (name: string) => {
  const found = findRole(name);
  if (!found) throw new Error(`no role ${name}`);
  return found;
};

describe("IoT Hub's data-plane roles", () => {
  it("grant exactly the data actions Azure's built-in roles name", () => {
    const registry = role("IoT Hub Registry Contributor");
    expect(rolesGrant([registry], DATA_ACTIONS.devicesWrite)).toBe(true);
    expect(rolesGrant([registry], DATA_ACTIONS.devicesDelete)).toBe(true);
    expect(rolesGrant([registry], DATA_ACTIONS.twinsRead)).toBe(false);

    const twins = role("IoT Hub Twin Contributor");
    expect(rolesGrant([twins], DATA_ACTIONS.twinsWrite)).toBe(true);
    expect(rolesGrant([twins], DATA_ACTIONS.devicesWrite)).toBe(false);
    expect(rolesGrant([twins], DATA_ACTIONS.devicesRead)).toBe(false);

    const reader = role("IoT Hub Data Reader");
    for (const action of [DATA_ACTIONS.devicesRead, DATA_ACTIONS.twinsRead, DATA_ACTIONS.statisticsRead]) {
      expect(rolesGrant([reader], action)).toBe(true);
    }
    expect(rolesGrant([reader], DATA_ACTIONS.devicesWrite)).toBe(false);
    expect(rolesGrant([reader], DATA_ACTIONS.directMethodsInvoke)).toBe(false);

    const contributor = role("IoT Hub Data Contributor");
    for (const action of Object.values(DATA_ACTIONS)) expect(rolesGrant([contributor], action)).toBe(true);
    expect(rolesGrant([], DATA_ACTIONS.devicesRead)).toBe(false);
  });

  it("match patterns as Azure does: case-insensitive, * over any text, the whole action", () => {
    expect(patternGrants("Microsoft.Devices/IotHubs/*/read", "microsoft.devices/iothubs/twins/read")).toBe(
      true,
    );
    expect(patternGrants("Microsoft.Devices/IotHubs/*/read", "Microsoft.Devices/IotHubs/twins/write")).toBe(
      false,
    );
    expect(patternGrants("Microsoft.Devices/IotHubs/devices/*", "Microsoft.Devices/IotHubs/devices")).toBe(
      false,
    );
    expect(
      patternGrants("Microsoft.Devices/IotHubs/devices/read", "Microsoft.Devices/IotHubs/devices/readx"),
    ).toBe(false);
    expect(patternGrants("ab*ba", "aba")).toBe(false);
    expect(patternGrants("a*b*c", "axxbyyc")).toBe(true);
    expect(patternGrants("a*b*c", "axxcyyb")).toBe(false);
  });

  it("are found by name without regard to case, each with its Azure role definition id", () => {
    expect(findRole("iot hub twin contributor")?.name).toBe("IoT Hub Twin Contributor");
    expect(new Set(DATA_PLANE_ROLES.map((r) => r.definitionId)).size).toBe(4);
    for (const r of DATA_PLANE_ROLES)
      expect(r.definitionId).toMatch(/^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/);
  });

  it("refuse an unknown role name with the closest role, or the list when nothing is close", () => {
    expect(checkRoleName("IoT Hub Registry Contributer")).toEqual([
      {
        field: "role",
        rule: "'IoT Hub Registry Contributer' is not an IoT Hub data-plane role (did you mean 'IoT Hub Registry Contributor'?)",
      },
    ]);
    const [unknown] = checkRoleName("Owner");
    expect(unknown.rule).toContain("use one of 'IoT Hub Data Contributor', 'IoT Hub Data Reader'");
    const [huge] = checkRoleName("x".repeat(100_000));
    expect(huge.rule).toMatch(/^is not an IoT Hub data-plane role; use one of/);
    expect(checkRoleName(42)).toEqual([{ field: "role", rule: "must be a string" }]);
  });

  it("refuse principal names with spaces, control characters, over 64 characters or empty", () => {
    expect(checkPrincipalName("deployer-1.ci_x")).toEqual([]);
    for (const bad of ["my app", "", "a".repeat(65), "a\nb", "ünï"]) {
      expect(checkPrincipalName(bad)).toEqual([
        { field: "principal name", rule: "must be 1-64 letters, digits, '.', '_' or '-' (no spaces)" },
      ]);
    }
  });
});
