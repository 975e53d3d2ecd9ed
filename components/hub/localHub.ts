import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { PROVISIONER_RIGHTS } from "../config";
import { HubOutputs } from "./hubOutputs";

/** What the local target needs: where the running local hub keeps its state, and the policy to create there. */
export interface LocalHubArgs {
  /** The local hub's state directory (`iothub-local --state`); relative paths are taken from the project dir. */
  stateDir: string;
  /** The shared access policy the registry resources use (RegistryWrite + ServiceConnect). */
  policyName: string;
}

/** The inputs of the policy resource, as its provider receives them. */
interface LocalHubPolicyInputs {
  stateDir: string;
  policyName: string;
  /** Comma-separated, as `iothub-local policy add --rights` takes them. */
  rights: string;
  /** Absolute path of bin/iothub-local.js: the provider runs in the engine's process, not this program's. */
  hubCli: string;
}

/** The policy resource's outputs: what every hub target yields (HubOutputs), in plain form. */
interface LocalHubPolicyOutputs extends LocalHubPolicyInputs {
  hostName: string;
  serviceConnectionString: string;
  caFile: string;
  caCertificate: string;
  gatewayHostName?: string;
}

const MQTT_DEFAULT_PORT = 8883;

/**
 * Runs the local hub's own CLI (`iothub-local policy add/remove`), which writes hub.db directly, so the policy
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
    const { execFileSync } = require("node:child_process") as typeof import("node:child_process");

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
      connectionString = execFileSync(
        process.execPath,
        [
          inputs.hubCli,
          "policy",
          "add",
          inputs.policyName,
          "--rights",
          inputs.rights,
          "--state",
          inputs.stateDir,
        ],
        { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
      ).trim();
    } catch (error) {
      const stderr = String((error as { stderr?: unknown }).stderr ?? "").trim();
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
    const { execFileSync } = require("node:child_process") as typeof import("node:child_process");
    // `pulumi refresh` (and `npm run local`, which refreshes first): a wiped or replaced hub no longer has the policy.
    if (!fs.existsSync(nodePath.join(props.stateDir, "hub.db"))) return gone;
    const listed = execFileSync(
      process.execPath,
      [props.hubCli, "policy", "list", "--state", props.stateDir],
      {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const exists = listed.split("\n").some((line) => line.split(/\s+/)[0] === props.policyName);
    return exists ? { id, props } : gone;
  },

  async update(_id, olds, news) {
    // Only hubCli can change without a replacement: the policy itself stays as it is.
    return { outs: { ...olds, hubCli: news.hubCli } };
  },

  async delete(_id, props) {
    const fs = require("node:fs") as typeof import("node:fs");
    const nodePath = require("node:path") as typeof import("node:path");
    const { execFileSync } = require("node:child_process") as typeof import("node:child_process");
    // A state dir that is gone took its policies with it.
    if (!fs.existsSync(nodePath.join(props.stateDir, "hub.db"))) return;
    try {
      execFileSync(
        process.execPath,
        [props.hubCli, "policy", "remove", props.policyName, "--state", props.stateDir],
        {
          encoding: "utf8",
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
    } catch (error) {
      const stderr = String((error as { stderr?: unknown }).stderr ?? "").trim();
      if (/not found|does not exist|no such policy|no policy/i.test(stderr)) return;
      throw new Error(`iothub-local policy remove ${props.policyName} failed: ${stderr || String(error)}`);
    }
  },
};

/**
 * The provisioner policy in the running local hub, as a resource: created with the local hub's CLI, removed on
 * delete. Its connection string is a secret output.
 */
class LocalHubPolicy extends pulumi.dynamic.Resource {
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
      { ...opts, additionalSecretOutputs: ["serviceConnectionString"] },
      "iothub",
      "LocalHubPolicy",
    );
  }
}

/** Absolute path of the local hub's CLI in this checkout. */
export const LOCAL_HUB_CLI = path.resolve(__dirname, "..", "..", "bin", "iothub-local.js");

/**
 * The local IoT Hub target: the provisioner policy (RegistryWrite + ServiceConnect) in the running local hub, and
 * the same outputs as the Azure target plus what a client needs to trust and reach the local hub (its CA and the
 * MQTT gateway host:port). If the hub is not running, creating the policy fails with how to start it.
 */
export class LocalHub extends pulumi.ComponentResource implements HubOutputs {
  readonly hostName: pulumi.Output<string>;
  readonly serviceConnectionString: pulumi.Output<string>;
  readonly caFile: pulumi.Output<string | undefined>;
  readonly caCertificate: pulumi.Output<string | undefined>;
  readonly gatewayHostName: pulumi.Output<string | undefined>;
  readonly policy: LocalHubPolicy;

  constructor(name: string, args: LocalHubArgs, opts?: pulumi.ComponentResourceOptions) {
    super("iothub-provisioner:hub:LocalHub", name, {}, opts);
    this.policy = new LocalHubPolicy(
      `${name}-policy`,
      {
        stateDir: path.resolve(args.stateDir),
        policyName: args.policyName,
        rights: PROVISIONER_RIGHTS.join(","),
        hubCli: LOCAL_HUB_CLI,
      },
      { parent: this },
    );
    this.hostName = this.policy.hostName;
    // Marked secret here too, so the component's output is secret whatever the engine does with the resource's.
    this.serviceConnectionString = pulumi.secret(this.policy.serviceConnectionString);
    this.caFile = this.policy.caFile;
    this.caCertificate = this.policy.caCertificate;
    this.gatewayHostName = this.policy.gatewayHostName;
    this.registerOutputs({
      hostName: this.hostName,
      serviceConnectionString: this.serviceConnectionString,
      caFile: this.caFile,
      gatewayHostName: this.gatewayHostName,
    });
  }
}
