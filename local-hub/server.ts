import { serviceConnectionString } from "../lib/iothub/sas";
import { OWNER_POLICY, PolicyStore } from "./authentication/policyStore";
import { Chaos } from "./chaos";
import type { HubConfiguration } from "./configuration";
import { HubStartError, listenError } from "./errors/startError";
import { HubEvents } from "./events";
import type { Route } from "./handlers/route";
import type { HttpsListener } from "./http/httpsListener";
import { listenHttps } from "./http/httpsListener";
import { createServiceApi } from "./http/serviceApi";
import { createServiceRoutes } from "./handlers";
import { IdentityStore } from "./persistence/identityStore";
import { PrincipalStore } from "./persistence/principalStore";
import { BearerAuthenticator } from "./authentication/bearerAuthentication";
import type { Authority } from "./entra/accessToken";
import { ensureTokenSigningKey } from "./entra/signingKey";
import { createTokenEndpoint } from "./entra/tokenEndpoint";
import { ConfigurationStore } from "./persistence/configurationStore";
import { AdmEngine } from "./adm/engine";
import { createMethodRoutes } from "./handlers/methods";
import { startDeviceApi, type DeviceApi } from "./mqtt";
import {
  ensureStateDirectory,
  findRunningHub,
  type HubInfo,
  openStateDatabase,
  removeHubInfo,
  writeHubInfo,
} from "./stateDir";
import { ensureHubTls } from "./tls";
import { escapingLog } from "./hubLog";

export interface RunningHub {
  info: HubInfo;
  /** Closes listeners and connections, closes the database, removes hub.json. Safe to call twice. */
  close(): Promise<void>;
}

export interface StartOptions {
  log?: (line: string) => void;
}

/**
 * Starts the hub: TLS material, hub.db, the service API on HTTPS and the device API on MQTT, all on one store and
 * one event bus. Resolves once both listen and hub.json is written. Throws HubStartError for what the user can fix.
 */
export async function startHub(config: HubConfiguration, options: StartOptions = {}): Promise<RunningHub> {
  // Log lines quote what clients sent: escaped, so none can write a line of its own.
  const log = escapingLog(options.log ?? ((line: string) => console.log(line)));
  ensureStateDirectory(config.stateDir);
  const running = findRunningHub(config.stateDir);
  if (running) {
    throw new HubStartError(
      `a hub (pid ${running.pid}) already runs on ${config.stateDir}; stop it (iothub-local stop --state ${config.stateDir}) or use another --state`,
      1,
    );
  }
  const tls = ensureHubTls(config.stateDir, [config.host, config.hostName]);
  const db = openStateDatabase(config.stateDir);
  const closers: Array<() => Promise<void> | void> = [
    () => {
      db.close();
    },
  ];
  const closeAll = async (): Promise<void> => {
    while (closers.length > 0) await closers.pop()!();
  };

  try {
    const policies = new PolicyStore(db);
    // hub.json's connection string is the owner's: without that policy there is nothing to hand clients.
    const owner = policies.get(OWNER_POLICY);
    if (!owner)
      throw new HubStartError(`hub.db has no '${OWNER_POLICY}' policy; add it back with policy add`, 1);
    const chaos = new Chaos(db);
    if (config.quota) chaos.quotas.set(config.quota);
    for (const fault of config.faults) chaos.faults.add(fault);
    const events = new HubEvents();
    // One store for both APIs: each instance creates the schema and prepares its statements.
    const store = new IdentityStore(db, events);
    const configurations = new ConfigurationStore(db, events);

    // The device API first: direct-method routes invoke through it.
    const deviceApi: DeviceApi = await startDeviceApi({
      host: config.host,
      port: config.mqttPort,
      key: tls.server.keyPem,
      cert: tls.server.certificatePem,
      ca: tls.ca.certificatePem,
      hostName: config.hostName,
      events,
      db,
      store,
      chaos,
      stateDir: config.stateDir,
      log,
    }).catch((error: unknown) => {
      throw listenError(error, "MQTT", config.host, config.mqttPort);
    });
    closers.push(() => deviceApi.close());

    // The Entra token endpoint before the service API: bearer tokens are judged against its authority.
    const principals = new PrincipalStore(db);
    const signingKey = ensureTokenSigningKey(config.stateDir);
    // Known once the listener has its port, which comes before its first request.
    const bound: { authority?: Authority } = {};
    const currentAuthority = (): Authority => bound.authority!;
    const tokenEndpoint: HttpsListener = await listenHttps(
      { host: config.host, port: config.entraPort, key: tls.server.keyPem, cert: tls.server.certificatePem },
      createTokenEndpoint({ principals, signingKey, authority: currentAuthority, log }),
    ).catch((error: unknown) => {
      throw listenError(error, "Entra token endpoint", config.host, config.entraPort);
    });
    closers.push(() => tokenEndpoint.close());
    const tenantId = principals.tenantId();
    const authority: Authority = (bound.authority = {
      authorityHost: authorityHostOf(config.hostName, tokenEndpoint.port),
      tenantId,
      tokenIssuer: `${authorityHostOf(config.hostName, 443)}/${tenantId}/`,
    });

    const routes: Route[] = [
      ...createServiceRoutes({ store, configurations, hostName: config.hostName }),
      ...createMethodRoutes(deviceApi),
    ];
    const https: HttpsListener = await listenHttps(
      { host: config.host, port: config.httpsPort, key: tls.server.keyPem, cert: tls.server.certificatePem },
      createServiceApi({
        routes,
        policies,
        chaos,
        hostName: config.hostName,
        bearer: new BearerAuthenticator(principals, signingKey, currentAuthority),
        disableLocalAuth: config.disableLocalAuth,
        log,
      }),
    ).catch((error: unknown) => {
      throw listenError(error, "HTTPS", config.host, config.httpsPort);
    });
    closers.push(() => https.close());

    // ADM runs on what both APIs change; it stops before they close.
    const adm = new AdmEngine({ store, configurations, events, intervalMs: config.admIntervalMs, log });
    adm.start();
    closers.push(() => adm.stop());

    const info: HubInfo = {
      hostName: config.hostName,
      connectionString: serviceConnectionString(config.hostName, owner.name, owner.primaryKey),
      caFile: tls.ca.file,
      httpsPort: https.port,
      mqttPort: deviceApi.port,
      host: config.host,
      pid: process.pid,
      stateDir: config.stateDir,
      entra: { authorityHost: authority.authorityHost, tenantId },
      disableLocalAuth: config.disableLocalAuth,
    };
    log(`iothub-local entra: authority ${authority.authorityHost}, tenant ${authority.tenantId}`);
    log(
      `iothub-local ready: https://${config.hostName}:${info.httpsPort} (bound ${config.host}), ` +
        `mqtts port ${info.mqttPort}, state ${config.stateDir}`,
    );
    writeHubInfo(config.stateDir, info);

    let closing: Promise<void> | undefined;
    return {
      info,
      close: () => {
        closing ??= (async () => {
          removeHubInfo(config.stateDir);
          await closeAll();
        })();
        return closing;
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** `https://<hostName>[:<port>]`, an IPv6 address in brackets: what @azure/identity takes as its authorityHost. */
function authorityHostOf(hostName: string, port: number): string {
  const host = hostName.includes(":") ? `[${hostName}]` : hostName;
  return port === 443 ? `https://${host}` : `https://${host}:${port}`;
}
