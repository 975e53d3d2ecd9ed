import type {
  ComparisonOperator,
  Condition,
  Literal,
  Operand,
  QuerySource,
  SelectItem,
  TargetCondition,
  TwinQuery,
} from "../query/twinQueryAst";
import { samePath } from "./twinQueryEvaluation";

/**
 * The parser of IoT Hub's query language for twins:
 *   SELECT [TOP n] * | <item> [AS name], ... FROM devices | devices.modules [WHERE <condition>]
 *     [GROUP BY <path>, ...]
 * where an item is a property path (deviceId, moduleId, tags.x, properties.reported.x, ...) or COUNT(), and a
 * condition compares paths and literals (=, !=, <>, <, >, <=, >=), tests IN / NIN [lists] and IS_DEFINED(path),
 * and combines them with AND, OR, NOT and parentheses.
 *
 * Untrusted text: a query longer than IoT Hub's limit is refused before it is read, and the parser recurses only
 * per level of parentheses and NOT, which is bounded, so no input can exhaust the stack. Every refusal is a
 * QuerySyntaxError whose message names the construct.
 */

export type {
  ComparisonOperator,
  Condition,
  Literal,
  Operand,
  SelectItem,
  TargetCondition,
  TwinQuery,
} from "../query/twinQueryAst";

/** IoT Hub: "Query expressions can have a maximum length of 8192 characters." */
export const MAX_QUERY_LENGTH = 8192;

/**
 * How deep parentheses and NOT may nest. IoT Hub documents no such limit; within 8,192 characters a query could
 * otherwise nest ~4,000 levels, and real conditions nest a handful.
 */
export const MAX_NESTING_DEPTH = 100;

/** A query the hub cannot run; the handler answers 400 with this message. */
export class QuerySyntaxError extends Error {}

type Token = (
  | { kind: "word"; text: string; segments: string[] }
  | { kind: "string"; value: string }
  | { kind: "number"; value: number }
  | { kind: "symbol"; text: string }
) & { position: number };

const SYMBOLS = ["!=", "<>", "<=", ">=", "=", "<", ">", "(", ")", "[", "]", ",", "*"];
const COMPARISON_SYMBOLS = new Set(["=", "!=", "<>", "<", ">", "<=", ">="]);

const WHITESPACE = /\s+/y;
const NUMBER = /-?(0[xX][0-9a-fA-F]+|\d+(\.\d+)?([eE][+-]?\d+)?)/y;
const IDENTIFIER = /[A-Za-z_$][\w$]*/y;
const STRING_ESCAPES: Record<string, string> = { "'": "'", '"': '"', "\\": "\\" };

function matchAt(pattern: RegExp, text: string, position: number): string | undefined {
  pattern.lastIndex = position;
  return pattern.exec(text)?.[0];
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const char = text[i];
    const space = matchAt(WHITESPACE, text, i);
    if (space) {
      i += space.length;
      continue;
    }
    if (char === "'" || char === '"') {
      const [value, end] = readString(text, i);
      tokens.push({ kind: "string", value, position: i });
      i = end;
      continue;
    }
    const number = /[0-9-]/.test(char) ? matchAt(NUMBER, text, i) : undefined;
    if (number) {
      const negative = number.startsWith("-");
      const digits = negative ? number.slice(1) : number;
      const magnitude = /^0[xX]/.test(digits) ? parseInt(digits.slice(2), 16) : Number(digits);
      tokens.push({ kind: "number", value: negative ? -magnitude : magnitude, position: i });
      i += number.length;
      continue;
    }
    const word = readWord(text, i);
    if (word) {
      tokens.push({ kind: "word", text: text.slice(i, word.end), segments: word.segments, position: i });
      i = word.end;
      continue;
    }
    const symbol = SYMBOLS.find((s) => text.startsWith(s, i));
    if (!symbol) throw new QuerySyntaxError(`unexpected character '${char}' at position ${i}`);
    tokens.push({ kind: "symbol", text: symbol, position: i });
    i += symbol.length;
  }
  return tokens;
}

/**
 * A dotted path (tags.location.region, devices.modules) is one word. After a dot, `[[any name]]` is a segment
 * too, as in IoT Hub's `configurations.[[configId]].status`, for names that are no identifier.
 */
function readWord(text: string, start: number): { segments: string[]; end: number } | undefined {
  const first = matchAt(IDENTIFIER, text, start);
  if (!first) return undefined;
  const segments = [first];
  let i = start + first.length;
  while (text[i] === ".") {
    i++;
    if (text.startsWith("[[", i)) {
      const close = text.indexOf("]]", i + 2);
      if (close <= i + 2) throw new QuerySyntaxError(`'[[' at position ${i} needs a name and ']]'`);
      segments.push(text.slice(i + 2, close));
      i = close + 2;
      continue;
    }
    const segment = matchAt(IDENTIFIER, text, i);
    if (!segment) throw new QuerySyntaxError(`expected a property name after '.' at position ${i - 1}`);
    segments.push(segment);
    i += segment.length;
  }
  return { segments, end: i };
}

/** A string literal from its opening quote: its value and the position after its closing quote. */
function readString(text: string, start: number): [string, number] {
  const quote = text[start];
  let value = "";
  let i = start + 1;
  while (i < text.length) {
    const char = text[i];
    if (char === quote) return [value, i + 1];
    if (char !== "\\") {
      value += char;
      i++;
      continue;
    }
    const escaped = text[i + 1];
    if (escaped !== undefined && escaped in STRING_ESCAPES) {
      value += STRING_ESCAPES[escaped];
      i += 2;
    } else if (escaped === "u" && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
      value += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
      i += 6;
    } else {
      throw new QuerySyntaxError(
        `string at position ${start}: unknown escape at position ${i} (allowed: \\', \\", \\\\, \\uXXXX)`,
      );
    }
  }
  throw new QuerySyntaxError(`unterminated string starting at position ${start}`);
}

/** Constructs of SQL or of IoT Hub's language that this hub does not run, with what to say about each. */
const UNSUPPORTED_CLAUSES: Record<string, string> = {
  ORDER: "ORDER BY is not part of IoT Hub's query language",
  HAVING: "HAVING is not part of IoT Hub's query language",
  JOIN: "JOIN is not part of IoT Hub's query language: devices and devices.modules cannot be joined",
  LIMIT: "LIMIT is not part of IoT Hub's query language",
  OFFSET: "OFFSET is not part of IoT Hub's query language",
};
const UNSUPPORTED_AGGREGATES = new Set(["SUM", "AVG", "MIN", "MAX"]);

class Parser {
  private position = 0;

  constructor(private readonly tokens: Token[]) {}

  parseQuery(): TwinQuery {
    this.expectWord("SELECT");
    const top = this.acceptWord("TOP") ? this.parseTop() : undefined;
    const select = this.parseSelectList();
    this.expectWord("FROM");
    const query: TwinQuery = { from: this.parseSource(), select };
    if (top !== undefined) query.top = top;
    if (this.acceptWord("WHERE")) query.where = this.parseCondition();
    if (this.acceptWord("GROUP")) {
      this.expectWord("BY");
      query.groupBy = [this.parsePath("GROUP BY")];
      while (this.acceptSymbol(",")) query.groupBy.push(this.parsePath("GROUP BY"));
    }
    this.expectEnd();
    checkAggregation(query);
    return query;
  }

  /** `[FROM devices[.modules] WHERE] <condition>`, or `*` for every twin. */
  parseTargetCondition(): TargetCondition {
    const target: TargetCondition = {};
    if (this.tokens.length === 1 && this.isSymbol(this.tokens[0], "*")) return target;
    if (this.acceptWord("FROM")) {
      target.from = this.parseSource();
      this.expectWord("WHERE");
    }
    target.where = this.parseCondition();
    this.expectEnd();
    return target;
  }

  private parseSelectList(): "*" | SelectItem[] {
    const first = this.tokens[this.position];
    const keyword = first?.kind === "word" ? first.text.toUpperCase() : undefined;
    if (keyword === "DISTINCT" || keyword === "VALUE") {
      throw new QuerySyntaxError(`SELECT ${keyword} is not part of IoT Hub's query language`);
    }
    if (this.acceptSymbol("*")) return "*";
    const items: SelectItem[] = [];
    let unnamed = 0;
    do {
      const item = this.parseSelectItem(unnamed + 1);
      if (item.kind === "count" && item.name === `$${unnamed + 1}`) unnamed++;
      items.push(item);
    } while (this.acceptSymbol(","));
    const seen = new Set<string>();
    for (const item of items) {
      if (seen.has(item.name)) {
        throw new QuerySyntaxError(`SELECT: the name '${item.name}' is given twice (rename one with AS)`);
      }
      seen.add(item.name);
    }
    return items;
  }

  /** `TOP <n>`: at most n rows in all. */
  private parseTop(): number {
    const count = this.next();
    if (count?.kind !== "number" || !Number.isSafeInteger(count.value) || count.value < 1) {
      throw new QuerySyntaxError(`TOP takes a whole number of rows, at least 1, found ${describe(count)}`);
    }
    return count.value;
  }

  /**
   * A path or COUNT(), named by AS, else by the path's last property; an unnamed COUNT() is `$1`, `$2`, ... in
   * order, as Cosmos DB's SQL (which IoT Hub's language follows) names unnamed expressions.
   */
  private parseSelectItem(ordinal: number): SelectItem {
    const token = this.tokens[this.position];
    const next = this.tokens[this.position + 1];
    const isCall = token?.kind === "word" && this.isSymbol(next, "(");
    let item: SelectItem;
    if (isCall && token.text.toUpperCase() === "COUNT") {
      this.position += 2;
      this.expectSymbol(")", "COUNT takes no argument: COUNT()");
      item = { kind: "count", name: `$${ordinal}` };
    } else if (isCall && UNSUPPORTED_AGGREGATES.has(token.text.toUpperCase())) {
      throw new QuerySyntaxError(
        `SELECT ${token.text.toUpperCase()}(): this aggregate is not supported by the local hub (COUNT() is)`,
      );
    } else {
      const path = this.parsePath("SELECT");
      item = { kind: "path", path, name: path[path.length - 1] };
    }
    if (this.acceptWord("AS")) {
      const alias = this.next();
      if (alias?.kind !== "word" || alias.segments.length > 1) {
        throw new QuerySyntaxError(`AS must be followed by a name without dots, found ${describe(alias)}`);
      }
      item.name = alias.text;
    }
    return item;
  }

  private parseSource(): QuerySource {
    const source = this.next();
    if (source?.kind !== "word") throw new QuerySyntaxError("FROM must name devices or devices.modules");
    const name = source.text.toLowerCase();
    if (name === "devices") return "devices";
    if (name === "devices.modules") return "modules";
    if (name === "devices.jobs") throw new QuerySyntaxError("FROM devices.jobs: the local hub runs no jobs");
    throw new QuerySyntaxError(`FROM ${source.text}: only devices and devices.modules can be queried`);
  }

  private parseCondition(): Condition {
    return this.parseOr(0);
  }

  private parseOr(depth: number): Condition {
    const operands: Condition[] = [];
    do {
      joinOperand(operands, "or", this.parseAnd(depth));
    } while (this.acceptWord("OR"));
    return operands.length === 1 ? operands[0] : { kind: "or", operands };
  }

  private parseAnd(depth: number): Condition {
    const operands: Condition[] = [];
    do {
      joinOperand(operands, "and", this.parseNot(depth));
    } while (this.acceptWord("AND"));
    return operands.length === 1 ? operands[0] : { kind: "and", operands };
  }

  private parseNot(depth: number): Condition {
    if (this.acceptWord("NOT")) return { kind: "not", operand: this.parseNot(nested(depth)) };
    return this.parsePrimary(depth);
  }

  private parsePrimary(depth: number): Condition {
    if (this.acceptSymbol("(")) {
      const inner = this.parseOr(nested(depth));
      this.expectSymbol(")");
      return inner;
    }
    const token = this.tokens[this.position];
    if (token?.kind === "word" && token.text.toUpperCase() === "IS_DEFINED") {
      this.position++;
      this.expectSymbol("(");
      const operand = this.parseOperand();
      if (operand.kind !== "path") throw new QuerySyntaxError("IS_DEFINED takes a property path");
      this.expectSymbol(")");
      return { kind: "isDefined", path: operand.path };
    }
    if (token?.kind === "word" && this.isSymbol(this.tokens[this.position + 1], "(")) {
      throw new QuerySyntaxError(
        `function ${token.text.toUpperCase()}() is not supported in twin queries (IS_DEFINED() is)`,
      );
    }
    const left = this.parseOperand();
    if (this.peekWord("IN") || this.peekWord("NIN")) {
      const negated = this.peekWord("NIN");
      this.position++;
      return { kind: "in", negated, operand: left, values: this.parseList() };
    }
    const operatorToken = this.next();
    if (operatorToken?.kind !== "symbol" || !COMPARISON_SYMBOLS.has(operatorToken.text)) {
      throw new QuerySyntaxError(`expected a comparison operator, found ${describe(operatorToken)}`);
    }
    const operator = (operatorToken.text === "<>" ? "!=" : operatorToken.text) as ComparisonOperator;
    return { kind: "compare", operator, left, right: this.parseOperand() };
  }

  /** `[literal, literal, ...]` */
  private parseList(): Literal[] {
    this.expectSymbol("[");
    const values: Literal[] = [];
    for (;;) {
      const item = this.parseOperand();
      if (item.kind !== "literal") throw new QuerySyntaxError("IN and NIN take a list of values");
      values.push(item.value);
      const separator = this.next();
      if (this.isSymbol(separator, "]")) return values;
      if (!this.isSymbol(separator, ",")) {
        throw new QuerySyntaxError(`expected ',' or ']' in the list, found ${describe(separator)}`);
      }
    }
  }

  private parseOperand(): Operand {
    const token = this.tokens[this.position];
    if (token?.kind === "string" || token?.kind === "number") {
      this.position++;
      return { kind: "literal", value: token.value };
    }
    if (token?.kind === "word") {
      const upper = token.text.toUpperCase();
      if (upper === "TRUE" || upper === "FALSE" || upper === "NULL") {
        this.position++;
        return { kind: "literal", value: upper === "NULL" ? null : upper === "TRUE" };
      }
      return { kind: "path", path: this.parsePath("the condition") };
    }
    throw new QuerySyntaxError(`expected a property or a value, found ${describe(token)}`);
  }

  private parsePath(clause: string): string[] {
    const token = this.next();
    if (token?.kind !== "word") {
      throw new QuerySyntaxError(`${clause}: expected a property path, found ${describe(token)}`);
    }
    const path = [...token.segments];
    // `devices.tags.x` and `devices.modules.moduleId` name the same property as `tags.x` / `moduleId`.
    if (path[0].toLowerCase() === "devices" && path.length > 1) path.shift();
    if (path[0].toLowerCase() === "modules" && path.length > 1) path.shift();
    return path;
  }

  private expectEnd(): void {
    const rest = this.next();
    if (!rest) return;
    const clause = rest.kind === "word" ? UNSUPPORTED_CLAUSES[rest.text.toUpperCase()] : undefined;
    throw new QuerySyntaxError(clause ?? `unexpected ${describe(rest)} after the query`);
  }

  private next(): Token | undefined {
    return this.tokens[this.position++];
  }

  private isWord(token: Token | undefined, word: string): boolean {
    return token?.kind === "word" && token.text.toUpperCase() === word;
  }

  private isSymbol(token: Token | undefined, symbol: string): boolean {
    return token?.kind === "symbol" && token.text === symbol;
  }

  private peekWord(word: string): boolean {
    return this.isWord(this.tokens[this.position], word);
  }

  private acceptWord(word: string): boolean {
    if (!this.peekWord(word)) return false;
    this.position++;
    return true;
  }

  private acceptSymbol(symbol: string): boolean {
    if (!this.isSymbol(this.tokens[this.position], symbol)) return false;
    this.position++;
    return true;
  }

  private expectWord(word: string): void {
    const token = this.next();
    if (!this.isWord(token, word)) throw new QuerySyntaxError(`expected ${word}, found ${describe(token)}`);
  }

  private expectSymbol(symbol: string, rule?: string): void {
    const token = this.next();
    if (!this.isSymbol(token, symbol)) {
      throw new QuerySyntaxError(rule ?? `expected '${symbol}', found ${describe(token)}`);
    }
  }
}

/** `(a AND b) AND c` is one AND of three: the same meaning, and the store's prefilter sees every operand. */
function joinOperand(operands: Condition[], kind: "and" | "or", operand: Condition): void {
  if (operand.kind === kind) operands.push(...operand.operands);
  else operands.push(operand);
}

function nested(depth: number): number {
  if (depth + 1 > MAX_NESTING_DEPTH) {
    throw new QuerySyntaxError(
      `the condition nests parentheses and NOT more than ${MAX_NESTING_DEPTH} levels deep`,
    );
  }
  return depth + 1;
}

/** With GROUP BY or COUNT(), a row stands for a group: it can carry only the grouped properties and counts. */
function checkAggregation(query: TwinQuery): void {
  const counts = query.select !== "*" && query.select.some((item) => item.kind === "count");
  if (!query.groupBy && !counts) return;
  if (query.select === "*") {
    throw new QuerySyntaxError("SELECT * cannot be grouped: select the GROUP BY properties and COUNT()");
  }
  const grouped = query.groupBy ?? [];
  for (const item of query.select) {
    if (item.kind === "path" && !grouped.some((path) => samePath(path, item.path))) {
      throw new QuerySyntaxError(
        `SELECT ${item.path.join(".")}: with COUNT() or GROUP BY, only the GROUP BY properties can be selected`,
      );
    }
  }
}

function describe(token: Token | undefined): string {
  if (!token) return "the end of the query";
  if (token.kind === "string") return `'${token.value}'`;
  if (token.kind === "number") return String(token.value);
  return `'${token.text}'`;
}

function tokensOf(text: string): Token[] {
  if (text.length > MAX_QUERY_LENGTH) {
    throw new QuerySyntaxError(
      `the query is ${text.length} characters long, over IoT Hub's limit of ${MAX_QUERY_LENGTH}`,
    );
  }
  return tokenize(text);
}

export function parseTwinQuery(text: string): TwinQuery {
  return new Parser(tokensOf(text)).parseQuery();
}

/**
 * An ADM target condition (`tags.env='prod' AND properties.reported.x > 1`, optionally after
 * `FROM devices.modules WHERE`; `*` for every twin), with the same rules and limits as a query's WHERE.
 */
export function parseTargetCondition(text: string): TargetCondition {
  return new Parser(tokensOf(text)).parseTargetCondition();
}
