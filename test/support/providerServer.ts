/**
 * The real dynamic-provider gRPC server that ships in @pulumi/pulumi, started the way the engine starts it, and a
 * small typed client for it. Tests (and the end-to-end program test's mocks) drive the registry providers through
 * this exactly as `pulumi up/refresh/destroy` would: serialized provider text in `__provider`, props as Structs.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";

/* eslint-disable @typescript-eslint/no-explicit-any -- the generated protobuf modules ship loose typings */
const providerGrpc = require("@pulumi/pulumi/proto/provider_grpc_pb") as any;
const providerProto = require("@pulumi/pulumi/proto/provider_pb") as any;
const structProto = require("google-protobuf/google/protobuf/struct_pb") as any;

const PROJECT_DIR = path.resolve(__dirname, "../..");
const PROVIDER_KEY = "__provider";

export type Props = Record<string, unknown>;

export interface CheckResult {
  inputs: Props;
  failures: { property: string; reason: string }[];
}

export interface DiffResult {
  changes: "none" | "some" | "unknown";
  replaces: string[];
  deleteBeforeReplace: boolean;
}

/** A gRPC error from the server (create/update failures carry the provider's message). */
export interface ProviderCallError extends Error {
  code?: number;
  details?: string;
}

export interface ProviderServer {
  /** `127.0.0.1:<port>` of the server. */
  address: string;
  /** The server process's pid (benchmarks read its CPU time). */
  pid: number;
  check(provider: string, olds: Props, news: Props): Promise<CheckResult>;
  diff(provider: string, id: string, olds: Props, news: Props): Promise<DiffResult>;
  create(provider: string, props: Props): Promise<{ id: string; outs: Props }>;
  /** id "" means the resource is gone. */
  read(provider: string, id: string, props: Props): Promise<{ id: string; props: Props }>;
  update(provider: string, id: string, olds: Props, news: Props): Promise<Props>;
  delete(provider: string, id: string, props: Props): Promise<void>;
  /** Closes the client and ends the server process. */
  stop(): Promise<void>;
}

export interface ProviderServerOptions {
  /** Extra environment for the server process (it inherits the test's environment otherwise). */
  env?: NodeJS.ProcessEnv;
  /** Extra node flags for the server process (e.g. --cpu-prof for a benchmark). */
  nodeArgs?: string[];
}

/** Starts the server in a child process in the project dir; resolves once it printed its port. */
export async function startProviderServer(options: ProviderServerOptions = {}): Promise<ProviderServer> {
  const entry = require.resolve("@pulumi/pulumi/cmd/dynamic-provider");
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), entry, "127.0.0.1:0"], {
    cwd: PROJECT_DIR,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const port = await firstLine(child);
  const address = `127.0.0.1:${port}`;
  const client = new providerGrpc.ResourceProviderClient(address, grpc.credentials.createInsecure(), {
    "grpc.max_receive_message_length": 64 * 1024 * 1024,
    "grpc.max_send_message_length": 64 * 1024 * 1024,
  });

  const unary = <T>(method: string, request: unknown): Promise<T> =>
    new Promise((resolve, reject) => {
      client[method](request, (error: ProviderCallError | null, response: T) => {
        if (error) reject(error);
        else resolve(response);
      });
    });

  return {
    address,
    pid: child.pid ?? -1,
    async check(provider, olds, news) {
      const request = new providerProto.CheckRequest();
      // A new resource has no old inputs: the engine sends an empty struct, without a provider.
      request.setOlds(toStruct(olds, Object.keys(olds ?? {}).length > 0 ? provider : undefined));
      request.setNews(toStruct(news, provider));
      const response = await unary<any>("check", request);
      return {
        inputs: fromStruct(response.getInputs()),
        failures: response
          .getFailuresList()
          .map((failure: any) => ({ property: failure.getProperty(), reason: failure.getReason() })),
      };
    },
    async diff(provider, id, olds, news) {
      const request = new providerProto.DiffRequest();
      request.setId(id);
      request.setOlds(toStruct(olds, provider));
      request.setNews(toStruct(news, provider));
      const response = await unary<any>("diff", request);
      const changes = response.getChanges();
      const kinds = providerProto.DiffResponse.DiffChanges;
      return {
        changes: changes === kinds.DIFF_SOME ? "some" : changes === kinds.DIFF_NONE ? "none" : "unknown",
        replaces: response.getReplacesList(),
        deleteBeforeReplace: response.getDeletebeforereplace(),
      };
    },
    async create(provider, props) {
      const request = new providerProto.CreateRequest();
      request.setProperties(toStruct(props, provider));
      const response = await unary<any>("create", request);
      return { id: response.getId(), outs: fromStruct(response.getProperties()) };
    },
    async read(provider, id, props) {
      const request = new providerProto.ReadRequest();
      request.setId(id);
      request.setProperties(toStruct(props, provider));
      const response = await unary<any>("read", request);
      return { id: response.getId(), props: fromStruct(response.getProperties()) };
    },
    async update(provider, id, olds, news) {
      const request = new providerProto.UpdateRequest();
      request.setId(id);
      request.setOlds(toStruct(olds, provider));
      request.setNews(toStruct(news, provider));
      const response = await unary<any>("update", request);
      return fromStruct(response.getProperties());
    },
    async delete(provider, id, props) {
      const request = new providerProto.DeleteRequest();
      request.setId(id);
      request.setProperties(toStruct(props, provider));
      await unary<unknown>("delete", request);
    },
    async stop() {
      client.close();
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** Props as the engine sends them: JSON values only (undefined dropped), plus the serialized provider if any. */
function toStruct(props: Props, provider: string | undefined): unknown {
  const plain = jsonValue(props ?? {}) as Props;
  if (provider !== undefined) plain[PROVIDER_KEY] = provider;
  return structProto.Struct.fromJavaScript(plain);
}

/**
 * A copy of `value` as JSON would carry it (keys holding undefined dropped, undefined in arrays as null), without
 * a JSON text round trip: the engine stand-in should cost what the engine's own encoding does, not more.
 */
function jsonValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : jsonValue(item)));
  if (typeof value !== "object" || value === null) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) if (item !== undefined) copy[key] = jsonValue(item);
  return copy;
}

function fromStruct(struct: any): Props {
  const props = (struct ? struct.toJavaScript() : {}) as Props;
  delete props[PROVIDER_KEY];
  return props;
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      const newline = out.indexOf("\n");
      if (newline >= 0) {
        child.stdout?.off("data", onData);
        resolve(out.slice(0, newline).trim());
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (chunk: Buffer) => (err += chunk.toString()));
    child.once("exit", (code) =>
      reject(new Error(`dynamic provider server exited (${code}) before its port: ${err}`)),
    );
    child.once("error", reject);
  });
}

/**
 * The `__provider` text of every registry provider, serialized in a separate node process (jest's sandbox confuses
 * the serializer). Keyed by resource name: DeviceIdentity, ModuleIdentity, ModuleTwin, DeviceTwin, Configuration,
 * EdgeDeployment, EdgeDeviceModules.
 */
export async function serializedProviders(): Promise<Record<string, string>> {
  const script = path.join(PROJECT_DIR, "test/registry/serializeProviders.ts");
  const child = spawn(process.execPath, ["--import", "tsx", script], {
    cwd: PROJECT_DIR,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`serializing the providers failed (${code}): ${err}`);
  const results = JSON.parse(out) as Record<string, { ok: boolean; text?: string; error?: string }>;
  const texts: Record<string, string> = {};
  for (const [name, result] of Object.entries(results)) {
    if (!result.ok || !result.text) throw new Error(`serializing ${name} failed: ${result.error}`);
    texts[name] = result.text;
  }
  return texts;
}
