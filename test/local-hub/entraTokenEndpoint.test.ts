import { IOT_HUB_TOKEN_SCOPE } from "../../lib/iothub/dataPlaneRoles";
import { useSuiteHub } from "../support/suiteHub";
import { addPrincipal, authorityOf, rawRequest, type AddedPrincipal, type RawAnswer } from "./entraSupport";

/**
 * The hub's token endpoint as Entra answers: the discovery document and JWKS @azure/identity reads, the
 * client-credentials grant, and Entra's error answers for hostile and wrong input (each naming the parameter or
 * rule; nothing kept past the size limit; the hub answers on afterwards).
 */
describe("the Entra token endpoint", () => {
  const suite = useSuiteHub();
  let principal: AddedPrincipal;

  beforeAll(async () => {
    principal = await addPrincipal(suite.hub, "token-client", ["IoT Hub Data Reader"]);
  });

  const base = () => {
    const { authorityHost, tenantId } = authorityOf(suite.hub.info);
    return `${authorityHost}/${tenantId}`;
  };
  const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
  const goodFields = () => ({
    grant_type: "client_credentials",
    client_id: principal.clientId,
    client_secret: principal.clientSecret,
    scope: IOT_HUB_TOKEN_SCOPE,
  });
  const postToken = (
    body: string | Buffer,
    contentType = "application/x-www-form-urlencoded",
    url = `${base()}/oauth2/v2.0/token`,
  ) => rawRequest(suite.hub.info, "POST", url, { "content-type": contentType }, body);

  function entraError(answer: RawAnswer): {
    error: string;
    error_description: string;
    error_codes: number[];
  } {
    return JSON.parse(answer.text) as { error: string; error_description: string; error_codes: number[] };
  }

  it("serves the discovery document MSAL needs; tokens carry a port-less issuer, as Entra's v1 tokens", async () => {
    const answer = await rawRequest(suite.hub.info, "GET", `${base()}/v2.0/.well-known/openid-configuration`);
    expect(answer.status).toBe(200);
    const document = JSON.parse(answer.text) as Record<string, string>;
    expect(document).toMatchObject({
      token_endpoint: `${base()}/oauth2/v2.0/token`,
      jwks_uri: `${base()}/discovery/v2.0/keys`,
      issuer: `${base()}/v2.0`,
      authorization_endpoint: expect.any(String),
    });
    const token = await postToken(form(goodFields()));
    const { access_token } = JSON.parse(token.text) as { access_token: string };
    const claims = JSON.parse(Buffer.from(access_token.split(".")[1], "base64url").toString()) as Record<
      string,
      unknown
    >;
    expect(claims).toMatchObject({
      iss: `https://${suite.hub.info.hostName}/${principal.tenantId}/`,
      aud: "https://iothubs.azure.net",
      oid: principal.objectId,
      appid: principal.clientId,
      tid: principal.tenantId,
    });
    expect((claims.exp as number) - (claims.iat as number)).toBe(3599);
  });

  it("answers a token as Entra does: Bearer, expires_in, never cached", async () => {
    const answer = await postToken(form(goodFields()));
    expect(answer.status).toBe(200);
    expect(answer.headers["cache-control"]).toContain("no-store");
    expect(JSON.parse(answer.text)).toEqual({
      token_type: "Bearer",
      expires_in: 3599,
      ext_expires_in: 3599,
      access_token: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
    });
  });

  it("serves the JWKS with the public key only", async () => {
    const answer = await rawRequest(suite.hub.info, "GET", `${base()}/discovery/v2.0/keys`);
    const { keys } = JSON.parse(answer.text) as { keys: Array<Record<string, string>> };
    expect(keys).toHaveLength(1);
    expect(keys[0]).toEqual({
      kty: "RSA",
      use: "sig",
      alg: "RS256",
      kid: expect.any(String),
      n: expect.any(String),
      e: "AQAB",
    });
  });

  it("refuses an unknown tenant on every endpoint (AADSTS90002), quoting it only when it is short", async () => {
    const { authorityHost } = authorityOf(suite.hub.info);
    const other = "00000000-0000-0000-0000-000000000000";
    const discovery = await rawRequest(
      suite.hub.info,
      "GET",
      `${authorityHost}/${other}/v2.0/.well-known/openid-configuration`,
    );
    expect(discovery.status).toBe(400);
    expect(entraError(discovery)).toMatchObject({ error: "invalid_request", error_codes: [90002] });
    expect(entraError(discovery).error_description).toContain(`Tenant '${other}' not found`);
    const token = await postToken(form(goodFields()), undefined, `${authorityHost}/common/oauth2/v2.0/token`);
    expect(entraError(token)).toMatchObject({ error: "invalid_request", error_codes: [90002] });
    const long = await rawRequest(
      suite.hub.info,
      "GET",
      `${authorityHost}/${"t".repeat(5000)}/discovery/v2.0/keys`,
    );
    expect(long.status).toBe(400);
    expect(entraError(long).error_description).not.toContain("tttt");
  });

  it("refuses an unknown grant type, scope or client, and missing parameters, naming each", async () => {
    const cases: Array<[Record<string, string | undefined>, number, string, number]> = [
      [{ grant_type: "password" }, 400, "unsupported_grant_type", 70003],
      [{ grant_type: undefined }, 400, "invalid_request", 900144],
      [{ client_id: undefined }, 400, "invalid_request", 900144],
      [{ scope: undefined }, 400, "invalid_request", 900144],
      [{ client_secret: undefined }, 400, "invalid_client", 7000216],
      [{ scope: "https://management.azure.com/.default" }, 400, "invalid_scope", 500011],
      [{ scope: `${IOT_HUB_TOKEN_SCOPE} https://storage.azure.com/.default` }, 400, "invalid_scope", 500011],
      [{ client_id: "00000000-0000-0000-0000-000000000009" }, 400, "unauthorized_client", 700016],
      [{ client_secret: "wrong" }, 401, "invalid_client", 7000215],
    ];
    for (const [change, status, error, code] of cases) {
      const fields: Record<string, string> = { ...goodFields() };
      for (const [name, value] of Object.entries(change)) {
        if (value === undefined) delete fields[name];
        else fields[name] = value;
      }
      const answer = await postToken(form(fields));
      expect({ change, status: answer.status, ...entraError(answer) }).toMatchObject({
        change,
        status,
        error,
        error_codes: [code],
      });
      expect(answer.text).not.toContain(principal.clientSecret);
    }
    const missing = await postToken(form({ ...goodFields(), grant_type: "" }).replace("grant_type=&", ""));
    expect(entraError(missing).error_description).toContain(
      "must contain the following parameter: 'grant_type'",
    );
    // Requests with extra OpenID scopes still get a token, as from Entra.
    const openid = await postToken(
      form({ ...goodFields(), scope: `openid ${IOT_HUB_TOKEN_SCOPE} offline_access` }),
    );
    expect(openid.status).toBe(200);
  });

  it("refuses a malformed form: another content type, a duplicated parameter, binary junk", async () => {
    const json = await postToken(JSON.stringify(goodFields()), "application/json");
    expect(json.status).toBe(400);
    expect(entraError(json)).toMatchObject({ error: "invalid_request", error_codes: [900144] });
    const duplicated = await postToken(`${form(goodFields())}&client_id=${principal.clientId}`);
    expect(duplicated.status).toBe(400);
    expect(entraError(duplicated)).toMatchObject({ error_codes: [9000411] });
    expect(entraError(duplicated).error_description).toContain("The parameter 'client_id' is duplicated");
    const junk = await postToken(Buffer.from([0xff, 0xfe, 0x00, 0x25, 0x7a, 0x7a, 0x3d, 0x26, 0x26]));
    expect(junk.status).toBe(400);
    expect(entraError(junk)).toMatchObject({ error: "invalid_request" });
  });

  it("refuses a body over 16 KB with 413, declared or streamed, and keeps answering", async () => {
    const declared = await postToken(form({ ...goodFields(), padding: "p".repeat(20_000) }));
    expect(declared.status).toBe(413);
    expect(entraError(declared)).toMatchObject({ error: "invalid_request" });
    // 4 MB in chunks with no Content-Length: refused once past the limit, the rest read and dropped.
    const streamed = await rawRequest(
      suite.hub.info,
      "POST",
      `${base()}/oauth2/v2.0/token`,
      { "content-type": "application/x-www-form-urlencoded", "transfer-encoding": "chunked" },
      (write) => {
        for (let i = 0; i < 64; i++) write(Buffer.alloc(64 * 1024, 0x61));
      },
    );
    expect(streamed.status).toBe(413);
    expect((await postToken(form(goodFields()))).status).toBe(200);
  });

  it("answers 404 for another path and 405 for another method, as JSON", async () => {
    const unknown = await rawRequest(suite.hub.info, "GET", `${base()}/oauth2/v2.0/authorize`);
    expect(unknown.status).toBe(404);
    expect(entraError(unknown)).toMatchObject({ error: "invalid_request" });
    const proto = await rawRequest(suite.hub.info, "GET", `${base()}/__proto__`);
    expect(proto.status).toBe(404);
    const wrongMethod = await rawRequest(suite.hub.info, "GET", `${base()}/oauth2/v2.0/token`);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.allow).toBe("POST");
  });
});
