import type { Registry } from "azure-iothub";
import { hubAccessRegistry, type HubAccess } from "../lib/iothub/serviceClient";
import { InputError } from "./inputError";
import type { StackOutputs } from "./outputs";

/**
 * How verify's service side (the canary patch; with --enrollment, deleting the simulated devices' identities)
 * reaches the hub: the outputs' policy key, or with auth entra the same credential as the providers (the outputs'
 * settings; the client secret from AZURE_CLIENT_SECRET, on Azure DefaultAzureCredential). Modules connect with
 * their own SAS keys either way.
 */
export function serviceAccessOf(outputs: StackOutputs): HubAccess {
  if (outputs.auth === "entra") return { auth: "entra", hostName: outputs.hostName, entra: outputs.entra };
  return { auth: "sas", serviceConnectionString: outputs.serviceConnectionString ?? "" };
}

/** The Registry of the service side; a credential that cannot be made (no client secret) is an input error. */
export function serviceSideRegistry(outputs: StackOutputs, caPem: string | undefined): Registry {
  try {
    return hubAccessRegistry(serviceAccessOf(outputs), caPem);
  } catch (error) {
    if (outputs.auth !== "entra") throw error;
    throw new InputError(`the stack uses auth entra: ${(error as Error).message}`);
  }
}
