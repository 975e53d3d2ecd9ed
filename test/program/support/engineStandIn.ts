/**
 * A stand-in for the Pulumi engine of `pulumi up` / `pulumi destroy`, for a program started the way the nodejs
 * language host starts it (./languageHost.ts): one gRPC server with the ResourceMonitor and Engine services the
 * @pulumi/pulumi runtime calls. Custom resources must be dynamic (`pulumi-nodejs:dynamic*`): they go, with the
 * `__provider` the program serialized, to the real dynamic-provider server through `Deployment` (check, then create
 * or diff -> update/replace, state across runs, deletes newest first). Components only get their URN.
 *
 * Secrets as the engine treats them for the dynamic provider (which does not accept secrets): inputs are unwrapped
 * for the provider, and an output is re-marked secret when the input of the same name was secret or the resource
 * lists it in `additionalSecretOutputs`. The stack outputs are the root stack's RegisterResourceOutputs. A preview
 * (--dry-run) answers with the checked inputs, so what the providers would add stays unknown to the program.
 */
import { spawn } from "node:child_process";
import * as grpc from "@grpc/grpc-js";
import type { ProviderServer } from "../../support/providerServer";
import { collectOutput } from "../../support/hubProcess";
import { Deployment, type StepLog } from "./deployment";
import { programCommand, type RunRequest } from "./languageHost";
import { SECRET_SIG, SECRET_SIG_KEY, isSecretInput, plainInputs } from "./runProgram";

/* eslint-disable @typescript-eslint/no-explicit-any -- the generated protobuf modules ship loose typings */
const resourceGrpc = require("@pulumi/pulumi/proto/resource_grpc_pb") as any;
const resourceProto = require("@pulumi/pulumi/proto/resource_pb") as any;
const engineGrpc = require("@pulumi/pulumi/proto/engine_grpc_pb") as any;
const engineProto = require("@pulumi/pulumi/proto/engine_pb") as any;
const emptyProto = require("google-protobuf/google/protobuf/empty_pb") as any;
const structProto = require("google-protobuf/google/protobuf/struct_pb") as any;

const STACK_TYPE = "pulumi:pulumi:Stack";
const DYNAMIC_PREFIX = "pulumi-nodejs:dynamic";
/** Monitor features this stand-in implements; the runtime asks for each one and gets false for the others. */
const SUPPORTED_FEATURES = new Set(["secrets"]);
const LOG_SEVERITIES = ["debug", "info", "warning", "error"] as const;

export interface EngineLog {
  severity: (typeof LOG_SEVERITIES)[number];
  message: string;
  urn: string;
}

export interface ProgramRunResult {
  /** The program process's exit code (32: it failed and already logged why, through Engine.Log). */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** Everything the program logged through the engine. */
  logs: EngineLog[];
  /** The stack outputs, secrets unwrapped. */
  outputs: Record<string, unknown>;
  /** Paths of the stack outputs that are secret, e.g. `serviceConnectionString`, `modules[0].connectionString`. */
  secretOutputs: string[];
  /** What the run did to the dynamic resources (a preview: what an up would do). */
  steps: StepLog;
}

/** What a run needs from the caller: the RunRequest without the stand-in's own addresses and the preview flag. */
export type UpRequest = Omit<RunRequest, "monitorAddress" | "engineAddress" | "dryRun">;

export interface EngineStandIn {
  /** `127.0.0.1:<port>`: both the resource monitor and the engine. */
  address: string;
  /** One `pulumi up` (no preview): runs the program to its end, then deletes what it no longer declares. */
  up(request: UpRequest): Promise<ProgramRunResult>;
  /**
   * `pulumi preview` (what `pulumi up` runs first): the program runs with --dry-run, resources are checked and
   * diffed but nothing changes; the steps say what an up would do, outputs not known yet are the unknown marker.
   */
  preview(request: UpRequest): Promise<ProgramRunResult>;
  /** `pulumi destroy`: deletes every resource in the state, newest first (the program does not run). */
  destroy(): Promise<StepLog>;
  /** The dynamic resources in the state, by short type (e.g. "ModuleTwin"). */
  resources(type?: string): ReturnType<Deployment["resources"]>;
  stop(): Promise<void>;
}

export async function startEngineStandIn(server: ProviderServer): Promise<EngineStandIn> {
  const deployment = new Deployment(server);
  let run: RunState = newRunState("", "");

  const grpcServer = new grpc.Server();
  grpcServer.addService(resourceGrpc.ResourceMonitorService, {
    supportsFeature: unary(async (request: any) => {
      const response = new resourceProto.SupportsFeatureResponse();
      response.setHassupport(SUPPORTED_FEATURES.has(request.getId()));
      return response;
    }),
    registerResource: unary((request: any) => registerResource(deployment, run, request)),
    registerResourceOutputs: unary(async (request: any) => {
      if (request.getUrn() === run.stackUrn) run.stackOutputs = request.getOutputs()?.toJavaScript() ?? {};
      return new emptyProto.Empty();
    }),
    signalAndWaitForShutdown: unary(async () => new emptyProto.Empty()),
  });
  grpcServer.addService(engineGrpc.EngineService, {
    log: unary(async (request: any) => {
      run.logs.push({
        severity: LOG_SEVERITIES[request.getSeverity()] ?? "info",
        message: request.getMessage(),
        urn: request.getUrn(),
      });
      return new emptyProto.Empty();
    }),
    getRootResource: unary(async () => {
      const response = new engineProto.GetRootResourceResponse();
      response.setUrn(run.rootUrn);
      return response;
    }),
    setRootResource: unary(async (request: any) => {
      run.rootUrn = request.getUrn();
      return new engineProto.SetRootResourceResponse();
    }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  const address = `127.0.0.1:${port}`;

  async function runOnce(request: UpRequest, dryRun: boolean): Promise<ProgramRunResult> {
    const command = programCommand({ ...request, dryRun, monitorAddress: address, engineAddress: address });
    run = newRunState(command.project.name, request.stack);
    deployment.beginRun({ preview: dryRun });
    const exited = await runToExit(command);
    // The engine deletes what the program no longer declares only after a program that succeeded.
    if (exited.exitCode === 0) await deployment.endRun();
    const stackOutputs = run.stackOutputs ?? {};
    return {
      ...exited,
      logs: run.logs,
      outputs: plainInputs(stackOutputs) as Record<string, unknown>,
      secretOutputs: secretPaths(stackOutputs),
      steps: deployment.steps,
    };
  }

  return {
    address,
    up: (request) => runOnce(request, false),
    preview: (request) => runOnce(request, true),
    async destroy() {
      await deployment.destroy();
      return deployment.steps;
    },
    resources: (type) => deployment.resources(type),
    stop: () =>
      new Promise<void>((resolve) => {
        grpcServer.tryShutdown(() => resolve());
      }),
  };
}

interface RunState {
  project: string;
  stack: string;
  stackUrn?: string;
  rootUrn: string;
  stackOutputs?: Record<string, unknown>;
  logs: EngineLog[];
}

function newRunState(project: string, stack: string): RunState {
  return { project, stack, rootUrn: "", logs: [] };
}

async function registerResource(deployment: Deployment, run: RunState, request: any): Promise<unknown> {
  const type: string = request.getType();
  const name: string = request.getName();
  const urn = urnOf(run, type, name, request.getParent());
  if (type === STACK_TYPE) run.stackUrn = urn;
  const response = new resourceProto.RegisterResourceResponse();
  response.setUrn(urn);
  if (!request.getCustom()) {
    response.setObject(structProto.Struct.fromJavaScript({}));
    return response;
  }
  if (!type.startsWith(DYNAMIC_PREFIX)) {
    throw new Error(`${name}: the engine stand-in runs dynamic resources only, not ${type}`);
  }
  const inputs = (request.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>;
  const result = await deployment.newResource({ type, name, inputs, custom: true });
  const secret = new Set<string>(request.getAdditionalsecretoutputsList());
  for (const [key, value] of Object.entries(inputs)) if (isSecretInput(value)) secret.add(key);
  const outputs = Object.fromEntries(
    Object.entries(result.state).map(([key, value]) => [key, secret.has(key) ? secretValue(value) : value]),
  );
  response.setId(result.id ?? "");
  response.setObject(structProto.Struct.fromJavaScript(outputs));
  return response;
}

/** The engine's URN: the type is qualified by the parent's type chain, except the root stack's. */
function urnOf(run: RunState, type: string, name: string, parentUrn: string): string {
  const parentType = parentUrn ? parentUrn.split("::")[2] : "";
  const qualifiedType = parentType && parentType !== STACK_TYPE ? `${parentType}$${type}` : type;
  return `urn:pulumi:${run.stack}::${run.project}::${qualifiedType}::${name}`;
}

function secretValue(value: unknown): Record<string, unknown> {
  return { [SECRET_SIG_KEY]: SECRET_SIG, value };
}

/** Paths of the secret values in `value` (secrets inside secrets are not listed again). */
function secretPaths(value: unknown, at = ""): string[] {
  if (isSecretInput(value)) return [at];
  if (Array.isArray(value)) return value.flatMap((item, index) => secretPaths(item, `${at}[${index}]`));
  if (value !== null && typeof value === "object") {
    return Object.entries(value).flatMap(([key, item]) => secretPaths(item, at ? `${at}.${key}` : key));
  }
  return [];
}

/** Runs the program's command to its exit, collecting what it prints. */
async function runToExit(command: {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
}): Promise<{ exitCode: number | null; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await collectOutput(
    spawn(command.command, command.args, {
      cwd: command.cwd,
      env: command.env,
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  return { exitCode: code, stdout, stderr };
}

/** A gRPC unary handler from an async function; a rejection becomes the call's error with its message. */
function unary(handle: (request: any) => Promise<unknown>) {
  return (call: { request: any }, callback: grpc.sendUnaryData<unknown>): void => {
    handle(call.request).then(
      (response) => callback(null, response),
      (error: unknown) =>
        callback({
          code: grpc.status.UNKNOWN,
          details: error instanceof Error ? error.message : String(error),
        } as grpc.ServiceError),
    );
  };
}
