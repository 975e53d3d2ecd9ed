import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { readableCertificates } from "../lib/iothub/caCertificates";
import { InputError } from "./inputError";

/**
 * Which CA the hub is trusted with: `--ca`, else the outputs' `caFile`, plus NODE_EXTRA_CA_CERTS. Both SDKs get it
 * in this process: the module client through one TLS secure context (verify/moduleClient.ts), the service SDK
 * through the service-client factory (lib/iothub/serviceClient.ts). TLS checks are never turned off.
 */

export interface Trust {
  /** Every CA that applies, as PEM (the module client's `ca` replaces the system CAs); undefined = system CAs only. */
  caPem?: string;
  /** Where the CA came from, for messages: `--ca /x/ca.pem`, `NODE_EXTRA_CA_CERTS=...`, `caFile /x/ca.pem`. */
  description: string;
}

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
  return environmentPem
    ? {
        caPem: `${wantedPem.trim()}\n${environmentPem.trim()}\n`,
        description: `${wantedLabel} and NODE_EXTRA_CA_CERTS=${environmentCa}`,
      }
    : { caPem: wantedPem, description: wantedLabel };
}

function readPem(file: string, flag: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(`${flag} ${file}: cannot read it (${code === "ENOENT" ? "no such file" : code})`);
  }
  try {
    readableCertificates(text, `${flag} ${file}`);
  } catch (error) {
    throw new InputError((error as Error).message);
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
