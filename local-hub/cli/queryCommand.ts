import type { Command } from "commander";
import type { ServiceTwin } from "../../lib/iothub/twin";
import { exitAfterOutput, UsageError } from "./commandLine";
import { columnsOf, printOutput } from "./output";
import { callService, serviceTarget, withServiceFlags, type ServiceFlags } from "./serviceTarget";
import { twinDocument, TWIN_COLUMNS } from "./twinCommands";

/**
 * `query "SELECT ..." [--top N]`: IoT Hub's query language through the service SDK, every page (or the first N
 * results). Each next page is asked for with the continuation token the last one returned: the SDK's promise-style
 * `next()` without a token would ask for the first page again, for ever.
 */

interface QueryFlags extends ServiceFlags {
  top?: string;
  pageSize?: string;
}

/** The most results IoT Hub returns per page (x-ms-max-item-count). */
const MAX_PAGE_SIZE = 100;

export function addQueryCommand(program: Command): void {
  withServiceFlags(
    program
      .command("query <sql>")
      .description("run a query (e.g. \"SELECT * FROM devices WHERE tags.site = 'x'\"), all pages")
      .option("--top <n>", "at most N results")
      .option(
        "--page-size <n>",
        `results per request, 1-${MAX_PAGE_SIZE} (default: ${MAX_PAGE_SIZE}, or --top when less)`,
      ),
  ).action(
    exitAfterOutput(async (sql: string, flags: QueryFlags) => {
      if (sql.trim() === "") throw new UsageError("query: must not be empty");
      const top = wholeNumber("--top", flags.top, Number.MAX_SAFE_INTEGER);
      const pageSize =
        wholeNumber("--page-size", flags.pageSize, MAX_PAGE_SIZE) ??
        Math.min(top ?? MAX_PAGE_SIZE, MAX_PAGE_SIZE);
      const query = serviceTarget(flags).registry().createQuery(sql, pageSize);
      const rows: Record<string, unknown>[] = [];
      do {
        const page = await callService(() => query.next(query.continuationToken));
        rows.push(...(page.result as Record<string, unknown>[]));
      } while (query.hasMoreResults && (top === undefined || rows.length < top));
      const results = top === undefined ? rows : rows.slice(0, top);
      const twins =
        results.length > 0 && results.every((row) => typeof row.deviceId === "string" && "properties" in row);
      if (twins) printOutput(results.map(twinDocument) as ServiceTwin[], TWIN_COLUMNS, flags.output);
      else printOutput(results, columnsOf(results), flags.output);
    }),
  );
}

/** A flag's whole number >= 1 and <= max; undefined when the flag is not given. */
function wholeNumber(flag: string, text: string | undefined, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = /^[0-9]{1,16}$/.test(text) ? Number(text) : NaN;
  if (!(value >= 1 && value <= max)) {
    throw new UsageError(
      `${flag}: '${text}' must be a whole number${max < Number.MAX_SAFE_INTEGER ? `, 1-${max}` : " >= 1"}`,
    );
  }
  return value;
}
