import { Option } from "commander";

/**
 * `-o json|table|tsv` of the service commands. json prints the whole answer (pretty-printed JSON); table and tsv
 * print the columns a command names, table with a header line for people, tsv without one for scripts (values
 * tab-separated, one line per row, objects as compact JSON, absent values empty). Without `-o`, a terminal gets a
 * table and anything else (a pipe, a file) JSON.
 */

export const OUTPUT_FORMATS = ["json", "table", "tsv"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export const outputOption = (): Option =>
  new Option("-o, --output <format>", "output format (default: table on a terminal, else json)").choices(
    OUTPUT_FORMATS,
  );

/** A column of table/tsv output: its header and how a row shows in it. */
export interface Column<Row> {
  header: string;
  value: (row: Row) => unknown;
}

/** Columns for rows of any shape (query results): every top-level field that any row has, in order of appearance. */
export function columnsOf(rows: readonly Record<string, unknown>[]): Column<Record<string, unknown>>[] {
  const names = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  return names.map((name) => ({ header: name, value: (row) => row[name] }));
}

/** Prints `data` (one row or a list) in `format` (default by the terminal). */
export function printOutput<Row>(
  data: Row | Row[],
  columns: Column<Row>[],
  format: OutputFormat | undefined,
  out: NodeJS.WriteStream = process.stdout,
): void {
  const chosen = format ?? (out.isTTY ? "table" : "json");
  out.write(renderOutput(data, columns, chosen));
}

export function renderOutput<Row>(data: Row | Row[], columns: Column<Row>[], format: OutputFormat): string {
  if (format === "json") return JSON.stringify(data, null, 2) + "\n";
  const rows = (Array.isArray(data) ? data : [data]).map((row) =>
    columns.map((column) => cellText(column.value(row))),
  );
  if (format === "tsv") return rows.map((cells) => cells.join("\t") + "\n").join("");
  const headers = columns.map((column) => column.header);
  const widths = headers.map((header, index) =>
    Math.max(header.length, ...rows.map((cells) => cells[index].length)),
  );
  const line = (cells: string[]): string =>
    cells
      .map((cell, index) => cell.padEnd(widths[index]))
      .join("  ")
      .trimEnd() + "\n";
  return line(headers) + line(widths.map((width) => "-".repeat(width))) + rows.map(line).join("");
}

/**
 * One cell: text as it is, objects as compact JSON, absent values empty. Tabs and line breaks inside a value are
 * escaped, so a value can never add a column or a row.
 */
function cellText(value: unknown): string {
  if (value === undefined || value === null) return "";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.replace(/[\t\r\n]/g, (character) => ({ "\t": "\\t", "\r": "\\r", "\n": "\\n" })[character]!);
}
