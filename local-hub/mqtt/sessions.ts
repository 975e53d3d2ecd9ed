import type { Database } from "better-sqlite3";

/**
 * The subscriptions of clean=false MQTT sessions, by clientId. The SDK subscribes once and never again, even after
 * a reconnect, so the hub must remember them; kept in hub.db they survive a restart of the hub as well. The hub
 * decides every delivery from this store (it answers one connection at a time), not from the broker's routing.
 */
export interface SessionStore {
  /** filter -> granted QoS */
  subscriptions(clientId: string): ReadonlyMap<string, number>;
  add(clientId: string, filter: string, qos: number): void;
  remove(clientId: string, filter: string): void;
  clear(clientId: string): void;
}

export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, Map<string, number>>();

  subscriptions(clientId: string): ReadonlyMap<string, number> {
    return this.sessions.get(clientId) ?? new Map();
  }

  add(clientId: string, filter: string, qos: number): void {
    let session = this.sessions.get(clientId);
    if (!session) this.sessions.set(clientId, (session = new Map()));
    session.set(filter, qos);
  }

  remove(clientId: string, filter: string): void {
    this.sessions.get(clientId)?.delete(filter);
  }

  clear(clientId: string): void {
    this.sessions.delete(clientId);
  }
}

/** Writes through to the `mqtt_sessions` table of hub.db; reads from memory (only the hub process writes it). */
export class SqliteSessionStore implements SessionStore {
  private readonly memory = new MemorySessionStore();
  private readonly insert;
  private readonly delete;
  private readonly deleteAll;

  constructor(db: Database) {
    db.exec(
      `CREATE TABLE IF NOT EXISTS mqtt_sessions (
         client_id TEXT NOT NULL, filter TEXT NOT NULL, qos INTEGER NOT NULL, PRIMARY KEY (client_id, filter))`,
    );
    this.insert = db.prepare(
      "INSERT OR REPLACE INTO mqtt_sessions (client_id, filter, qos) VALUES (?, ?, ?)",
    );
    this.delete = db.prepare("DELETE FROM mqtt_sessions WHERE client_id = ? AND filter = ?");
    this.deleteAll = db.prepare("DELETE FROM mqtt_sessions WHERE client_id = ?");
    const rows = db.prepare("SELECT client_id, filter, qos FROM mqtt_sessions").all() as {
      client_id: string;
      filter: string;
      qos: number;
    }[];
    for (const row of rows) this.memory.add(row.client_id, row.filter, row.qos);
  }

  subscriptions(clientId: string): ReadonlyMap<string, number> {
    return this.memory.subscriptions(clientId);
  }

  add(clientId: string, filter: string, qos: number): void {
    if (this.memory.subscriptions(clientId).get(filter) === qos) return;
    this.insert.run(clientId, filter, qos);
    this.memory.add(clientId, filter, qos);
  }

  remove(clientId: string, filter: string): void {
    if (!this.memory.subscriptions(clientId).has(filter)) return;
    this.delete.run(clientId, filter);
    this.memory.remove(clientId, filter);
  }

  clear(clientId: string): void {
    if (this.memory.subscriptions(clientId).size === 0) return;
    this.deleteAll.run(clientId);
    this.memory.clear(clientId);
  }
}
