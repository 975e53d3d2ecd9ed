import BetterSqlite3 from "better-sqlite3";

/** The hub's SQLite connection. Every store (identities, twins, policies, quotas, faults) shares one per process. */
export type Database = BetterSqlite3.Database;

/**
 * Opens (and creates) hub.db. WAL lets the CLI write while the hub reads; synchronous=NORMAL keeps every committed
 * transaction across a `kill -9` of the process (only a power loss could drop the last ones); busy_timeout makes a
 * second process wait for the writer instead of failing with SQLITE_BUSY.
 */
export function openDatabase(file: string): Database {
  const db = new BetterSqlite3(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("busy_timeout = 5000");
  db.pragma("foreign_keys = ON");
  return db;
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
