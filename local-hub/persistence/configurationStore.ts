import type { Database, Statement } from "better-sqlite3";
import {
  CONFIGURATION_LIMITS,
  type ConfigurationInput,
  type ConfigurationMetrics,
  type ConfigurationRecord,
} from "../../lib/iothub/configuration";
import {
  configurationAlreadyExists,
  configurationNotFound,
  preconditionFailed,
  quotaExceeded,
} from "../errors/iotHubError";
import type { HubEvents } from "../events";
import type { EtagCondition } from "./identityModels";

export type { ConfigurationMetrics, ConfigurationRecord };

/**
 * ADM configurations and IoT Edge deployments in hub.db (table `configurations`: id, the configuration as JSON,
 * and the order of creation, which breaks priority ties). Writes announce `configurationChanged` on the bus.
 */

const SCHEMA = `
CREATE TABLE IF NOT EXISTS configurations (
  id TEXT PRIMARY KEY,
  configuration TEXT NOT NULL,
  created_sequence INTEGER NOT NULL
) WITHOUT ROWID;
`;

/** A stored configuration: the record, its etag's counter, and its place in the order of creation. */
export interface StoredConfiguration extends ConfigurationRecord {
  version: number;
  createdSequence: number;
}

/** IoT Hub's configuration etags are base64 counters (`MQ==` is version 1). */
const etagOf = (version: number): string => Buffer.from(String(version)).toString("base64");

interface Row {
  configuration: string;
  created_sequence: number;
}

export class ConfigurationStore {
  private readonly statements: Record<string, Statement>;

  constructor(
    private readonly db: Database,
    private readonly events?: HubEvents,
  ) {
    db.exec(SCHEMA);
    this.statements = {
      get: db.prepare("SELECT configuration, created_sequence FROM configurations WHERE id = ?"),
      list: db.prepare(
        "SELECT configuration, created_sequence FROM configurations ORDER BY created_sequence LIMIT ?",
      ),
      count: db.prepare("SELECT COUNT(*) FROM configurations").pluck(),
      nextSequence: db.prepare("SELECT COALESCE(MAX(created_sequence), 0) + 1 FROM configurations").pluck(),
      insert: db.prepare("INSERT INTO configurations (id, configuration, created_sequence) VALUES (?, ?, ?)"),
      update: db.prepare("UPDATE configurations SET configuration = ? WHERE id = ?"),
      delete: db.prepare("DELETE FROM configurations WHERE id = ?"),
    };
  }

  get(id: string): StoredConfiguration | undefined {
    const row = this.statements.get.get(id) as Row | undefined;
    return row && stored(row);
  }

  /** Every configuration in the order of creation (at most `limit`). */
  list(limit: number = CONFIGURATION_LIMITS.configurationsPerHub): StoredConfiguration[] {
    return (this.statements.list.all(limit) as Row[]).map(stored);
  }

  /**
   * Creates (`absent`: 409 when the id exists, 403 for a hub's 101st) or updates one (404 when missing, 412 on a
   * stale etag). An update keeps the id, the content and the creation time whatever the body says: IoT Hub answers
   * 200 and keeps the old content (content is immutable; a changed one needs a new configuration).
   */
  put(input: ConfigurationInput, condition: EtagCondition): ConfigurationRecord {
    const record = this.db.transaction(() => {
      const existing = this.get(input.id);
      const now = new Date().toISOString();
      if (condition === "absent") {
        if (existing) throw configurationAlreadyExists(input.id);
        if ((this.statements.count.get() as number) >= CONFIGURATION_LIMITS.configurationsPerHub) {
          throw quotaExceeded(
            `This hub already has ${CONFIGURATION_LIMITS.configurationsPerHub} configurations, the most IoT Hub allows.`,
          );
        }
        const created: StoredConfiguration = {
          ...fieldsOf(input),
          content: input.content,
          createdTimeUtc: now,
          lastUpdatedTimeUtc: now,
          systemMetrics: { results: {}, queries: {} },
          metrics: { results: {}, queries: input.metricQueries },
          version: 1,
          etag: etagOf(1),
          createdSequence: this.statements.nextSequence.get() as number,
        };
        this.statements.insert.run(input.id, JSON.stringify(created), created.createdSequence);
        return created;
      }
      if (!existing) throw configurationNotFound(input.id);
      if (typeof condition === "object" && condition.etag !== existing.etag) {
        throw preconditionFailed(
          `The etag ${condition.etag} does not match the current etag of configuration ${input.id}.`,
        );
      }
      const updated: StoredConfiguration = {
        ...existing,
        ...fieldsOf(input),
        lastUpdatedTimeUtc: now,
        metrics: { results: existing.metrics.results, queries: input.metricQueries },
        version: existing.version + 1,
        etag: etagOf(existing.version + 1),
      };
      this.statements.update.run(JSON.stringify(updated), input.id);
      return updated;
    })();
    this.events?.emit("configurationChanged", input.id);
    return recordOf(record);
  }

  /** 404 when missing, 412 on a stale etag (IoT Hub takes a delete without If-Match). */
  delete(id: string, condition: EtagCondition): void {
    this.db.transaction(() => {
      const existing = this.get(id);
      if (!existing) throw configurationNotFound(id);
      if (typeof condition === "object" && condition.etag !== existing.etag) {
        throw preconditionFailed(
          `The etag ${condition.etag} does not match the current etag of configuration ${id}.`,
        );
      }
      this.statements.delete.run(id);
    })();
    this.events?.emit("configurationChanged", id);
  }

  /**
   * The engine's metric results; the etag stays (metrics are the hub's, not a change of the configuration).
   * Returns false when nothing changed or the configuration is gone.
   */
  setMetrics(
    id: string,
    systemMetrics: ConfigurationMetrics,
    customResults: Record<string, number>,
  ): boolean {
    return this.db.transaction(() => {
      const existing = this.get(id);
      if (!existing) return false;
      const metrics = { results: customResults, queries: existing.metrics.queries };
      if (
        JSON.stringify(existing.systemMetrics) === JSON.stringify(systemMetrics) &&
        JSON.stringify(existing.metrics) === JSON.stringify(metrics)
      ) {
        return false;
      }
      this.statements.update.run(JSON.stringify({ ...existing, systemMetrics, metrics }), id);
      return true;
    })();
  }
}

function fieldsOf(input: ConfigurationInput) {
  return {
    id: input.id,
    schemaVersion: input.schemaVersion,
    labels: input.labels,
    targetCondition: input.targetCondition,
    priority: input.priority,
  };
}

function stored(row: Row): StoredConfiguration {
  return { ...(JSON.parse(row.configuration) as StoredConfiguration), createdSequence: row.created_sequence };
}

/** The service API's view: without the store's bookkeeping. */
export function recordOf(configuration: StoredConfiguration): ConfigurationRecord {
  const { version: _version, createdSequence: _sequence, ...record } = configuration;
  return record;
}
