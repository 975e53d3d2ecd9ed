import * as pulumi from "@pulumi/pulumi";
import {
  SIGNATURE_KEY,
  SECRET_SIGNATURE,
  type RegisteredResource,
  type SdkSourcePosition,
} from "./checkpoint";

/**
 * What the engine stores about a resource besides its provider's answer comes from the language SDK's
 * RegisterResource request: parent, dependencies, property dependencies, additional secret outputs, which inputs
 * the program made secret, source position and stack trace. Rather than restate any of that, this runs the
 * project's real component code under the SDK's mocks (`pulumi.runtime.setMocks`) and records the requests as the
 * SDK sent them.
 */

/** A registration as the SDK sent it: what the engine keeps, and whether it is a custom resource. */
export interface Registration extends RegisteredResource {
  custom: boolean;
  /** The input names registered, `__provider` (the serialized provider of a dynamic resource) among them. */
  inputNames: string[];
}

/* eslint-disable @typescript-eslint/no-explicit-any -- the SDK's generated protobuf request has loose typings */
function registrationOf(request: any): Registration {
  const object = request.getObject()?.toJavaScript() ?? {};
  const propertyDependencies: Record<string, string[]> = {};
  request
    .getPropertydependenciesMap()
    .forEach((urns: any, key: string) => (propertyDependencies[key] = urns.getUrnsList()));
  const isSecret = (value: unknown): boolean =>
    typeof value === "object" && value !== null && (value as any)[SIGNATURE_KEY] === SECRET_SIGNATURE;
  const position = (raw: any): SdkSourcePosition | undefined =>
    raw ? { uri: raw.getUri(), line: raw.getLine(), column: raw.getColumn() } : undefined;
  return {
    type: request.getType(),
    name: request.getName(),
    parent: request.getParent(),
    custom: request.getCustom(),
    dependencies: request.getDependenciesList(),
    propertyDependencies,
    additionalSecretOutputs: request.getAdditionalsecretoutputsList(),
    secretInputs: Object.keys(object).filter((key) => isSecret(object[key])),
    inputNames: Object.keys(object),
    sourcePosition: position(request.getSourceposition()),
    stackTrace: (request.getStacktrace()?.getFramesList() ?? []).map((frame: any) => position(frame.getPc())),
  };
}

/**
 * Runs `program` (which constructs the project's components and returns the resources to wait for) under the SDK's
 * mocks, each resource's outputs being its inputs, and resolves with every registration in the order sent.
 */
export async function programRegistrations(
  project: string,
  stack: string,
  program: () => pulumi.Resource[],
): Promise<Registration[]> {
  await pulumi.runtime.setMocks(
    { newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }), call: () => ({}) },
    project,
    stack,
    false,
  );
  const monitor = pulumi.runtime.getMonitor() as any;
  const registerResource = monitor.registerResource.bind(monitor);
  const registrations: Registration[] = [];
  monitor.registerResource = (request: any, callback: unknown) => {
    registrations.push(registrationOf(request));
    return registerResource(request, callback);
  };
  const resources = program();
  await Promise.all(resources.map((resource) => new Promise((resolve) => resource.urn.apply(resolve))));
  return registrations;
}
