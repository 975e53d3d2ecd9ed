/**
 * Outputs as the engine can store them: the provider server turns them into a protobuf Struct, which rejects
 * `undefined` ("Unexpected struct type"), so absent values are dropped.
 */
export function asState<T extends object>(outputs: T): T {
  return JSON.parse(JSON.stringify(outputs)) as T;
}
