import { useSuiteHub } from "../support/suiteHub";
import { connected, end, nextMessage, rawMqttClient, subscribe, type ModuleIdentity } from "./mqttSupport";

// Clean-session connects against a real hub process: a subscription acknowledged right after CONNACK is in the
// session for the whole connection, however soon the client subscribes and however many connect at once.

const suite = useSuiteHub();

const CYCLES = 2000;
const PARALLEL = 100;

async function createDevice(deviceId: string): Promise<ModuleIdentity> {
  await suite.registry.create({ deviceId });
  const device = (await suite.registry.get(deviceId)).responseBody;
  return { deviceId, key: device.authentication!.symmetricKey!.primaryKey! };
}

/** One clean connect: SUBSCRIBE the twin answers, GET the twin, resolve with the answer's topic, disconnect. */
async function connectSubscribeGet(identity: ModuleIdentity, rid: number): Promise<string> {
  const client = rawMqttClient(suite.hub.info, identity, { clean: true });
  try {
    await connected(client);
    expect(await subscribe(client, "$iothub/twin/res/#")).toBe(0);
    const answer = nextMessage(client);
    client.publish(`$iothub/twin/GET/?$rid=${rid}`, "", { qos: 0 });
    return (await answer).topic;
  } finally {
    await end(client);
  }
}

describe("clean MQTT sessions", () => {
  it(`answers the twin GET of each of ${CYCLES} clean connect/subscribe/GET cycles, ${PARALLEL} at a time`, async () => {
    const identities = await Promise.all(
      Array.from({ length: PARALLEL }, (_, index) => createDevice(`clean-${index}`)),
    );
    const answers: string[] = [];
    let started = 0;
    // Each identity runs its cycles one after the other (one connection per identity at a time, as a device).
    await Promise.all(
      identities.map(async (identity) => {
        while (started < CYCLES) {
          const rid = ++started;
          const topic = await connectSubscribeGet(identity, rid);
          if (topic === `$iothub/twin/res/200/?$rid=${rid}`) answers.push(topic);
        }
      }),
    );

    expect(started).toBe(CYCLES);
    expect(answers).toHaveLength(CYCLES);
  });
});
