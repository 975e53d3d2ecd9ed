import { mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Registry } from "azure-iothub";
import { parseSasToken, serviceConnectionString, verifySignature } from "../../lib/iothub/sas";
import { serviceClient, serviceRegistry } from "../../lib/iothub/serviceClient";
import { ensureCertificateAuthority, ensureHubTls } from "../../local-hub/tls";

/**
 * What the service-SDK factory relies on in azure-iothub (dist/common-http/rest_api_client, RestApiClient's
 * setOptions({http: {agent}}) taking effect after the Registry/Client constructors installed their own agent, and
 * the SDK signing each request afresh from a SharedAccessSignature object). An azure-iothub upgrade that breaks
 * any of these fails here.
 *
 * The "hub" is a tiny HTTPS listener on 443 with a certificate from a CA made for this suite only, so no
 * NODE_EXTRA_CA_CERTS can name it: reaching it proves the trust came through the factory's agent. It records the
 * Authorization header of every request, which the real hub does not expose.
 */

interface Recorded {
  method: string;
  url: string;
  authorization: string;
}

const KEY = Buffer.alloc(32, 7).toString("base64");
let server: Server;
let host: string;
let caPem: string;
let connectionString: string;
const requests: Recorded[] = [];
let tlsConnections = 0;

function listen(candidate: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) =>
      error.code === "EADDRINUSE" ? resolve(false) : reject(error);
    server.once("error", onError);
    server.listen(443, candidate, () => {
      server.off("error", onError);
      resolve(true);
    });
  });
}

beforeAll(async () => {
  // 127.64-127.127.x.y: away from the test hubs' 127.0.0.x; the hub CA's name constraints permit 127.0.0.0/8.
  const address = () =>
    `127.${64 + Math.floor(Math.random() * 64)}.${Math.floor(Math.random() * 256)}.${1 + Math.floor(Math.random() * 254)}`;
  const candidate = address();
  const tls = ensureHubTls(mkdtempSync(join(tmpdir(), "service-client-ca-")), [candidate]);
  caPem = tls.ca.certificatePem;
  server = createServer({ cert: tls.server.certificatePem, key: tls.server.keyPem }, (request, response) => {
    requests.push({
      method: request.method ?? "",
      url: request.url ?? "",
      authorization: request.headers.authorization ?? "",
    });
    request.resume();
    request.on("end", () => {
      const body = request.url?.includes("/methods")
        ? { status: 200, payload: "pong" }
        : { deviceId: "d1", etag: "e1" };
      response.writeHead(200, { "content-type": "application/json; charset=utf-8" });
      response.end(JSON.stringify(body));
    });
  });
  server.on("secureConnection", () => tlsConnections++);
  if (!(await listen(candidate))) throw new Error(`${candidate}:443 is in use; run the suite again`);
  host = candidate;
  connectionString = serviceConnectionString(host, "iothubowner", KEY);
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

beforeEach(() => {
  requests.length = 0;
  tlsConnections = 0;
});

/** The TLS refusal of a client that does not trust the suite's CA. */
const UNTRUSTED = /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT/;

describe("serviceRegistry", () => {
  it("reaches a hub whose CA only the factory was given; the SDK's own Registry and a factory without it are refused", async () => {
    await expect(serviceRegistry(connectionString, caPem).get("d1")).resolves.toMatchObject({
      responseBody: { deviceId: "d1" },
    });
    expect(requests).toMatchObject([
      { method: "GET", url: expect.stringMatching(/^\/devices\/d1\?api-version=/) },
    ]);

    await expect(Registry.fromConnectionString(connectionString).get("d1")).rejects.toMatchObject({
      code: expect.stringMatching(UNTRUSTED),
    });
    const otherKey = serviceConnectionString(host, "iothubowner", Buffer.alloc(32, 8).toString("base64"));
    await expect(serviceRegistry(otherKey).get("d1")).rejects.toMatchObject({
      code: expect.stringMatching(UNTRUSTED),
    });
    expect(requests).toHaveLength(1);
  });

  it("refuses the hub when given another CA (the extra CA applies to what it signed, nothing else)", async () => {
    const otherCa = ensureCertificateAuthority(mkdtempSync(join(tmpdir(), "service-client-other-ca-")));
    await expect(serviceRegistry(connectionString, otherCa.certificatePem).get("d1")).rejects.toMatchObject({
      code: expect.stringMatching(UNTRUSTED),
    });
    expect(requests).toHaveLength(0);
  });

  it("signs each request with a token that lives an hour from when it is sent, renewed on every request", async () => {
    const registry = serviceRegistry(connectionString, caPem);
    const before = Math.floor(Date.now() / 1000);
    await registry.get("d1");
    const first = parseSasToken(requests[0].authorization);
    expect(first).toMatchObject({ sr: host, skn: "iothubowner" });
    expect(verifySignature(first!, KEY)).toBe(true);
    expect(first!.se).toBeGreaterThanOrEqual(before + 3600);
    expect(first!.se).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 3600);

    // Two hours later (past the first token's expiry) the same Registry sends a token valid for another hour.
    const later = Date.now() + 2 * 3600_000;
    const clock = jest.spyOn(Date, "now").mockReturnValue(later);
    try {
      await registry.get("d1");
    } finally {
      clock.mockRestore();
    }
    const second = parseSasToken(requests[1].authorization);
    expect(second!.se).toBe(Math.ceil(later / 1000) + 3600);
    expect(verifySignature(second!, KEY)).toBe(true);
  });

  it("keeps one Registry per hub, key and CA, and one connection for a hub's Registry and Client", async () => {
    expect(serviceRegistry(connectionString, caPem)).toBe(serviceRegistry(connectionString, caPem));
    expect(serviceRegistry(connectionString, caPem)).not.toBe(serviceRegistry(connectionString));
    const otherKey = serviceConnectionString(host, "iothubowner", Buffer.alloc(32, 9).toString("base64"));
    expect(serviceRegistry(otherKey, caPem)).not.toBe(serviceRegistry(connectionString, caPem));

    const fresh = serviceConnectionString(host, "fresh", KEY);
    await serviceRegistry(fresh, caPem).get("d1");
    await serviceClient(fresh, caPem).invokeDeviceMethod("d1", { methodName: "ping" });
    expect(requests).toHaveLength(2);
    expect(tlsConnections).toBe(1);
  });

  it("rejects an unusable connection string or CA with an error naming the field and the rule, and sends nothing", () => {
    const keyless = `HostName=${host};SharedAccessKeyName=iothubowner`;
    expect(() => serviceRegistry(keyless, caPem)).toThrow(
      "serviceConnectionString: must hold SharedAccessKey (Key=Value;...)",
    );
    expect(() => serviceRegistry("not a connection string")).toThrow(
      "serviceConnectionString: must hold HostName, SharedAccessKeyName, SharedAccessKey",
    );
    expect(() => serviceRegistry(connectionString, "hello")).toThrow(
      "caCertificate: must be a PEM certificate (-----BEGIN CERTIFICATE-----)",
    );
    let error: Error | undefined;
    try {
      serviceClient(
        `${connectionString};x=1`,
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
      );
    } catch (thrown) {
      error = thrown as Error;
    }
    expect(error?.message).toMatch(/^caCertificate: the certificate is not a readable X.509 certificate \(/);
    expect(error?.message).not.toContain(KEY);
    expect(requests).toHaveLength(0);
  });
});

describe("serviceClient", () => {
  it("invokes direct methods through the agent that trusts the hub's CA", async () => {
    const { result } = await serviceClient(connectionString, caPem).invokeDeviceMethod("d1", "m1", {
      methodName: "ping",
      payload: null,
    });
    expect(result).toEqual({ status: 200, payload: "pong" });
    expect(requests).toMatchObject([
      { method: "POST", url: expect.stringMatching(/^\/twins\/d1\/modules\/m1\/methods/) },
    ]);
    expect(parseSasToken(requests[0].authorization)).toMatchObject({ sr: host, skn: "iothubowner" });
  });
});
