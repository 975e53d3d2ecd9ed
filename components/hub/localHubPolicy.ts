import * as pulumi from "@pulumi/pulumi";
import { buildConnectionString, parseConnectionString } from "../../lib/iothub/sas";

/** The inputs of the policy resource, as its provider receives them. */
export interface LocalHubPolicyInputs {
  stateDir: string;
  policyName: string;
  /** Comma-separated, as `iothub-local policy add --rights` takes them. */
  rights: string;
  /** Absolute path of bin/iothub-local.js: the provider runs in the engine's process, not this program's. */
  hubCli: string;
}

/** The policy resource's outputs: what every hub target yields (HubOutputs), in plain form. */
export interface LocalHubPolicyOutputs extends LocalHubPolicyInputs {
  hostName: string;
  serviceConnectionString: string;
  caFile: string;
  caCertificate: string;
  gatewayHostName?: string;
}

const MQTT_DEFAULT_PORT = 8883;

/**
 * `iothub-local policy <args> --state <stateDir>` in a child process: its stdout (which may hold a connection
 * string: the caller keeps it, never prints it). A failure throws execFileSync's error; read it with stderrOf.
 */
function runPolicyCli(hubCli: string, stateDir: string, args: readonly string[]): string {
  const { execFileSync } = require("node:child_process") as typeof import("node:child_process");
  return execFileSync(process.execPath, [hubCli, "policy", ...args, "--state", stateDir], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** What a failed CLI run printed on stderr, trimmed: the only part of it an error message may quote. */
function stderrOf(error: unknown): string {
  return String((error as { stderr?: unknown }).stderr ?? "").trim();
}

/**
 * Runs the local hub's own CLI (`iothub-local policy add/show/remove`), which uses hub.db directly, so the policy
 * exists in exactly the way a user would have created it. Everything it needs is required inside the methods:
 * the provider is serialized into the state and run by the engine in another process.
 */
export const localHubPolicyProvider: pulumi.dynamic.ResourceProvider<
  LocalHubPolicyInputs,
  LocalHubPolicyOutputs
> = {
  async diff(_id, olds, news) {
    const replaces = (["stateDir", "policyName", "rights"] as const).filter((key) => olds[key] !== news[key]);
    // hubCli only says where the CLI is today: a moved checkout is not a new policy.
    const changes = replaces.length > 0 || olds.hubCli !== news.hubCli;
    return { changes, replaces, deleteBeforeReplace: replaces.length > 0 };
  },

  async create(inputs) {
    const fs = require("node:fs") as typeof import("node:fs");
    const nodePath = require("node:path") as typeof import("node:path");

    const startHint =
      `Start it with \`npm run hub${inputs.stateDir.endsWith(`${nodePath.sep}.iothub-local`) ? "" : ` -- --state ${inputs.stateDir}`}\`` +
      " (or run `npm run local`, which starts it in the background).";
    const infoFile = nodePath.join(inputs.stateDir, "hub.json");
    if (!fs.existsSync(infoFile)) {
      throw new Error(`The local IoT Hub is not running: ${infoFile} does not exist. ${startHint}`);
    }
    const info = JSON.parse(fs.readFileSync(infoFile, "utf8")) as {
      hostName: string;
      caFile: string;
      mqttPort: number;
      pid: number;
    };
    try {
      process.kill(info.pid, 0);
    } catch (error) {
      // EPERM: alive but someone else's; only ESRCH means the hub is gone without cleaning up.
      if ((error as NodeJS.ErrnoException).code === "ESRCH") {
        throw new Error(
          `The local IoT Hub is not running: ${infoFile} names process ${info.pid}, which has exited. ${startHint}`,
        );
      }
    }

    let connectionString: string;
    try {
      connectionString = runPolicyCli(inputs.hubCli, inputs.stateDir, [
        "add",
        inputs.policyName,
        "--rights",
        inputs.rights,
      ]).trim();
    } catch (error) {
      const stderr = stderrOf(error);
      const exists = /already exists/.test(stderr)
        ? ` Remove it with \`node bin/iothub-local.js policy remove ${inputs.policyName} --state ${inputs.stateDir}\`` +
          " or choose another iothub-provisioner:policyName."
        : "";
      throw new Error(
        `iothub-local policy add ${inputs.policyName} failed: ${stderr || String(error)}.${exists}`,
      );
    }

    const outputs: LocalHubPolicyOutputs = {
      ...inputs,
      hostName: info.hostName,
      serviceConnectionString: connectionString,
      caFile: info.caFile,
      caCertificate: fs.readFileSync(info.caFile, "utf8"),
    };
    if (info.mqttPort !== MQTT_DEFAULT_PORT) outputs.gatewayHostName = `${info.hostName}:${info.mqttPort}`;
    return { id: `${inputs.stateDir}#${inputs.policyName}`, outs: outputs };
  },

  async read(id, props) {
    // An empty id tells the engine the resource is gone.
    const gone = { id: "", props: {} as LocalHubPolicyOutputs };
    if (!props) return gone;
    const fs = require("node:fs") as typeof import("node:fs");
    const nodePath = require("node:path") as typeof import("node:path");
    // `pulumi refresh` (and `npm run local`, which refreshes first): a wiped or replaced hub no longer has the policy.
    if (!fs.existsSync(nodePath.join(props.stateDir, "hub.db"))) return gone;
    // The hub's current connection string of the policy (captured here, never printed): a policy removed and added
    // again out of band has new keys, and the one in the state no longer works.
    let current: string;
    try {
      current = runPolicyCli(props.hubCli, props.stateDir, ["show", props.policyName]);
    } catch (error) {
      const failure = error as { status?: unknown };
      const stderr = stderrOf(error);
      if (/does not exist/.test(stderr)) return gone;
      // Not String(error): only stderr and the exit code, so nothing the command printed can reach the message.
      throw new Error(
        `iothub-local policy show ${props.policyName} failed: ${stderr || `exit code ${String(failure.status)}`}`,
      );
    }
    const key = parseConnectionString(current.trim()).SharedAccessKey;
    if (!key) throw new Error(`iothub-local policy show ${props.policyName} printed no SharedAccessKey`);
    const stored = parseConnectionString(props.serviceConnectionString);
    if (stored.SharedAccessKey === key) return { id, props };
    // The new key, with the host name the other outputs were made with (hub.json may be gone while the hub is
    // stopped). A secret like the old one: the engine keeps outputs secret that were secret in the state.
    const serviceConnectionString = buildConnectionString({ ...stored, SharedAccessKey: key });
    return { id, props: { ...props, serviceConnectionString } };
  },

  async update(_id, olds, news) {
    // Only hubCli can change without a replacement: the policy itself stays as it is.
    return { outs: { ...olds, hubCli: news.hubCli } };
  },

  async delete(_id, props) {
    const fs = require("node:fs") as typeof import("node:fs");
    const nodePath = require("node:path") as typeof import("node:path");
    // A state dir that is gone took its policies with it.
    if (!fs.existsSync(nodePath.join(props.stateDir, "hub.db"))) return;
    try {
      runPolicyCli(props.hubCli, props.stateDir, ["remove", props.policyName]);
    } catch (error) {
      const stderr = stderrOf(error);
      if (/not found|does not exist|no such policy|no policy/i.test(stderr)) return;
      throw new Error(`iothub-local policy remove ${props.policyName} failed: ${stderr || String(error)}`);
    }
  },
};

/**
 * The provisioner policy in the running local hub, as a resource: created with the local hub's CLI, removed on
 * delete. Its connection string is a secret output.
 */
export class LocalHubPolicy extends pulumi.dynamic.Resource {
  declare readonly hostName: pulumi.Output<string>;
  declare readonly serviceConnectionString: pulumi.Output<string>;
  declare readonly caFile: pulumi.Output<string>;
  declare readonly caCertificate: pulumi.Output<string>;
  declare readonly gatewayHostName: pulumi.Output<string | undefined>;

  constructor(name: string, args: LocalHubPolicyInputs, opts?: pulumi.CustomResourceOptions) {
    super(
      localHubPolicyProvider,
      name,
      {
        ...args,
        hostName: undefined,
        serviceConnectionString: undefined,
        caFile: undefined,
        caCertificate: undefined,
        gatewayHostName: undefined,
      },
      {
        ...opts,
        additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "serviceConnectionString"],
      },
      "iothub",
      "LocalHubPolicy",
    );
  }
}
