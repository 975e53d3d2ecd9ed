/** Deployment manifests for the ADM tests: a base manifest as IoT Edge's schema has it, and a custom module. */

/** A custom module definition of the manifest, running `image`. */
export const dockerModule = (image: string): Record<string, unknown> => ({
  version: "1.0",
  type: "docker",
  status: "running",
  restartPolicy: "always",
  settings: { image, createOptions: JSON.stringify({ HostConfig: { Privileged: false } }) },
});

/** A base deployment's modulesContent: runtime, system modules, `modules`, routes, and extra module contents. */
export function baseManifest(
  modules: Record<string, unknown>,
  moduleContents: Record<string, Record<string, unknown>> = {},
): Record<string, Record<string, unknown>> {
  return {
    $edgeAgent: {
      "properties.desired": {
        schemaVersion: "1.1",
        runtime: { type: "docker", settings: { minDockerVersion: "v1.25" } },
        systemModules: {
          edgeAgent: { type: "docker", settings: { image: "mcr.microsoft.com/azureiotedge-agent:1.5" } },
          edgeHub: {
            type: "docker",
            status: "running",
            restartPolicy: "always",
            settings: { image: "mcr.microsoft.com/azureiotedge-hub:1.5" },
          },
        },
        modules,
      },
    },
    $edgeHub: {
      "properties.desired": {
        schemaVersion: "1.1",
        routes: { upstream: "FROM /messages/* INTO $upstream" },
        storeAndForwardConfiguration: { timeToLiveSecs: 7200 },
      },
    },
    ...moduleContents,
  };
}
