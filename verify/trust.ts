import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { InputError } from "./inputError";

/**
 * Which CA the hub is trusted with. The module client takes a CA in its options, but the service SDK
 * (azure-iothub) has no CA option: it trusts only the system CAs plus NODE_EXTRA_CA_CERTS, which Node reads once
 * at process start. So when a CA comes from --ca or the outputs' caFile and the environment does not already
 * name it, verify runs itself again with NODE_EXTRA_CA_CERTS set. TLS checks are never turned off.
 */

export interface Trust {
  /** PEM the module client is given (every CA that applies), undefined = system CAs only. */
  caPem?: string;
  /** Where the CA came from, for messages: `--ca /x/ca.pem`, `NODE_EXTRA_CA_CERTS=...`, `caFile /x/ca.pem`. */
  description: string;
  /** Set when this process cannot trust the CA in its service SDK: the file NODE_EXTRA_CA_CERTS must name. */
  reexecWith?: string;
}

/** Marks the re-executed process: it reads the outputs from standard input and never re-executes again. */
export const REEXEC_MARKER = "IOTHUB_VERIFY_REEXEC";

export function resolveTrust(
  flagCa: string | undefined,
  outputsCaFile: string | undefined,
  env = process.env,
): Trust {
  const environmentCa = env.NODE_EXTRA_CA_CERTS || undefined;
  const wanted = flagCa ?? outputsCaFile;
  const wantedLabel = flagCa ? `--ca ${flagCa}` : `caFile ${outputsCaFile}`;
  const wantedPem = wanted === undefined ? undefined : readPem(wanted, flagCa ? "--ca" : "caFile");
  const environmentPem = environmentCa === undefined ? undefined : readPemOrUndefined(environmentCa);

  if (wanted === undefined || wantedPem === undefined) {
    return environmentCa
      ? { caPem: environmentPem, description: `NODE_EXTRA_CA_CERTS=${environmentCa}` }
      : { description: "the system's CAs" };
  }
  // The environment already trusts it (same file, or a file holding the same certificate, like a copy of it).
  if (
    environmentCa !== undefined &&
    (resolve(environmentCa) === resolve(wanted) || environmentPem?.includes(wantedPem.trim()))
  ) {
    return { caPem: environmentPem ?? wantedPem, description: wantedLabel };
  }
  const caPem = environmentPem ? `${wantedPem.trim()}\n${environmentPem.trim()}\n` : wantedPem;
  const description = environmentCa ? `${wantedLabel} and NODE_EXTRA_CA_CERTS=${environmentCa}` : wantedLabel;
  if (env[REEXEC_MARKER]) return { caPem, description };
  return { caPem, description, reexecWith: environmentPem ? bundleFile(caPem) : resolve(wanted) };
}

function readPem(file: string, flag: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(`${flag} ${file}: cannot read it (${code === "ENOENT" ? "no such file" : code})`);
  }
  if (!text.includes("-----BEGIN CERTIFICATE-----")) {
    throw new InputError(`${flag} ${file}: is not a PEM certificate (no BEGIN CERTIFICATE block)`);
  }
  return text;
}

function readPemOrUndefined(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

/** Both CAs in one file (certificates are public): NODE_EXTRA_CA_CERTS names a single file. */
function bundleFile(pem: string): string {
  const directory = mkdtempSync(join(tmpdir(), "iothub-verify-ca-"));
  const file = join(directory, "ca-bundle.pem");
  writeFileSync(file, pem);
  process.on("exit", () => rmSync(directory, { recursive: true, force: true }));
  return file;
}

/**
 * Runs this same command again with NODE_EXTRA_CA_CERTS set, hands it the already-read outputs on standard input
 * (secrets never touch the disk or the environment), forwards Ctrl+C/SIGTERM, and resolves with its exit code.
 */
export function reexecWithTrust(caFile: string, outputsText: string): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: ["pipe", "inherit", "inherit"],
    env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile, [REEXEC_MARKER]: "1" },
  });
  child.stdin.end(outputsText);
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  const onInterrupt = forward("SIGINT");
  const onTerminate = forward("SIGTERM");
  process.on("SIGINT", onInterrupt);
  process.on("SIGTERM", onTerminate);
  return new Promise((resolvePromise) => {
    child.on("exit", (code, signal) => {
      process.off("SIGINT", onInterrupt);
      process.off("SIGTERM", onTerminate);
      resolvePromise(code ?? (signal === "SIGINT" ? 130 : 1));
    });
  });
}
