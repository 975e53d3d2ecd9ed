import { readFileSync } from "node:fs";
import { ModuleClient } from "azure-iot-device";
import { Mqtt } from "azure-iot-device-mqtt";
import { useSuiteHub } from "../support/suiteHub";
import {
  closed,
  connected,
  connectionStringOf,
  createModule,
  end,
  listenForDesired,
  nextDesired,
  nextMessage,
  rawMqttClient,
  selfSignedCertificate,
  subscribe,
} from "./mqttSupport";

// IoT Hub ends an MQTT connection when the SAS token it connected with expires; the device SDK renews its token and
// connects again. X.509 connections have no token to expire.

const suite = useSuiteHub();

/** A token's `se` that many seconds from now (whole seconds, as the SDKs send it). */
const seIn = (seconds: number): number => Math.floor(Date.now() / 1000) + seconds;
const expiryLine = (clientId: string): RegExp =>
  new RegExp(`mqtt: closing ${clientId.replace("/", "\\/")}: its SAS token has expired`);

describe("SAS token expiry on MQTT", () => {
  it("closes a connection when its token's se passes, and leaves an X.509 connection open", async () => {
    const certificate = selfSignedCertificate("expiry-x509");
    await suite.registry.create({
      deviceId: "expiry-x509",
      authentication: { type: "selfSigned", x509Thumbprint: { primaryThumbprint: certificate.sha1 } },
    });
    const certificateClient = rawMqttClient(
      suite.hub.info,
      { deviceId: "expiry-x509", key: "" },
      { certificate: { cert: certificate.cert, key: certificate.key } },
    );
    await connected(certificateClient);

    const identity = await createModule(suite.registry, "expiry-sas", "m1");
    const se = seIn(2);
    const logged = suite.hub.waitForOutput(expiryLine("expiry-sas/m1"));
    const client = rawMqttClient(suite.hub.info, identity, { tokenExpiry: se });
    await connected(client);
    await closed(client);
    await logged; // closed by the hub, for this reason
    expect(Date.now()).toBeGreaterThanOrEqual(se * 1000); // not before the token expired
    await end(client);

    // The X.509 connection, older than the expired one, is still served.
    expect(certificateClient.connected).toBe(true);
    await subscribe(certificateClient, "$iothub/twin/res/#");
    const answer = nextMessage(certificateClient);
    certificateClient.publish("$iothub/twin/GET/?$rid=1", "", { qos: 1 });
    expect((await answer).topic).toMatch(/^\$iothub\/twin\/res\/200\//);
    await end(certificateClient);
  });

  it("leaves no timer behind for a connection the client closed before its token expired", async () => {
    const early = await createModule(suite.registry, "expiry-early", "m1");
    const later = await createModule(suite.registry, "expiry-later", "m1");
    const earlyClient = rawMqttClient(suite.hub.info, early, { tokenExpiry: seIn(2) });
    await connected(earlyClient);
    await end(earlyClient);

    // A timer left for the closed connection would fire (and log) before this later token expires.
    const laterClosed = suite.hub.waitForOutput(expiryLine("expiry-later/m1"));
    const laterClient = rawMqttClient(suite.hub.info, later, { tokenExpiry: seIn(3) });
    await connected(laterClient);
    await laterClosed;
    await end(laterClient);
    expect(suite.hub.output()).not.toMatch(expiryLine("expiry-early/m1"));
  });

  it("the SDK with a short token lifetime renews and reconnects before expiry, and keeps receiving desired pushes", async () => {
    const identity = await createModule(suite.registry, "expiry-sdk", "m1");
    const marker = await createModule(suite.registry, "expiry-marker", "m1");
    const client = ModuleClient.fromConnectionString(connectionStringOf(suite.hub.info, identity), Mqtt);
    client.on("error", () => undefined);
    try {
      await client.setOptions({
        ca: readFileSync(suite.hub.info.caFile, "utf8"),
        // Tokens valid for 4 s, renewed every 2 s (4 - 2): the SDK reconnects with each new token.
        tokenRenewal: { tokenValidTimeInSeconds: 4, tokenRenewalMarginInSeconds: 2 },
      });
      await client.open();
      const twin = await client.getTwin();
      await listenForDesired(twin, () => undefined);

      for (const round of [1, 2]) {
        // A raw client whose token expires no earlier than the SDK's current one: once the hub has closed it,
        // the SDK's token of that moment has expired too.
        const markerClient = rawMqttClient(suite.hub.info, marker, { tokenExpiry: seIn(4) });
        await connected(markerClient);
        await closed(markerClient);
        await end(markerClient);

        const version = (twin.properties.desired as { $version: number }).$version;
        const pushed = nextDesired(twin, version);
        await suite.registry.updateModuleTwin(
          identity.deviceId,
          identity.moduleId!,
          { properties: { desired: { round } } },
          "*",
        );
        expect(await pushed).toMatchObject({ round });
      }
      // It renewed in time: the hub never had to close its connection.
      expect(suite.hub.output()).not.toMatch(expiryLine("expiry-sdk/m1"));
    } finally {
      await client.close();
    }
  });
});
