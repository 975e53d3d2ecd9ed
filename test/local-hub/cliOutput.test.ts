import { flagsSharingWords } from "../../local-hub/cli/commandLine";
import { columnsOf, renderOutput } from "../../local-hub/cli/output";

/**
 * The rendering rules behind `-o json|table|tsv` for rows of any shape (query results the local hub never
 * produces, e.g. an Azure hub's aggregates), and the flag suggestion rule; the commands themselves are tested as
 * child processes against a hub (cliService.test.ts, cliRefusals.test.ts).
 */
describe("renderOutput", () => {
  const rows = [
    { total: 3, site: "lab" },
    { site: "tab\there\nand a line", extra: { a: 1 } },
  ];

  it("table: a header, a rule and aligned columns, one per field any row has", () => {
    expect(renderOutput(rows, columnsOf(rows), "table")).toBe(
      [
        "total  site                   extra",
        "-----  ---------------------  -------",
        "3      lab",
        '       tab\\there\\nand a line  {"a":1}',
        "",
      ].join("\n"),
    );
  });

  it("tsv: no header; a tab or line break inside a value is escaped, so it adds no column or row", () => {
    expect(renderOutput(rows, columnsOf(rows), "tsv")).toBe('3\tlab\t\n\ttab\\there\\nand a line\t{"a":1}\n');
  });

  it("json: the data as it is, pretty-printed", () => {
    expect(JSON.parse(renderOutput(rows, columnsOf(rows), "json"))).toEqual(rows);
  });
});

describe("flagsSharingWords", () => {
  it("suggests every flag that has all the words of the unknown one", () => {
    const flags = ["--state", "--https-port", "--mqtt-port", "--host", "--hostname"];
    expect(flagsSharingWords("--port", flags)).toEqual(["--https-port", "--mqtt-port"]);
    expect(flagsSharingWords("--mqtt", flags)).toEqual(["--mqtt-port"]);
    expect(flagsSharingWords("--hst", flags)).toEqual([]);
  });
});
