import { readFileSync } from "node:fs";
import { request } from "node:https";
import { createSasToken, parseConnectionString } from "../../lib/iothub/sas";
import type { HubAccess } from "../support/suiteHub";

/**
 * A raw service-API call, for the few requests the SDK cannot make (twin PUT, bulk batches the SDK refuses
 * client-side, etags on device delete, hostile tokens and paths). Signed exactly as the SDK signs with the hub's
 * owner policy unless `headers` brings its own `authorization`; trusts only the hub's CA. A Buffer body is sent as
 * it is (JSON text that JSON.stringify cannot produce, e.g. nested deeper than its stack allows).
 */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export function serviceRequest(
  hub: HubAccess,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  const fields = parseConnectionString(hub.connectionString);
  const expiry = Math.floor(Date.now() / 1000) + 600;
  const token = createSasToken(fields.HostName, fields.SharedAccessKey, expiry, fields.SharedAccessKeyName);
  const payload = body === undefined || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const call = request(
      {
        host: fields.HostName,
        port: 443,
        ca: readFileSync(hub.caFile, "utf8"),
        method,
        // A path that names its own api-version is sent as given.
        path: /[?&]api-version=/.test(path)
          ? path
          : `${path}${path.includes("?") ? "&" : "?"}api-version=2021-04-12`,
        headers: {
          authorization: token,
          ...(payload === undefined ? {} : { "content-type": "application/json; charset=utf-8" }),
          ...headers,
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: text === "" ? undefined : (JSON.parse(text) as unknown),
          });
        });
      },
    );
    call.on("error", reject);
    call.end(payload);
  });
}
