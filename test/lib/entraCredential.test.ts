import { ClientSecretCredential, DefaultAzureCredential } from "@azure/identity";
import { contributorRoleFor, DATA_ACTIONS } from "../../lib/iothub/dataPlaneRoles";
import { checkEntraCredentialSettings, entraCredential } from "../../lib/iothub/entraCredential";

/** Which credential the Entra settings make, and the rules on them (the provider tests use them on a hub). */
describe("entraCredential", () => {
  const local = {
    authorityHost: "https://127.0.0.9:4443",
    tenantId: "11111111-2222-3333-4444-555555555555",
    clientId: "66666666-7777-8888-9999-000000000000",
  };

  it("is DefaultAzureCredential without an authority (az login, workload identity, managed identity)", () => {
    expect(entraCredential(undefined)).toBeInstanceOf(DefaultAzureCredential);
    expect(entraCredential({ tenantId: local.tenantId })).toBeInstanceOf(DefaultAzureCredential);
  });

  it("is a ClientSecretCredential for an authority of its own, one per principal and secret in the process", () => {
    const first = entraCredential({ ...local, clientSecret: "s1" });
    expect(first).toBeInstanceOf(ClientSecretCredential);
    expect(entraCredential({ ...local, clientSecret: "s1" })).toBe(first);
    expect(entraCredential({ ...local, clientSecret: "s2" })).not.toBe(first);
  });

  it("takes AZURE_CLIENT_SECRET when no secret is given, and says what is missing when neither is", () => {
    expect(entraCredential(local, undefined, { AZURE_CLIENT_SECRET: "from-env" })).toBeInstanceOf(
      ClientSecretCredential,
    );
    expect(() => entraCredential(local, undefined, {})).toThrow(
      "entra.clientSecret: is required with authorityHost (a Pulumi secret), unless AZURE_CLIENT_SECRET is set",
    );
  });

  it("refuses settings against their rules, naming the key, never the value", () => {
    expect(() => entraCredential({ ...local, authorityHost: "https://user:pw@host" })).toThrow(
      /entra\.authorityHost: must be an https URL/,
    );
    expect(checkEntraCredentialSettings({ clientSecret: "x" })).toEqual([
      { field: "entra.clientSecret", rule: expect.stringContaining("is used only with authorityHost") },
    ]);
    expect(checkEntraCredentialSettings({ ...local, authorityHost: `https://${"a".repeat(3000)}` })).toEqual([
      { field: "entra.authorityHost", rule: expect.stringContaining("https URL") },
    ]);
    expect(checkEntraCredentialSettings([])).toEqual([{ field: "entra", rule: "must be an object" }]);
  });
});

describe("contributorRoleFor", () => {
  it("names the role a provisioner needs for each data action it uses", () => {
    expect(contributorRoleFor(DATA_ACTIONS.devicesWrite).name).toBe("IoT Hub Registry Contributor");
    expect(contributorRoleFor(DATA_ACTIONS.devicesRead).name).toBe("IoT Hub Registry Contributor");
    expect(contributorRoleFor(DATA_ACTIONS.twinsWrite).name).toBe("IoT Hub Twin Contributor");
    expect(contributorRoleFor(DATA_ACTIONS.configurationsWrite).name).toBe("IoT Hub Data Contributor");
  });
});
