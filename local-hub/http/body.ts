import type { IncomingMessage } from "node:http";
import { badRequest, IotHubError } from "../errors/iotHubError";

/** IoT Hub refuses request bodies above 256 KB (bulk calls of 100 identities stay far below). */
export const MAX_BODY_BYTES = 256 * 1024;

/** The request's JSON body; undefined when empty. Malformed JSON is IoT Hub's 400, oversize its 413. */
export async function readJsonBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) {
      throw new IotHubError(
        413,
        "RequestEntityTooLarge",
        `The request body exceeds ${MAX_BODY_BYTES} bytes.`,
      );
    }
    chunks.push(buffer);
  }
  if (size === 0) return undefined;
  const text = Buffer.concat(chunks, size).toString("utf8");
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw badRequest(`The request body is not valid JSON: ${(error as Error).message}`);
  }
}
