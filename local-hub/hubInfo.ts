import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "./tls/files";

/**
 * hub.json: how clients find a running hub. The first five keys are issue 2's contract; host, pid and stateDir are
 * extensions. It holds the owner's connection string, so it is written 0600 like the key files.
 */
export interface HubInfo {
  hostName: string;
  connectionString: string;
  caFile: string;
  httpsPort: number;
  mqttPort: number;
  host: string;
  pid: number;
  stateDir: string;
}

export const HUB_INFO_FILE = "hub.json";

export function hubInfoPath(stateDir: string): string {
  return join(stateDir, HUB_INFO_FILE);
}

export function writeHubInfo(stateDir: string, info: HubInfo): void {
  writeFileAtomic(hubInfoPath(stateDir), JSON.stringify(info, null, 2) + "\n", 0o600);
}

export function readHubInfo(stateDir: string): HubInfo | undefined {
  const file = hubInfoPath(stateDir);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, "utf8")) as HubInfo;
}

export function removeHubInfo(stateDir: string): void {
  rmSync(hubInfoPath(stateDir), { force: true });
}
