import * as pulumi from "@pulumi/pulumi";
import { hasRegistryCredentials } from "../../lib/iothub/edgeManifest";
import type { ModulesContent } from "./edgeDeploymentProvider";

/**
 * A manifest with `registryCredentials` holds container registry passwords: then, and whenever the manifest is not
 * known when the resource registers (an Output or a Promise, which may hold them), `modulesContent` is a secret
 * input and a secret output (the engine re-marks only outputs whose input of the same name was secret).
 */
export function manifestInput(
  modulesContent: pulumi.Input<ModulesContent>,
  opts: pulumi.CustomResourceOptions | undefined,
): { modulesContent: pulumi.Input<ModulesContent>; opts: pulumi.CustomResourceOptions | undefined } {
  const secret =
    pulumi.Output.isInstance(modulesContent) ||
    modulesContent instanceof Promise ||
    hasRegistryCredentials(modulesContent);
  if (!secret) return { modulesContent, opts };
  return {
    modulesContent: pulumi.secret(modulesContent),
    opts: { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "modulesContent"] },
  };
}
