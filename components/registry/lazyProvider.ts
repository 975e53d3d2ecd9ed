import * as path from "node:path";
import type * as pulumi from "@pulumi/pulumi";

/**
 * The provider object a resource hands to Pulumi: a small stub that loads the implementation from the project on
 * first use in the provider process.
 *
 * Why: the engine sends the serialized provider (`__provider`) with EVERY call, and the provider server decodes it
 * from protobuf and echoes it back in check's and create's answers. Serialized by value, the implementation with
 * its rules, SAS and REST layers is ~70 KB, and the provider server spent ~15 ms per call decoding it (measured
 * here: 100 check calls took 2.2 s with a 70 KB text, 0.6 s with a tiny one; every KB still costs both sides
 * ~40 us per call in google-protobuf's string coding and the garbage it leaves). The stub is ~1.4 KB:
 * `configure`, which loads the implementation, and `create`. It holds no key material: keys only ever arrive as inputs.
 *
 * Only this function is closure-serialized. The stub's captured values do not outlive a call (the serialized text
 * rebuilds them on each one), so the loaded implementation is kept on `globalThis`, under a symbol made inside the
 * loader (a captured Symbol value does not survive serialization). What the stub loads is a normal module graph,
 * loaded once per provider process: the four registry providers share its module-level state (limiters, clients).
 *
 * The implementation is found relative to the provider process's working directory (the engine starts it in the
 * project directory), else at the absolute path it had when serialized. TypeScript is loaded through tsx, which
 * the project runs everything with (no build step); a compiled .js implementation is required directly. Note that
 * `delete` of an old state therefore runs the project's current implementation, not a copy stored in the state.
 * An implementation's methods are copied onto the stub, so they must not depend on being called on their own
 * object, and an implementation's own `configure` is never called.
 */
export function lazyProvider(
  implementationFile: string,
  relativeFile: string,
  exportName: string,
): pulumi.dynamic.ResourceProvider {
  return {
    // The provider server calls configure once, right after it deserializes the stub and before any other method
    // (@pulumi/pulumi's cmd/dynamic-provider, getProvider): the stub then takes on the implementation's methods,
    // so the text the engine sends with every call needs no forwarder per method.
    async configure() {
      const loaded = ((globalThis as Record<symbol, unknown>)[
        Symbol.for(`iothub-provisioner:${relativeFile}`)
      ] ??= (() => {
        const local = require("node:path").resolve(relativeFile);
        const file = require("node:fs").existsSync(local) ? local : implementationFile;
        return file.endsWith(".ts") ? require("tsx/cjs/api").require(file, file) : require(file);
      })()) as Record<string, pulumi.dynamic.ResourceProvider>;
      if (!loaded[exportName]) throw new Error(`${relativeFile} does not export the provider ${exportName}`);
      Object.assign(this, loaded[exportName]);
    },
    // The one method a provider must have. configure replaces it; should a caller skip configure, it runs first.
    async create(inputs) {
      await this.configure!({} as pulumi.dynamic.ConfigureRequest); // reads no config
      return this.create(inputs);
    },
  };
}

/** The project root: this file is components/registry/lazyProvider.ts. */
const PROJECT_ROOT = path.resolve(__dirname, "../..");

/**
 * The stub for the provider `exportName` implemented in `<folder>/<exportName>.ts` (the registry's naming:
 * deviceIdentityProvider in components/registry/deviceIdentityProvider.ts), found as lazyProvider explains.
 * `folder` defaults to this one; another part of the project names its own (its `__dirname`).
 */
export function projectProvider(exportName: string, folder = __dirname): pulumi.dynamic.ResourceProvider {
  const implementationFile = require.resolve(path.join(folder, exportName));
  return lazyProvider(implementationFile, path.relative(PROJECT_ROOT, implementationFile), exportName);
}
