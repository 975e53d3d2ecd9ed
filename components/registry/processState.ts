/**
 * State shared by every provider in the provider process (limiters, HTTP agents, call counts). It lives on
 * `globalThis`: closure serialization copies module-level values into each provider's text, and the engine
 * deserializes each resource class's provider separately. The symbol is made inside the function because a
 * captured Symbol value does not survive serialization.
 */
export function processWide<T>(name: string, create: () => T): T {
  const store = globalThis as unknown as Record<symbol, unknown>;
  const key = Symbol.for(`iothub-provisioner.${name}`);
  if (store[key] === undefined) store[key] = create();
  return store[key] as T;
}
