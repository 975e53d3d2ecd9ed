import BetterSqlite3 from "better-sqlite3";
import { chmodSync, closeSync, openSync, statSync } from "node:fs";

/** The hub's SQLite connection. Every store (identities, twins, policies, quotas, faults) shares one per process. */
export type Database = BetterSqlite3.Database;

/**
 * Opens (and creates) hub.db. WAL lets the CLI write while the hub reads; synchronous=NORMAL keeps every committed
 * transaction across a `kill -9` of the process (only a power loss could drop the last ones); busy_timeout makes a
 * second process wait for the writer instead of failing with SQLITE_BUSY.
 */
export function openDatabase(file: string): Database {
  createPrivately(file);
  const db = new BetterSqlite3(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("busy_timeout = 5000");
  db.pragma("foreign_keys = ON");
  return db;
}

/** hub.db holds every policy and device key in clear: its owner only may read it. */
export const DATABASE_FILE_MODE = 0o600;

/**
 * Creates hub.db with mode 0600 before SQLite opens it (SQLite would create it under the umask, usually 0644), and
 * tightens an existing one (and its -wal/-shm) that this user owns. SQLite gives -wal and -shm the mode of the
 * database file, so they follow.
 */
function createPrivately(file: string): void {
  closeSync(openSync(file, "a", DATABASE_FILE_MODE));
  for (const path of [file, `${file}-wal`, `${file}-shm`]) {
    let stat;
    try {
      stat = statSync(path);
    } catch {
      continue; // no -wal/-shm yet: SQLite makes them with hub.db's mode
    }
    const ours = typeof process.getuid !== "function" || stat.uid === process.getuid();
    if (ours && (stat.mode & 0o077) !== 0) chmodSync(path, stat.mode & 0o700);
  }
}

/**
 * A value loaded from the database and kept in memory until the database changes. `PRAGMA data_version` changes
 * when ANOTHER connection commits (e.g. `iothub-local policy add` while the hub runs), so checking it is enough to
 * see CLI changes at once; writes through this process's own connection call `invalidate()`.
 */
export class DatabaseCache<T> {
  private value: T | undefined;
  private loadedAtVersion = -1;

  constructor(
    private readonly db: Database,
    private readonly load: (db: Database) => T,
  ) {}

  get(): T {
    const version = dataVersion(this.db);
    if (this.value === undefined || version !== this.loadedAtVersion) {
      this.value = this.load(this.db);
      this.loadedAtVersion = version;
    }
    return this.value;
  }

  invalidate(): void {
    this.value = undefined;
  }
}

/** One prepared statement per connection: `db.pragma()` prepares anew on every call, which costs more than the read. */
const dataVersionStatements = new WeakMap<Database, BetterSqlite3.Statement>();

/**
 * The version read once per synchronous run: one request consults several caches (policies, faults, quotas) in
 * one go, and a change committed by another process in between could not be ordered before them anyway.
 */
const versionsThisTurn = new WeakMap<Database, number>();

export function dataVersion(db: Database): number {
  const known = versionsThisTurn.get(db);
  if (known !== undefined) return known;
  let statement = dataVersionStatements.get(db);
  if (!statement) {
    statement = db.prepare("PRAGMA data_version").pluck();
    dataVersionStatements.set(db, statement);
  }
  const version = statement.get() as number;
  versionsThisTurn.set(db, version);
  queueMicrotask(() => versionsThisTurn.delete(db));
  return version;
}
