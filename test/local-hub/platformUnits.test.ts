import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseFaultSpec } from "../../local-hub/chaos/faults";
import { Chaos } from "../../local-hub/chaos";
import { parseQuotaSpec, TokenBucket } from "../../local-hub/chaos/quotas";
import { configurationFromFlags } from "../../local-hub/configuration";
import { listenError } from "../../local-hub/errors/startError";
import type { Route } from "../../local-hub/handlers/route";
import { Router } from "../../local-hub/http/router";
import { openDatabase } from "../../local-hub/persistence/database";

/** The platform's pure parts, where a hub process would only slow the check down. */

const route = (method: Route["method"], pattern: string): Route => ({
  method,
  pattern,
  right: "RegistryRead",
  operationClass: "registry",
  handle: () => ({ status: 200 }),
});

describe("router", () => {
  const router = new Router([
    route("GET", "/devices/:id"),
    route("POST", "/devices/query"),
    route("GET", "/devices"),
    route("PUT", "/devices/:id/modules/:moduleId"),
  ]);

  it("prefers literal segments over parameters, ignores a trailing slash, URL-decodes parameters", () => {
    const query = router.lookup("POST", "/devices/query");
    expect(query.found && query.match.route.pattern).toBe("/devices/query");
    const list = router.lookup("GET", "/devices/");
    expect(list.found && list.match.route.pattern).toBe("/devices");
    const module = router.lookup("PUT", "/devices/a%23b/modules/m%3A1");
    expect(module.found && module.match.params).toEqual({ id: "a#b", moduleId: "m:1" });
  });

  it("tells 405 (other methods exist) from 404 (no such path)", () => {
    expect(router.lookup("DELETE", "/devices/query")).toEqual({ found: false, allowed: ["POST", "GET"] });
    expect(router.lookup("GET", "/nothing")).toEqual({ found: false, allowed: [] });
  });

  it("matches literal segments in any case when asked (DPS), never parameters' values", () => {
    expect(router.lookup("GET", "/Devices/d1").found).toBe(false);
    const dps = new Router([route("POST", "/enrollmentGroups/:id/attestationmechanism")], {
      caseInsensitiveLiterals: true,
    });
    const lower = dps.lookup("POST", "/enrollmentgroups/Group-A/attestationMechanism");
    expect(lower.found && lower.match.params).toEqual({ id: "Group-A" });
  });
});

describe("quotas", () => {
  it("parses presets and rates, and names the field and rule of bad input", () => {
    expect(parseQuotaSpec("registry=5/s,twinRead=100/min")).toEqual([
      { operationClass: "registry", count: 5, per: "s" },
      { operationClass: "twinRead", count: 100, per: "min" },
    ]);
    expect(parseQuotaSpec("s1,registry=1/s")).toContainEqual({
      operationClass: "registry",
      count: 1,
      per: "s",
    });
    expect(() => parseQuotaSpec("registry=0/s")).toThrow(/greater than 0/);
    expect(() => parseQuotaSpec("")).toThrow(/give a preset/);
    expect(parseQuotaSpec("DPS")).toEqual([
      { operationClass: "dpsRegistration", count: 1000, per: "min" },
      { operationClass: "dpsService", count: 200, per: "min" },
    ]);
  });

  it("lets a bucket burst one period's allowance, then refills it at the rate", () => {
    const bucket = new TokenBucket(2, 1000, 0);
    expect([bucket.take(0), bucket.take(0), bucket.take(0)]).toEqual([true, true, false]);
    expect(bucket.take(499)).toBe(false);
    expect(bucket.take(500)).toBe(true);
    expect(bucket.take(10_000)).toBe(true);
    expect(bucket.take(10_000)).toBe(true);
    expect(bucket.take(10_000)).toBe(false);
  });
});

describe("faults", () => {
  it("parses KIND:MODE[:COUNT[:MATCH]] for --fault", () => {
    expect(parseFaultSpec("registry:503")).toEqual({
      kind: "registry",
      mode: "503",
      remaining: 1,
      match: undefined,
    });
    expect(parseFaultSpec("all:reset:0:/devices/a:b")).toEqual({
      kind: "all",
      mode: "reset",
      remaining: undefined,
      match: "/devices/a:b",
    });
    expect(() => parseFaultSpec("registry")).toThrow(/KIND:MODE/);
  });

  it("is consumed once per firing, across connections to the same hub.db (the CLI and the hub)", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "iothub-local-faults-")), "hub.db");
    const hub = new Chaos(openDatabase(file));
    const cli = new Chaos(openDatabase(file));
    // Each connection reads data_version once per synchronous turn; the CLI is another process, so its view of
    // the hub's writes (and the hub's of its) comes on a later turn.
    const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    cli.faults.add(parseFaultSpec("twinRead:503:2"));
    await nextTurn();
    expect(hub.admit("registry", "/devices/d").action).toBe("proceed");
    expect(hub.admit("twinRead", "/twins/d")).toMatchObject({ action: "fault", mode: "503" });
    await nextTurn();
    expect(cli.faults.list()).toMatchObject([{ remaining: 1 }]);
    expect(hub.admit("twinRead", "/twins/d")).toMatchObject({ action: "fault", mode: "503" });
    expect(hub.admit("twinRead", "/twins/d").action).toBe("proceed");
    await nextTurn();
    expect(cli.faults.list()).toEqual([]);
  });

  it("never applies drop to other classes, even through all", () => {
    const chaos = new Chaos(openDatabase(join(mkdtempSync(join(tmpdir(), "iothub-local-drop-")), "hub.db")));
    chaos.faults.add({ kind: "all", mode: "drop", remaining: undefined });
    expect(chaos.admit("registry", "/devices/d").action).toBe("proceed");
    expect(chaos.admit("desiredPush", "$iothub/twin/PATCH/properties/desired/")).toMatchObject({
      mode: "drop",
    });
  });
});

describe("configuration and start errors", () => {
  it("uses --host as the host name unless it is the default or a wildcard address", () => {
    expect(configurationFromFlags({}).hostName).toBe("localhost");
    expect(configurationFromFlags({ host: "127.0.0.5" }).hostName).toBe("127.0.0.5");
    expect(configurationFromFlags({ host: "0.0.0.0" }).hostName).toBe("localhost");
    expect(configurationFromFlags({ host: "127.0.0.5", hostname: "hub.local" }).hostName).toBe("hub.local");
  });

  it("runs the local DPS only with --dps-host, on 443 of another address, named by that address by default", () => {
    expect(configurationFromFlags({}).dps).toBeUndefined();
    expect(configurationFromFlags({ host: "127.0.0.5", dpsHost: "127.0.0.6" }).dps).toEqual({
      host: "127.0.0.6",
      hostName: "127.0.0.6",
      httpsPort: 443,
      mqttPort: 8883,
    });
    expect(configurationFromFlags({ dpsHost: "127.0.0.6", dpsHostname: "dps.example" }).dps).toEqual({
      host: "127.0.0.6",
      hostName: "dps.example",
      httpsPort: 443,
      mqttPort: 8883,
    });
    expect(configurationFromFlags({ dpsHost: "127.0.0.6", dpsMqttPort: "0" }).dps?.mqttPort).toBe(0);
    const refused = (flags: Parameters<typeof configurationFromFlags>[0]) => () =>
      configurationFromFlags(flags);
    expect(refused({ dpsHostname: "dps.example" })).toThrow(
      "--dps-hostname: needs --dps-host (the address the local DPS binds)",
    );
    expect(refused({ dpsMqttPort: "8884" })).toThrow(
      "--dps-mqtt-port: needs --dps-host (the address the local DPS binds)",
    );
    expect(refused({ dpsHost: "127.0.0.6", dpsMqttPort: "70000" })).toThrow(/--dps-mqtt-port/);
    expect(refused({ host: "127.0.0.5", dpsHost: "127.0.0.5", dpsHostname: "dps.example" })).toThrow(
      "--dps-host: '127.0.0.5' is the hub's address; the DPS needs port 443 of another one",
    );
    expect(refused({ host: "127.0.0.5", dpsHost: "127.0.0.6", dpsHostname: "127.0.0.5" })).toThrow(
      "--dps-hostname: '127.0.0.5' must differ from the hub's host name",
    );
    expect(refused({ dpsHost: "0.0.0.0" })).toThrow(/--dps-host: '0.0.0.0' must be an IP address or a name/);
    expect(refused({ host: "0.0.0.0", dpsHost: "127.0.0.6", dpsHostname: "dps.example" })).toThrow(
      "--dps-host: the hub listens on port 443 of every address (--host 0.0.0.0); give the hub an address of its own",
    );
    // Another HTTPS port for the hub leaves 443 of its address free.
    expect(
      configurationFromFlags({
        host: "127.0.0.5",
        httpsPort: "0",
        dpsHost: "127.0.0.5",
        dpsHostname: "dps.example",
        dpsMqttPort: "8884",
      }).dps?.host,
    ).toBe("127.0.0.5");
    // ... but not the hub's MQTT port.
    expect(
      refused({ host: "127.0.0.5", httpsPort: "0", dpsHost: "127.0.0.5", dpsHostname: "dps.example" }),
    ).toThrow(
      "--dps-mqtt-port: 8883 is the hub's MQTT port on '127.0.0.5'; give the DPS another address or port",
    );
  });

  it("maps EACCES on 443 to exit code 2 with the three fixes, EADDRINUSE to 3", () => {
    const eacces = Object.assign(new Error("listen EACCES"), { code: "EACCES" });
    expect(listenError(eacces, "HTTPS", "127.0.0.1", 443)).toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(
        /root[\s\S]*setcap cap_net_bind_service[\s\S]*ip_unprivileged_port_start=443/,
      ),
    });
    const inUse = Object.assign(new Error("listen EADDRINUSE"), { code: "EADDRINUSE" });
    expect(listenError(inUse, "MQTT", "127.0.0.1", 8883)).toMatchObject({ exitCode: 3 });
  });
});
