/**
 * Serializes each registry and ADM provider the way @pulumi/pulumi does for the engine and prints
 * {name: {ok, text | error}} as JSON. Run in its own node process: under jest the serializer may not throw.
 */
import * as pulumi from "@pulumi/pulumi";
import { admProviders } from "../../components/adm/providers";
import { dpsProviders } from "../../components/dps/providers";
import { HubClient } from "../../components/registry/client";
import { providers } from "../../components/registry/providers";

async function main(): Promise<void> {
  // `--canary KEY`: use a connection string holding KEY first (the client layer keeps a Registry per connection
  // string in module state), so that a stub capturing any of that state would show KEY in its serialized text.
  const canaryAt = process.argv.indexOf("--canary");
  if (canaryAt > 0) {
    const key = process.argv[canaryAt + 1];
    new HubClient({
      serviceConnectionString: `HostName=canary.invalid;SharedAccessKeyName=p;SharedAccessKey=${key}`,
    });
  }
  const results: Record<string, { ok: boolean; text?: string; error?: string }> = {};
  for (const [name, provider] of Object.entries({ ...providers, ...admProviders, ...dpsProviders })) {
    try {
      const serialized = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
      results[name] = { ok: true, text: serialized.text };
    } catch (error) {
      results[name] = { ok: false, error: String(error) };
    }
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
