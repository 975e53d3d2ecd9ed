import { HubClient, type TwinBody } from "./client";
import { isPreconditionFailed } from "./errors";

/** How many times a patch is re-based on a fresh etag after 412 before giving up. */
const PRECONDITION_ATTEMPTS = 5;

/**
 * PATCHes a twin with If-Match `etag`. On 412 (someone else changed the twin since), reads the twin for its new
 * etag and patches again: the patch only touches the keys this resource owns, so re-sending it over the other
 * writer's change is correct; the etag makes sure no write of ours is based on a guess about the twin.
 */
export async function patchWithEtag(
  client: HubClient,
  deviceId: string,
  moduleId: string | undefined,
  patch: unknown,
  etag: string,
): Promise<TwinBody> {
  let currentEtag = etag || "*";
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.patchTwin(deviceId, moduleId, patch, currentEtag);
    } catch (error) {
      if (!isPreconditionFailed(error) || attempt >= PRECONDITION_ATTEMPTS) throw error;
      currentEtag = (await client.getTwin(deviceId, moduleId)).etag;
    }
  }
}
