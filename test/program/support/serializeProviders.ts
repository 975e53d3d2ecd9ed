/**
 * Serializes every dynamic provider the program uses (the four registry providers, the ADM and DPS providers and the local
 * hub's policy, endpoint and DPS providers) exactly as @pulumi/pulumi does when the program registers a resource, and prints {type: text} as JSON.
 * Run in a plain node process (the way Pulumi runs the program): under jest the serializer may produce text that
 * does not work without throwing (docs/field-notes.md, "Pulumi without its CLI").
 */
import * as pulumi from "@pulumi/pulumi";
import { admProviders } from "../../../components/adm/providers";
import { dpsProviders } from "../../../components/dps/providers";
import { localDpsResourceProvider } from "../../../components/hub/localDps";
import { localHubEndpointResourceProvider } from "../../../components/hub/localHubEndpoint";
import { localHubPolicyResourceProvider } from "../../../components/hub/localHubPolicy";
import { providers } from "../../../components/registry/providers";

async function main(): Promise<void> {
  const all: Record<string, pulumi.dynamic.ResourceProvider> = {
    ...providers,
    ...admProviders,
    ...dpsProviders,
    LocalHubPolicy: localHubPolicyResourceProvider,
    LocalHubEndpoint: localHubEndpointResourceProvider,
    LocalDps: localDpsResourceProvider,
  };
  const texts: Record<string, string> = {};
  for (const [type, provider] of Object.entries(all)) {
    texts[type] = (await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true })).text;
  }
  process.stdout.write(JSON.stringify(texts));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
