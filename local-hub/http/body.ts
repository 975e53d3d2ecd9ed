import type { IncomingMessage } from "node:http";
import { badRequest, IotHubError } from "../errors/iotHubError";

/** IoT Hub refuses request bodies above 256 KB (bulk calls of 100 identities stay far below). */
export const MAX_BODY_BYTES = 256 * 1024;

/** The request's JSON body; undefined when empty. Malformed JSON is IoT Hub's 400, oversize its 413. */
export async function readJsonBody(request: IncomingMessage): Promise<unknown> {
  // GET and DELETE carry no body: skip the stream machinery on the hot path.
  const declared = request.headers["content-length"];
  if (declared === "0" || (declared === undefined && request.headers["transfer-encoding"] === undefined)) {
    return undefined;
  }
  if (declared !== undefined && Number(declared) > MAX_BODY_BYTES) throw tooLarge();
  const { chunks, size } = await collect(request);
  if (size === 0) return undefined;
  const text = Buffer.concat(chunks, size).toString("utf8");
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw badRequest(`The request body is not valid JSON: ${(error as Error).message}`);
  }
}

function tooLarge(): IotHubError {
  return new IotHubError(413, "RequestEntityTooLarge", `The request body exceeds ${MAX_BODY_BYTES} bytes.`);
}

function collect(request: IncomingMessage): Promise<{ chunks: Buffer[]; size: number }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        // Stop keeping the rest, but drain it so the connection stays usable for the 413.
        request.off("data", onData);
        request.resume();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    request.on("data", onData);
    request.once("end", () => resolve({ chunks, size }));
    request.once("error", reject);
  });
}
