import { spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { IOT_HUB_TOKEN_SCOPE } from "../../lib/iothub/dataPlaneRoles";
import { issueAccessToken } from "../../local-hub/entra/accessToken";
import { signJwt } from "../../local-hub/entra/jwt";
import { ensureTokenSigningKey } from "../../local-hub/entra/signingKey";
import type { HubInfo } from "../../local-hub/stateDir";
import { collectOutput, PROJECT_ROOT } from "../support/hubProcess";
import { useSuiteHub } from "../support/suiteHub";
import { serviceRequest } from "./serviceRequest";
import {
  addPrincipal,
  authorityOf,
  bearerRequest,
  hubCredential,
  principalRegistry,
  type AddedPrincipal,
} from "./entraSupport";

/**
 * Entra ID on the local hub with the real @azure/identity ClientSecretCredential and the service SDK's Registry on
 * it: roles decide what a principal may do, and a token that is expired, for another audience, tampered with, or
 * signed by another key gets IoT Hub's 401.
 */
describe("Entra ID principals on the service API", () => {
  const suite = useSuiteHub();
  let registryContributor: AddedPrincipal;
  let twinContributor: AddedPrincipal;

  beforeAll(async () => {
    registryContributor = await addPrincipal(suite.hub, "provisioner", ["IoT Hub Registry Contributor"]);
    twinContributor = await addPrincipal(suite.hub, "twin-writer", ["IoT Hub Twin Contributor"]);
  });

  const entraRegistry = (principal: AddedPrincipal) => principalRegistry(suite.hub.info, principal);

  it("hub.json names the authority and tenant that principal add printed", () => {
    const authority = authorityOf(suite.hub.info);
    expect(authority.tenantId).toBe(registryContributor.tenantId);
    expect(authority.authorityHost).toMatch(
      new RegExp(`^https://${suite.hub.info.hostName.replace(/\./g, "\\.")}:\\d+$`),
    );
  });

  it("a Registry Contributor creates, lists and deletes devices", async () => {
    const registry = entraRegistry(registryContributor);
    const created = await registry.create({ deviceId: "entra-made" });
    expect(created.responseBody.deviceId).toBe("entra-made");
    const listed = await registry.list();
    expect(listed.responseBody.map((device) => device.deviceId)).toContain("entra-made");
    await registry.delete("entra-made");
    await expect(suite.registry.get("entra-made")).rejects.toMatchObject({ name: "DeviceNotFoundError" });
  });

  it("Registry.fromTokenCredential itself works, in a process that trusts the hub's CA by NODE_EXTRA_CA_CERTS", async () => {
    // The SDK's own constructor installs an agent that trusts only Node's roots and NODE_EXTRA_CA_CERTS, and the
    // credential then needs no tlsOptions either: the plain way a user's script meets the local hub.
    const script = `
      const { ClientSecretCredential } = require("@azure/identity");
      const { Registry } = require("azure-iothub");
      const env = process.env;
      const credential = new ClientSecretCredential(env.TENANT_ID, env.CLIENT_ID, env.CLIENT_SECRET, {
        authorityHost: env.AUTHORITY_HOST, disableInstanceDiscovery: true });
      const registry = Registry.fromTokenCredential(env.HUB_HOST, credential);
      registry.create({ deviceId: "sdk-made" })
        .then((created) => registry.delete("sdk-made").then(() => console.log("made " + created.responseBody.deviceId)))
        .then(() => process.exit(0), (error) => { console.error(error.name + ": " + error.message); process.exit(1); });`;
    const { authorityHost, tenantId } = authorityOf(suite.hub.info);
    const child = spawn(process.execPath, ["-e", script], {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        NODE_EXTRA_CA_CERTS: suite.hub.info.caFile,
        TENANT_ID: tenantId,
        CLIENT_ID: registryContributor.clientId,
        CLIENT_SECRET: registryContributor.clientSecret,
        AUTHORITY_HOST: authorityHost,
        HUB_HOST: suite.hub.info.hostName,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    expect(await collectOutput(child)).toMatchObject({ code: 0, stdout: "made sdk-made\n" });
  });

  it("a Registry Contributor cannot read twins: 401 naming twins/read, the roles that grant it and its own", async () => {
    const registry = entraRegistry(registryContributor);
    await suite.registry.create({ deviceId: "twin-target" });
    await expect(registry.getTwin("twin-target")).rejects.toMatchObject({
      name: "UnauthorizedError",
      message:
        "Unauthorized: principal 'provisioner' lacks the data action Microsoft.Devices/IotHubs/twins/read, which IoT Hub Data Contributor, IoT Hub Data Reader or IoT Hub Twin Contributor grants (its roles: IoT Hub Registry Contributor).",
    });
  });

  it("a Twin Contributor reads and updates twins but cannot create devices (401 naming devices/write and its roles)", async () => {
    const registry = entraRegistry(twinContributor);
    const twin = await registry.getTwin("twin-target");
    expect(twin.responseBody.deviceId).toBe("twin-target");
    await registry.updateTwin("twin-target", { properties: { desired: { interval: 30 } } }, "*");
    const updated = await suite.registry.getTwin("twin-target");
    expect(updated.responseBody.properties.desired.interval).toBe(30);

    await expect(registry.create({ deviceId: "not-allowed" })).rejects.toMatchObject({
      name: "UnauthorizedError",
      message:
        "Unauthorized: principal 'twin-writer' lacks the data action Microsoft.Devices/IotHubs/devices/write, which IoT Hub Data Contributor or IoT Hub Registry Contributor grants (its roles: IoT Hub Twin Contributor).",
    });
    await expect(suite.registry.get("not-allowed")).rejects.toMatchObject({ name: "DeviceNotFoundError" });
  });

  it("the error body is IoT Hub's: 401, IotHubUnauthorizedAccess in the header and the Message", async () => {
    const token = await hubCredential(
      suite.hub.info,
      twinContributor.clientId,
      twinContributor.clientSecret,
    ).getToken(IOT_HUB_TOKEN_SCOPE);
    const answer = await bearerRequest(suite.hub.info, "GET", "/devices/twin-target", token.token);
    expect(answer.status).toBe(401);
    expect(answer.headers["iothub-errorcode"]).toBe("IotHubUnauthorizedAccess");
    expect(JSON.parse(answer.text)).toMatchObject({
      Message: expect.stringMatching(
        /^ErrorCode:IotHubUnauthorizedAccess;Unauthorized: principal 'twin-writer' lacks the data action Microsoft\.Devices\/IotHubs\/devices\/read/,
      ),
    });
  });

  it("a role assigned or removed with the CLI counts at the principal's next request", async () => {
    const reader = await addPrincipal(suite.hub, "late-reader");
    const registry = entraRegistry(reader);
    await expect(registry.get("twin-target")).rejects.toMatchObject({
      message:
        "Unauthorized: principal 'late-reader' lacks the data action Microsoft.Devices/IotHubs/devices/read, which IoT Hub Data Contributor, IoT Hub Data Reader or IoT Hub Registry Contributor grants (its roles: none).",
    });
    expect((await suite.hub.cli("role", "assign", "late-reader", "--role", "IoT Hub Data Reader")).code).toBe(
      0,
    );
    expect((await registry.get("twin-target")).responseBody.deviceId).toBe("twin-target");
    expect((await registry.getTwin("twin-target")).responseBody.deviceId).toBe("twin-target");
    await expect(registry.create({ deviceId: "reader-made" })).rejects.toMatchObject({
      name: "UnauthorizedError",
    });

    expect((await suite.hub.cli("role", "remove", "late-reader", "--role", "IoT Hub Data Reader")).code).toBe(
      0,
    );
    await expect(registry.get("twin-target")).rejects.toMatchObject({ name: "UnauthorizedError" });
  });

  it("a role assigned to take effect later grants nothing yet, and the 401 says from when it will", async () => {
    const waiting = await addPrincipal(suite.hub, "waiting");
    const assigned = await suite.hub.cli(
      "role",
      "assign",
      "waiting",
      "--role",
      "IoT Hub Data Reader",
      "--effective-in",
      "3600",
    );
    expect(assigned.code).toBe(0);
    await expect(entraRegistry(waiting).get("twin-target")).rejects.toMatchObject({
      name: "UnauthorizedError",
      message: expect.stringMatching(
        /^Unauthorized: principal 'waiting' lacks the data action Microsoft\.Devices\/IotHubs\/devices\/read, which .* grants \(its roles: none, IoT Hub Data Reader from \d{4}-\d\d-\d\dT[\d:.]+Z\)\.$/,
      ),
    });
  });

  it("a removed principal's token is refused at once, though it has not expired", async () => {
    const leaving = await addPrincipal(suite.hub, "leaving", ["IoT Hub Data Contributor"]);
    const registry = entraRegistry(leaving);
    expect((await registry.list()).responseBody).toEqual(expect.any(Array));
    expect((await suite.hub.cli("principal", "remove", "leaving")).code).toBe(0);
    await expect(registry.list()).rejects.toMatchObject({
      name: "UnauthorizedError",
      message: "Unauthorized: invalid Microsoft Entra token.",
    });
  });

  describe("tokens the hub must refuse", () => {
    /** The issuer the hub's tokens carry: its host name without the token endpoint's port. */
    const issuerOf = (info: HubInfo) => `https://${info.hostName}/${authorityOf(info).tenantId}/`;

    /** A token as the hub would issue it for the Registry Contributor, with `claims` changed. */
    function forgedToken(claims: Record<string, unknown>, now = Date.now()): string {
      const key = ensureTokenSigningKey(suite.hub.stateDir);
      const genuine = issueAccessToken(
        {
          name: "provisioner",
          clientId: registryContributor.clientId,
          objectId: registryContributor.objectId,
          roles: [],
          effectiveAtMs: {},
        },
        { ...authorityOf(suite.hub.info), tokenIssuer: issuerOf(suite.hub.info) },
        key,
        now,
      );
      const payload = JSON.parse(Buffer.from(genuine.split(".")[1], "base64url").toString()) as Record<
        string,
        unknown
      >;
      return signJwt({ ...payload, ...claims }, key.privateKey, key.keyId);
    }

    const list = (token: string) => bearerRequest(suite.hub.info, "GET", "/devices", token);

    it("accepts the hub's own token (the forgeries below differ from it in one thing each), scheme in any case", async () => {
      expect((await list(forgedToken({}))).status).toBe(200);
      const lowercase = await serviceRequest(suite.hub.info, "GET", "/devices", undefined, {
        authorization: `bearer ${forgedToken({})}`,
      });
      expect(lowercase.status).toBe(200);
    });

    it("an expired token: 401 saying it expired", async () => {
      const answer = await list(forgedToken({}, Date.now() - 2 * 3600 * 1000));
      expect(answer.status).toBe(401);
      expect(JSON.parse(answer.text).Message).toBe(
        "ErrorCode:IotHubUnauthorizedAccess;Unauthorized: the Microsoft Entra token has expired.",
      );
    });

    it("a token for another audience, another issuer or without a principal: 401", async () => {
      for (const claims of [
        { aud: "https://management.azure.com" },
        { aud: "https://iothubs.azure.net/" },
        { iss: `https://${suite.hub.info.hostName}/00000000-0000-0000-0000-000000000000/` },
        { iss: `${authorityOf(suite.hub.info).authorityHost}/${authorityOf(suite.hub.info).tenantId}/v2.0` },
        { oid: undefined },
        { exp: "never" },
        { nbf: Math.floor(Date.now() / 1000) + 3600 },
      ]) {
        const answer = await list(forgedToken(claims));
        expect({ claims, status: answer.status }).toEqual({ claims, status: 401 });
        expect(JSON.parse(answer.text).Message).toBe(
          "ErrorCode:IotHubUnauthorizedAccess;Unauthorized: invalid Microsoft Entra token.",
        );
      }
    });

    it("a tampered signature, tampered claims, another key, alg none or no JWT at all: 401", async () => {
      const genuine = (
        await hubCredential(
          suite.hub.info,
          registryContributor.clientId,
          registryContributor.clientSecret,
        ).getToken(IOT_HUB_TOKEN_SCOPE)
      ).token;
      const [header, payload, signature] = genuine.split(".");
      const flipped = signature.slice(0, 10) + (signature[10] === "A" ? "B" : "A") + signature.slice(11);
      const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as Record<string, unknown>;
      const otherPayload = Buffer.from(JSON.stringify({ ...claims, oid: twinContributor.objectId })).toString(
        "base64url",
      );
      const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
      const kid = (JSON.parse(Buffer.from(header, "base64url").toString()) as { kid: string }).kid;
      const none = Buffer.from(JSON.stringify({ alg: "none", kid })).toString("base64url");
      for (const token of [
        `${header}.${payload}.${flipped}`,
        `${header}.${otherPayload}.${signature}`,
        signJwt(claims, privateKey, kid),
        `${none}.${payload}.`,
        `${none}.${payload}.${signature}`,
        "not-a-jwt",
        "a.b.c.d",
        `${header}.${payload}.${signature}`.repeat(10),
      ]) {
        const answer = await list(token);
        expect(answer.status).toBe(401);
      }
      expect((await list(genuine)).status).toBe(200);
    });
  });

  it("a wrong client secret gets Entra's invalid_client from the token endpoint, and no token", async () => {
    const credential = hubCredential(suite.hub.info, registryContributor.clientId, "not-the-secret");
    await expect(credential.getToken(IOT_HUB_TOKEN_SCOPE)).rejects.toThrow(
      /AADSTS7000215: Invalid client secret provided/,
    );
    const unknown = hubCredential(suite.hub.info, "00000000-0000-0000-0000-000000000001", "x");
    await expect(unknown.getToken(IOT_HUB_TOKEN_SCOPE)).rejects.toThrow(/AADSTS700016/);
  });

  it("the hub's log names principals but never a client secret or a token", async () => {
    const token = await hubCredential(
      suite.hub.info,
      registryContributor.clientId,
      registryContributor.clientSecret,
    ).getToken(IOT_HUB_TOKEN_SCOPE);
    const output = suite.hub.output();
    expect(output).toContain("entra: issued a token to principal 'provisioner'");
    for (const secret of [registryContributor.clientSecret, twinContributor.clientSecret, token.token]) {
      expect(output).not.toContain(secret);
    }
    expect(output).not.toContain(token.token.split(".")[2]);
  });
});
