/**
 * As close to `pulumi up` as this machine allows (no Pulumi CLI): a mock engine that keeps a stack's state across
 * program runs and hands every dynamic resource to the real dynamic-provider gRPC server, with the engine's own
 * steps: check, then create, or diff against the state and update or replace (delete first when the provider
 * asks), and after the run delete what the program no longer declares, newest first. `destroy()` deletes all.
 *
 * Provider texts: the program serializes each provider when it registers a resource; under jest the serializer
 * can go wrong silently, so a program run under jest gets the texts made by the same serializer in a plain node
 * process, as the real program (run by Pulumi in node) makes them. Without such texts (a program run in its own
 * node process), the `__provider` the program sent is used, as the engine does.
 */
import { spawnSync } from "node:child_process";
import type * as PulumiModule from "@pulumi/pulumi";
import type { ProviderServer } from "../../support/providerServer";
import { PROJECT_DIR, plainInputs, type MockEngine } from "./runProgram";

const DYNAMIC_PREFIX = "pulumi-nodejs:dynamic";

interface StateEntry {
  type: string;
  name: string;
  id: string;
  /** The serialized provider the resource was made with: its delete runs this one, as the engine's does. */
  provider: string;
  /** The checked inputs of the last step (the engine's "olds" for the next check). */
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
}

/** {LocalHubPolicy|DeviceIdentity|...: serialized provider text}, made in a child node process. */
export function serializeProgramProviders(): Record<string, string> {
  const run = spawnSync(process.execPath, ["--import", "tsx", "test/program/support/serializeProviders.ts"], {
    cwd: PROJECT_DIR,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.status !== 0) throw new Error(`serializing the providers failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as Record<string, string>;
}

export interface StepLog {
  create: string[];
  update: string[];
  replace: string[];
  delete: string[];
  same: string[];
}

export class Deployment implements MockEngine {
  private readonly state = new Map<string, StateEntry>();
  /** Creation order: deletes run in reverse, so dependents go before what they depend on. */
  private readonly order: string[] = [];
  private seen = new Set<string>();
  /** `pulumi preview`: check and diff only; the steps say what an up would do. */
  private previewing = false;
  steps: StepLog = emptySteps();

  constructor(
    private readonly server: ProviderServer,
    private readonly providerTexts: Record<string, string> = {},
  ) {}

  /** The resources in the stack's state, by type (the short name, e.g. "ModuleTwin"). */
  resources(type?: string): StateEntry[] {
    return this.order
      .map((key) => this.state.get(key)!)
      .filter((entry) => !type || shortType(entry.type) === type);
  }

  /** Call before each program run; a preview changes nothing (the program runs with --dry-run). */
  beginRun(options: { preview?: boolean } = {}): void {
    this.previewing = options.preview ?? false;
    this.seen = new Set();
    this.steps = emptySteps();
  }

  /** Call after a successful program run: deletes what the program no longer declares. */
  async endRun(): Promise<void> {
    for (const key of [...this.order].reverse()) {
      if (this.seen.has(key)) continue;
      if (this.previewing) this.steps.delete.push(this.state.get(key)!.name);
      else await this.deleteEntry(key);
    }
  }

  async destroy(): Promise<void> {
    this.steps = emptySteps();
    for (const key of [...this.order].reverse()) await this.deleteEntry(key);
  }

  async newResource(args: PulumiModule.runtime.MockResourceArgs) {
    if (!args.type.startsWith(DYNAMIC_PREFIX)) {
      // components: nothing to do; they only group their children
      return { id: undefined, state: {} };
    }
    const key = `${args.type}::${args.name}`;
    if (this.seen.has(key)) throw new Error(`duplicate resource name ${key}`);
    this.seen.add(key);

    const plain = plainInputs(args.inputs) as Record<string, unknown>;
    const provider = this.providerTexts[shortType(args.type)] ?? plain.__provider;
    if (typeof provider !== "string") throw new Error(`no serialized provider for ${args.type}`);
    const news = withoutProvider(plain);
    const old = this.state.get(key);

    const checked = await this.server.check(provider, old?.inputs ?? {}, news);
    if (checked.failures.length > 0) {
      throw new Error(`${args.name}: ${checked.failures.map((failure) => failure.reason).join("; ")}`);
    }
    const inputs = withoutProvider(checked.inputs);

    // A preview answers with the checked inputs: outputs the provider would add stay unknown to the program.
    if (!old) {
      if (this.previewing) {
        this.steps.create.push(args.name);
        return { id: undefined, state: inputs };
      }
      const created = await this.server.create(provider, inputs);
      this.record(key, {
        type: args.type,
        name: args.name,
        id: created.id,
        provider,
        inputs,
        outputs: withoutProvider(created.outs),
      });
      this.steps.create.push(args.name);
    } else {
      const diff = await this.server.diff(provider, old.id, old.outputs, inputs);
      if (this.previewing && diff.changes !== "none") {
        this.steps[diff.replaces.length > 0 ? "replace" : "update"].push(args.name);
        return { id: old.id, state: inputs };
      }
      if (diff.replaces.length > 0) {
        // The engine deletes first only when asked to; otherwise it creates the replacement first.
        if (diff.deleteBeforeReplace) await this.server.delete(old.provider, old.id, old.outputs);
        const created = await this.server.create(provider, inputs);
        if (!diff.deleteBeforeReplace) await this.server.delete(old.provider, old.id, old.outputs);
        this.state.set(key, {
          ...old,
          id: created.id,
          provider,
          inputs,
          outputs: withoutProvider(created.outs),
        });
        this.steps.replace.push(args.name);
      } else if (diff.changes !== "none") {
        const outs = await this.server.update(provider, old.id, old.outputs, inputs);
        this.state.set(key, { ...old, provider, inputs, outputs: withoutProvider(outs) });
        this.steps.update.push(args.name);
      } else {
        this.steps.same.push(args.name);
      }
    }
    const entry = this.state.get(key)!;
    return { id: entry.id, state: entry.outputs };
  }

  call(args: PulumiModule.runtime.MockCallArgs): Record<string, unknown> {
    throw new Error(`the local target makes no invoke, but ${args.token} was called`);
  }

  private record(key: string, entry: StateEntry): void {
    this.state.set(key, entry);
    this.order.push(key);
  }

  private async deleteEntry(key: string): Promise<void> {
    const entry = this.state.get(key);
    if (!entry) return;
    // delete runs the provider stored with the state, as the engine does
    await this.server.delete(entry.provider, entry.id, entry.outputs);
    this.state.delete(key);
    this.order.splice(this.order.indexOf(key), 1);
    this.steps.delete.push(entry.name);
  }
}

function emptySteps(): StepLog {
  return { create: [], update: [], replace: [], delete: [], same: [] };
}

function shortType(type: string): string {
  return type.slice(type.lastIndexOf(":") + 1);
}

function withoutProvider(props: Record<string, unknown>): Record<string, unknown> {
  const { __provider: _provider, ...rest } = props;
  return rest;
}
