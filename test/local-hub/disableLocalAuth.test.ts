import { statSync } from "node:fs";
import { join } from "node:path";
import { IOT_HUB_TOKEN_SCOPE } from "../../lib/iothub/dataPlaneRoles";
import { TOKEN_SIGNING_KEY_FILE } from "../../local-hub/entra/signingKey";
import { hubRegistry, useSuiteHub } from "../support/suiteHub";
import {
  addPrincipal,
  bearerRequest,
  hubCredential,
  principalRegistry,
  type AddedPrincipal,
} from "./entraSupport";
import { openDeviceClient } from "./mqttSupport";
import { serviceRequest } from "./serviceRequest";

/**
 * `start --disable-local-auth`, IoT Hub's disableLocalAuth: the service API takes Entra tokens only, while devices
 * keep connecting with their SAS keys over MQTT.
 */
describe("iothub-local start --disable-local-auth", () => {
  const suite = useSuiteHub({ args: ["--disable-local-auth"] });
  let admin: AddedPrincipal;

  beforeAll(async () => {
    admin = await addPrincipal(suite.hub, "admin", ["IoT Hub Data Contributor"]);
  });

  const refusal =
    "Unauthorized: local authentication is disabled on this hub (disableLocalAuth): use a Microsoft Entra token.";

  it("says so in hub.json", () => {
    expect(suite.hub.info.disableLocalAuth).toBe(true);
  });

  it("refuses the owner policy's SAS with 401 and says why; no Authorization header alike", async () => {
    await expect(hubRegistry(suite.hub.info).list()).rejects.toMatchObject({
      name: "UnauthorizedError",
      message: refusal,
    });
    const unsigned = await serviceRequest(suite.hub.info, "GET", "/devices", undefined, {
      authorization: "",
    });
    expect(unsigned.status).toBe(401);
    expect(unsigned.headers["iothub-errorcode"]).toBe("IotHubUnauthorizedAccess");
  });

  it("refuses the CLI's service commands on the state dir (they use the owner policy), exit 1", async () => {
    const listed = await suite.hub.cli("device", "list");
    expect(listed.code).toBe(1);
    expect(listed.stderr).toContain("local authentication is disabled");
  });

  it("serves an Entra principal, and a device still connects over MQTT with its SAS key", async () => {
    const registry = principalRegistry(suite.hub.info, admin);
    const created = await registry.create({ deviceId: "sas-device" });
    const key = created.responseBody.authentication!.symmetricKey!.primaryKey!;
    const client = await openDeviceClient(suite.hub.info, { deviceId: "sas-device", key });
    try {
      const twin = await client.getTwin();
      expect(twin.properties.desired.$version).toBe(1);
      const device = await registry.get("sas-device");
      expect(device.responseBody.connectionState).toBe("Connected");
    } finally {
      await client.close();
    }
  });

  it("keeps its token-signing key (0600) across a restart: a token issued before is still accepted", async () => {
    const keyFile = join(suite.hub.stateDir, TOKEN_SIGNING_KEY_FILE);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const token = await hubCredential(suite.hub.info, admin.clientId, admin.clientSecret).getToken(
      IOT_HUB_TOKEN_SCOPE,
    );
    await suite.hub.stop();
    const restarted = await suite.hub.restart();
    expect(restarted.entra?.tenantId).toBe(admin.tenantId);
    expect((await bearerRequest(restarted, "GET", "/devices/sas-device", token.token)).status).toBe(200);
  });
});
