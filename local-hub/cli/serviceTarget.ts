import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import type { Client, Registry } from "azure-iothub";
import {
  checkServiceConnectionString,
  parseConnectionString,
  serviceConnectionString,
} from "../../lib/iothub/sas";
import { hubErrorBodyMessage, serviceClient, serviceRegistry } from "../../lib/iothub/serviceClient";
import { OWNER_POLICY, PolicyStore } from "../authentication/policyStore";
import { DEFAULT_STATE_DIR } from "../configuration";
import { findRunningHub, hasHubDatabase, openStateDatabase } from "../stateDir";
import { refuseViolations, UsageError } from "./commandLine";
import { outputOption, type OutputFormat } from "./output";

/**
 * Which hub a service command talks to, through the service SDK (azure-iothub), so the same commands work against
 * the local hub and any IoT hub:
 * - `--connection-string CS` (or IOTHUB_CONNECTION_STRING when neither flag is given): any hub, trusting Node's
 *   CAs, NODE_EXTRA_CA_CERTS and `--ca FILE`;
 * - else `--state DIR` (default .iothub-local): the local hub running there, as its owner policy (key read from
 *   hub.db), trusting its CA (hub.json's caFile) in this process only.
 */

export const CONNECTION_STRING_ENV = "IOTHUB_CONNECTION_STRING";

/** The flags every service command takes. */
export interface ServiceFlags {
  state?: string;
  connectionString?: string;
  ca?: string;
  output?: OutputFormat;
}

/** A hub as the service SDK reaches it. The connection string holds a key: it is never printed or logged. */
export interface ServiceTarget {
  connectionString: string;
  hostName: string;
  caCertificate?: string;
  registry(): Registry;
  client(): Client;
}

/** Adds the target flags and `-o` to a service command. */
export function withServiceFlags(command: Command): Command {
  return command
    .option("--state <dir>", `the local hub's state dir (default: ${DEFAULT_STATE_DIR})`)
    .option(
      "--connection-string <cs>",
      `a service connection string of any IoT hub (default: $${CONNECTION_STRING_ENV} when --state is not given)`,
    )
    .option("--ca <file>", "a PEM CA to trust besides Node's (for --connection-string)")
    .addOption(outputOption());
}

export function serviceTarget(flags: ServiceFlags): ServiceTarget {
  if (flags.state !== undefined && flags.connectionString !== undefined) {
    throw new UsageError("--state, --connection-string: give one of them, not both");
  }
  const fromEnvironment = flags.state === undefined ? process.env[CONNECTION_STRING_ENV] : undefined;
  const given = flags.connectionString ?? fromEnvironment;
  const caCertificate = flags.ca === undefined ? undefined : readCaFile(flags.ca);
  if (given !== undefined) {
    const field = flags.connectionString !== undefined ? "--connection-string" : CONNECTION_STRING_ENV;
    refuseViolations(checkServiceConnectionString(given, field));
    return targetOf(given, caCertificate);
  }
  const local = localHubAccess(resolve(flags.state ?? DEFAULT_STATE_DIR));
  return targetOf(local.connectionString, caCertificate ?? local.caCertificate);
}

function readCaFile(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    throw new UsageError(`--ca: cannot read ${resolve(file)} (${(error as NodeJS.ErrnoException).code})`);
  }
}

/** The owner policy's connection string and the CA of the hub running on `stateDir`. */
function localHubAccess(stateDir: string): { connectionString: string; caCertificate: string } {
  const info = hasHubDatabase(stateDir) ? findRunningHub(stateDir) : undefined;
  if (!info) {
    throw new Error(
      `no hub is running on state dir ${stateDir} (start one with: iothub-local start --state ${stateDir}, ` +
        `or give --connection-string)`,
    );
  }
  const db = openStateDatabase(stateDir);
  try {
    const owner = new PolicyStore(db).get(OWNER_POLICY);
    if (!owner) throw new Error(`the hub on ${stateDir} has no policy ${OWNER_POLICY}`);
    return {
      connectionString: serviceConnectionString(info.hostName, owner.name, owner.primaryKey),
      caCertificate: readFileSync(info.caFile, "utf8"),
    };
  } finally {
    db.close();
  }
}

function targetOf(connectionString: string, caCertificate: string | undefined): ServiceTarget {
  return {
    connectionString,
    hostName: parseConnectionString(connectionString).HostName,
    caCertificate,
    registry: () => serviceRegistry(connectionString, caCertificate),
    client: () => serviceClient(connectionString, caCertificate),
  };
}

/**
 * An error of the service SDK as the user can act on it: IoT Hub's error code and message (`DeviceNotFound:
 * Device d1 not found.`), read from the body the SDK keeps (`Message: "ErrorCode:<Code>;<text>"`); else the
 * SDK's own error name and message (a network error, a timeout).
 */
export class ServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = "ServiceError";
  }

  static from(error: unknown): ServiceError {
    const failure = error as { name?: string; message?: string; code?: string };
    const coded = /^ErrorCode:([^;]+);([\s\S]*)$/.exec(hubErrorBodyMessage(error) ?? "");
    if (coded) return new ServiceError(coded[1], coded[2].trim());
    return new ServiceError(failure.code ?? failure.name ?? "Error", failure.message ?? String(error));
  }
}

/** Runs a service call; a failure becomes a ServiceError (exit code 1). */
export async function callService<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw ServiceError.from(error);
  }
}
