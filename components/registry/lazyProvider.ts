import type * as pulumi from "@pulumi/pulumi";
import { processWide } from "./processState";

/**
 * The provider object a resource hands to Pulumi: a small stub that loads the implementation from the project on
 * first use in the provider process.
 *
 * Why: the engine sends the serialized provider (`__provider`) with EVERY call. Serialized by value, the
 * implementation with its rules, SAS and REST layers is ~70 KB, and the provider server spent ~15 ms per call
 * decoding it (measured here: 100 check calls took 2.2 s with a 70 KB text, 0.6 s with a tiny one), which made
 * the providers slower than one SDK call after another. The stub is ~2 KB. It holds no key material: keys only
 * ever arrive as inputs.
 *
 * The implementation is found relative to the provider process's working directory (the engine starts it in the
 * project directory), else at the absolute path it had when serialized. TypeScript is loaded through tsx, which
 * the project runs everything with (no build step); a compiled .js implementation is required directly. Note that
 * `delete` of an old state therefore runs the project's current implementation, not a copy stored in the state.
 */
export function lazyProvider(
  implementationFile: string,
  relativeFile: string,
  exportName: string,
): pulumi.dynamic.ResourceProvider {
  const load = (): pulumi.dynamic.ResourceProvider => {
    const implementations = processWide(
      "implementations",
      () => new Map<string, pulumi.dynamic.ResourceProvider>(),
    );
    const cacheKey = `${relativeFile}#${exportName}`;
    const cached = implementations.get(cacheKey);
    if (cached) return cached;
    const path = require("node:path") as typeof import("node:path");
    const fs = require("node:fs") as typeof import("node:fs");
    const local = path.resolve(process.cwd(), relativeFile);
    const file = fs.existsSync(local) ? local : implementationFile;
    const loaded = (
      file.endsWith(".ts")
        ? (require("tsx/cjs/api") as { require: (id: string, from: string) => unknown }).require(file, file)
        : require(file)
    ) as Record<string, pulumi.dynamic.ResourceProvider>;
    const implementation = loaded[exportName];
    if (!implementation) throw new Error(`${file} does not export the provider ${exportName}`);
    implementations.set(cacheKey, implementation);
    return implementation;
  };
  /* eslint-disable @typescript-eslint/no-explicit-any -- pass the engine's arguments through unchanged */
  return {
    check: (olds: any, news: any) => load().check!(olds, news),
    diff: (id: any, olds: any, news: any) => load().diff!(id, olds, news),
    create: (inputs: any) => load().create(inputs),
    read: (id: any, props: any) => load().read!(id, props),
    update: (id: any, olds: any, news: any) => load().update!(id, olds, news),
    delete: (id: any, props: any) => load().delete!(id, props),
  };
}

/** A project file's path relative to the project root (this file is components/registry/lazyProvider.ts). */
function projectRelative(file: string): string {
  const path = require("node:path") as typeof import("node:path");
  return path.relative(path.resolve(__dirname, "../.."), file);
}

/**
 * The stub for the provider `exportName` of this folder, implemented in `./<exportName>.ts` (the registry's naming:
 * deviceIdentityProvider in deviceIdentityProvider.ts), found as lazyProvider explains.
 */
export function projectProvider(exportName: string): pulumi.dynamic.ResourceProvider {
  const implementationFile = require.resolve(`./${exportName}`);
  return lazyProvider(implementationFile, projectRelative(implementationFile), exportName);
}
