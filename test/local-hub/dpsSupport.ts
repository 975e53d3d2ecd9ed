/** What the DPS device-registration suites share. */

/** The error `call` rejects with (the SDK's `result` holds a `disabled` registration's answer); fails if it resolves. */
export async function rejection(call: Promise<unknown>): Promise<Error & { result?: { status?: string } }> {
  try {
    await call;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the call to fail");
}
