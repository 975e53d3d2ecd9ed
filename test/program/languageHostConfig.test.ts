import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { PROJECT_DIR } from "./support/runProgram";
import * as yaml from "js-yaml";

/**
 * The stack config as `pulumi up` delivers it: the Node.js language host starts the program with the config map
 * in the PULUMI_CONFIG environment variable (JSON, structured values as JSON text, older hosts spelling keys
 * `<namespace>:config:<key>`). Run in a plain node process, without mocks, so readStackConfig reads exactly that.
 */

const READ_CONFIG = `
const { readStackConfig } = require("./components/config");
try {
  process.stdout.write(JSON.stringify({ config: readStackConfig() }));
} catch (error) {
  process.stdout.write(JSON.stringify({ error: error.message }));
}
`;

function readConfigWith(config: Record<string, string>): Promise<{ config?: unknown; error?: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "-e", READ_CONFIG],
      { cwd: PROJECT_DIR, env: { ...process.env, PULUMI_CONFIG: JSON.stringify(config) } },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`${error.message}\n${stderr}`));
        resolve(JSON.parse(stdout) as { config?: unknown; error?: string });
      },
    );
  });
}

const devices = JSON.stringify([{ deviceId: "d1", modules: [{ moduleId: "m1" }] }]);

describe("the stack config from the language host (PULUMI_CONFIG)", () => {
  it("reads every key of the namespace, in both key spellings, and ignores other namespaces", async () => {
    const result = await readConfigWith({
      "iothub-provisioner:target": "local",
      "iothub-provisioner:config:devices": devices,
      "azure-native:location": "westeurope",
    });
    expect(result.error).toBeUndefined();
    expect(result.config).toMatchObject({
      target: "local",
      devices: [{ deviceId: "d1", modules: [{ moduleId: "m1" }] }],
    });
  });

  it("refuses a misspelt top-level key instead of deploying without it", async () => {
    const result = await readConfigWith({
      "iothub-provisioner:target": "local",
      "iothub-provisioner:device": devices,
    });
    expect(result.error).toContain("iothub-provisioner:device: is not a known key (did you mean devices?)");
  });

  it.each(["Pulumi.local.yaml", "Pulumi.dev.yaml"])("accepts the committed stack file %s", async (file) => {
    const { config } = yaml.load(readFileSync(path.join(PROJECT_DIR, file), "utf8")) as {
      config: Record<string, unknown>;
    };
    // as the CLI hands it over: plain values as text, structured values as JSON
    const strings = Object.fromEntries(
      Object.entries(config).map(([key, value]) => [
        key,
        typeof value === "string" ? value : JSON.stringify(value),
      ]),
    );
    const result = await readConfigWith(strings);
    expect(result.error).toBeUndefined();
    expect(result.config).toMatchObject({ target: config["iothub-provisioner:target"] });
  });
});
