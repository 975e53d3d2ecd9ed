import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import type * as pulumi from "@pulumi/pulumi";
import { buildConnectionString, parseConnectionString } from "../../lib/iothub/sas";
import { hasHubDatabase } from "../../local-hub/stateDir";
import { gatewayHostNameOf, requireRunningHub } from "./runningLocalHub";
import type { LocalHubPolicyInputs, LocalHubPolicyOutputs } from "./localHubPolicy";
import { asState } from "../registry/providerKit";

/**
 * `iothub-local policy <args> --state <stateDir>` in a child process: its stdout (which may hold a connection
 * string: the caller keeps it, never prints it). A failure throws execFileSync's error; read it with stderrOf.
 */
function runPolicyCli(hubCli: string, stateDir: string, args: readonly string[]): string {
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
 * Why a CLI call failed: its stderr, else its exit code. Never String(error): execFileSync's error quotes the whole
 * command and what it printed, and `policy add`/`show` print a connection string with its key.
 */
function failureOf(error: unknown): string {
  return stderrOf(error) || `exit code ${String((error as { status?: unknown }).status)}`;
}

/**
 * Runs the local hub's own CLI (`iothub-local policy add/show/remove`), which uses hub.db directly, so the policy
 * exists in exactly the way a user would have created it. Loaded in the provider process by the stub that
 * components/hub/localHubPolicy.ts hands to Pulumi.
 */
export const localHubPolicyProvider: pulumi.dynamic.ResourceProvider<
  LocalHubPolicyInputs,
  LocalHubPolicyOutputs
> = {
  // The inputs come from the validated stack config (components/config.ts) and are taken as they are.
  async check(_olds, news) {
    return { inputs: news };
  },

  async diff(_id, olds, news) {
    const replaces = (["stateDir", "policyName", "rights"] as const).filter((key) => olds[key] !== news[key]);
    // hubCli only says where the CLI is today: a moved checkout is not a new policy.
    const changes = replaces.length > 0 || olds.hubCli !== news.hubCli;
    return { changes, replaces, deleteBeforeReplace: replaces.length > 0 };
  },

  async create(inputs) {
    const info = requireRunningHub(inputs.stateDir);
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
      throw new Error(`iothub-local policy add ${inputs.policyName} failed: ${failureOf(error)}.${exists}`);
    }

    const outputs: LocalHubPolicyOutputs = {
      ...inputs,
      hostName: info.hostName,
      serviceConnectionString: connectionString,
      caFile: info.caFile,
      caCertificate: readFileSync(info.caFile, "utf8"),
      gatewayHostName: gatewayHostNameOf(info),
    };
    return { id: `${inputs.stateDir}#${inputs.policyName}`, outs: asState(outputs) };
  },

  async read(id, props) {
    // An empty id tells the engine the resource is gone.
    const gone = { id: "", props: {} as LocalHubPolicyOutputs };
    if (!props) return gone;
    // `pulumi refresh` (and `npm run local`, which refreshes first): a wiped or replaced hub no longer has the policy.
    if (!hasHubDatabase(props.stateDir)) return gone;
    // The hub's current connection string of the policy (captured here, never printed): a policy removed and added
    // again out of band has new keys, and the one in the state no longer works.
    let current: string;
    try {
      current = runPolicyCli(props.hubCli, props.stateDir, ["show", props.policyName]);
    } catch (error) {
      if (/does not exist/.test(stderrOf(error))) return gone;
      throw new Error(`iothub-local policy show ${props.policyName} failed: ${failureOf(error)}`);
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
    // A state dir that is gone took its policies with it.
    if (!hasHubDatabase(props.stateDir)) return;
    try {
      runPolicyCli(props.hubCli, props.stateDir, ["remove", props.policyName]);
    } catch (error) {
      // The CLI's word for a policy that is already gone (local-hub/cli.ts): nothing left to delete.
      if (/does not exist/.test(stderrOf(error))) return;
      throw new Error(`iothub-local policy remove ${props.policyName} failed: ${failureOf(error)}`);
    }
  },
};
