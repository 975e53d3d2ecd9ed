import { readFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { connect } from "node:tls";
import { setTimeout as delay } from "node:timers/promises";
import { createSasToken, parseConnectionString } from "../../lib/iothub/sas";
import { useSuiteHub } from "../support/suiteHub";

// The service SDK keeps idle HTTPS connections and reuses them: the hub keeps them open for minutes, as IoT Hub
// does, while a client that never finishes its request is still cut off.

const suite = useSuiteHub();

interface Answer {
  status: number;
  keepAlive: string | string[] | undefined;
  localPort: number | undefined;
  reusedSocket: boolean;
}

/** GET /devices with the owner policy over `agent`; reports which local port carried it. */
function listDevices(agent: Agent): Promise<Answer> {
  const fields = parseConnectionString(suite.hub.info.connectionString);
  const token = createSasToken(
    fields.HostName,
    fields.SharedAccessKey,
    Math.floor(Date.now() / 1000) + 600,
    fields.SharedAccessKeyName,
  );
  return new Promise((resolve, reject) => {
    const call = request(
      {
        host: fields.HostName,
        port: 443,
        agent,
        path: "/devices?api-version=2021-04-12",
        headers: { authorization: token },
      },
      (response) => {
        response.resume();
        response.once("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            keepAlive: response.headers["keep-alive"],
            localPort: call.socket?.localPort,
            reusedSocket: call.reusedSocket,
          }),
        );
      },
    );
    call.once("error", reject);
    call.end();
  });
}

/** Two requests on one keep-alive agent with `idleMs` of idleness between them. */
async function requestsApart(idleMs: number): Promise<[Answer, Answer]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: readFileSync(suite.hub.info.caFile) });
  try {
    const first = await listDevices(agent);
    await delay(idleMs); // the idleness itself is what is tested
    return [first, await listDevices(agent)];
  } finally {
    agent.destroy();
  }
}

/** A client that sends part of a request's headers and then nothing: resolves with what the hub answered. */
function stalledRequest(): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      {
        host: suite.hub.host,
        port: 443,
        servername: "localhost",
        ca: readFileSync(suite.hub.info.caFile),
      },
      () => socket.write("GET /devices?api-version=2021-04-12 HTTP/1.1\r\nHost: localhost\r\n"),
    );
    let answer = "";
    socket.on("data", (chunk: Buffer) => (answer += chunk.toString()));
    socket.once("close", () => resolve(answer));
    socket.once("error", reject);
  });
}

describe("HTTPS connections", () => {
  // Started first, so that it runs out during the minute the keep-alive test waits anyway.
  let stalled: Promise<string>;
  beforeAll(() => {
    stalled = stalledRequest();
    stalled.catch(() => undefined); // awaited (and so reported) by its test
  });

  it("reuse one idle connection after 6 s and after 60 s (no 'socket hang up')", async () => {
    const [after6, after60] = await Promise.all([requestsApart(6_000), requestsApart(60_000)]);
    for (const [first, second] of [after6, after60]) {
      expect(second).toMatchObject({ status: 200, reusedSocket: true, localPort: first.localPort });
      expect(first).toMatchObject({ status: 200, reusedSocket: false, keepAlive: "timeout=240" });
    }
  }, 120_000);

  it("a client that stops halfway through its headers is answered 408 and disconnected", async () => {
    expect(await stalled).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
  }, 120_000);
});
