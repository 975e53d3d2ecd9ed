import type { ModuleClient } from "azure-iot-device";
import { InputError } from "./inputError";
import { describeError, withTimeout } from "./failures";
import { closeQuietly, listenForDesiredPatches, openModuleClient } from "./moduleClient";
import type { StackOutputs } from "./outputs";
import type { Trust } from "./trust";

/**
 * `--watch DEVICE/MODULE`: the tutorial's listening module. Connects as the module, prints its desired
 * properties, then every desired patch as it arrives, until SIGINT/SIGTERM. Resolves with the exit code.
 */
export async function watchModule(
  outputs: StackOutputs,
  target: { deviceId: string; moduleId: string },
  trust: Trust,
  options: { json: boolean; timeoutSeconds: number },
): Promise<number> {
  const name = `${target.deviceId}/${target.moduleId}`;
  const module = outputs.modules.find(
    (m) => m.deviceId === target.deviceId && m.moduleId === target.moduleId,
  );
  if (!module) {
    const known = outputs.modules.map((m) => `${m.deviceId}/${m.moduleId}`).join(", ");
    throw new InputError(`--watch ${name}: no such module in the stack outputs (they list ${known})`);
  }
  const print = (event: string, text: string, body: unknown) =>
    console.log(options.json ? JSON.stringify({ event, module: name, ...(body as object) }) : text);

  let client: ModuleClient | undefined;
  try {
    client = await withTimeout(
      openModuleClient(module.connectionString, trust.caPem),
      options.timeoutSeconds,
    );
    const twin = await withTimeout(client.getTwin(), options.timeoutSeconds);
    print("desired", `${name} desired properties: ${JSON.stringify(twin.properties.desired)}`, {
      desired: twin.properties.desired,
    });
    await withTimeout(
      listenForDesiredPatches(twin, (patch) =>
        print(
          "patch",
          `${name} desired patch (version ${String(patch.$version)}): ${JSON.stringify(patch)}`,
          {
            patch,
          },
        ),
      ),
      options.timeoutSeconds,
    );
  } catch (error) {
    await closeQuietly(client, options.timeoutSeconds);
    console.error(`verify --watch ${name}: could not connect and subscribe: ${describeError(error)}`);
    console.error("  run `npm run verify` without --watch for a diagnosis of the connection");
    return 1;
  }
  print("watching", `watching ${name} for desired patches (Ctrl+C to stop)`, {});

  const connected = client;
  return new Promise((resolve) => {
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      closeQuietly(connected, options.timeoutSeconds).then(() => resolve(0));
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
}
