/**
 * The part of IoT Hub's query language the SDK's users need for twins:
 *   SELECT * FROM devices | devices.modules [WHERE <condition>]
 * with comparisons (=, !=, <>, <, >, <=, >=) between property paths (deviceId, moduleId, status, tags.x,
 * properties.desired.x, properties.reported.x, ...) and literals, IN / NIN [lists], AND, OR, NOT, parentheses and
 * IS_DEFINED(path).
 * Conditions are evaluated against the twin JSON the query returns, so a query sees exactly what a GET shows.
 * Pure: the handler parses once per request, then tests each twin the store's scan yields.
 */

export type Literal = string | number | boolean | null;

export type Operand = { kind: "path"; path: string[] } | { kind: "literal"; value: Literal };

export type Condition =
  | { kind: "and" | "or"; left: Condition; right: Condition }
  | { kind: "not"; operand: Condition }
  | { kind: "compare"; operator: ComparisonOperator; left: Operand; right: Operand }
  | { kind: "isDefined"; path: string[] }
  | { kind: "in"; negated: boolean; operand: Operand; values: Literal[] };

export type ComparisonOperator = "=" | "!=" | "<" | ">" | "<=" | ">=";

export interface TwinQuery {
  from: "devices" | "modules";
  where?: Condition;
}

/** A query the hub cannot run; the handler answers 400 with this message. */
export class QuerySyntaxError extends Error {}

type Token =
  | { kind: "word"; text: string }
  | { kind: "string"; value: string }
  | { kind: "number"; value: number }
  | { kind: "symbol"; text: string };

const SYMBOLS = ["!=", "<>", "<=", ">=", "=", "<", ">", "(", ")", "[", "]", ",", "*"];

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const char = text[i];
    if (/\s/.test(char)) {
      i++;
    } else if (char === "'" || char === '"') {
      const end = text.indexOf(char, i + 1);
      if (end < 0) throw new QuerySyntaxError(`unterminated string starting at position ${i}`);
      tokens.push({ kind: "string", value: text.slice(i + 1, end) });
      i = end + 1;
    } else if (/[0-9]/.test(char) || (char === "-" && /[0-9]/.test(text[i + 1] ?? ""))) {
      const match = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
      tokens.push({ kind: "number", value: Number(match![0]) });
      i += match![0].length;
    } else if (/[A-Za-z_$]/.test(char)) {
      // A dotted path (tags.location.region, devices.modules) is one word; a segment in double brackets
      // (configurations.[[my-config]].status) may hold any character but `]`.
      const match = /^[A-Za-z_$][\w$]*(\.([A-Za-z_$][\w$]*|\[\[[^\]]+\]\]))*/.exec(text.slice(i));
      tokens.push({ kind: "word", text: match![0] });
      i += match![0].length;
    } else {
      const symbol = SYMBOLS.find((s) => text.startsWith(s, i));
      if (!symbol) throw new QuerySyntaxError(`unexpected character '${char}' at position ${i}`);
      tokens.push({ kind: "symbol", text: symbol });
      i += symbol.length;
    }
  }
  return tokens;
}

class Parser {
  private position = 0;

  constructor(private readonly tokens: Token[]) {}

  parseQuery(): TwinQuery {
    this.expectWord("SELECT");
    this.expectSymbol("*");
    this.expectWord("FROM");
    const source = this.next();
    if (source?.kind !== "word") throw new QuerySyntaxError("FROM must name devices or devices.modules");
    const name = source.text.toLowerCase();
    if (name !== "devices" && name !== "devices.modules") {
      throw new QuerySyntaxError(`FROM ${source.text}: only devices and devices.modules can be queried`);
    }
    const query: TwinQuery = { from: name === "devices" ? "devices" : "modules" };
    if (this.peekWord("WHERE")) {
      this.position++;
      query.where = this.parseOr();
    }
    const rest = this.next();
    if (rest) throw new QuerySyntaxError(`unexpected ${describe(rest)} after the query`);
    return query;
  }

  private parseOr(): Condition {
    let left = this.parseAnd();
    while (this.peekWord("OR")) {
      this.position++;
      left = { kind: "or", left, right: this.parseAnd() };
    }
    return left;
  }

  private parseAnd(): Condition {
    let left = this.parseNot();
    while (this.peekWord("AND")) {
      this.position++;
      left = { kind: "and", left, right: this.parseNot() };
    }
    return left;
  }

  private parseNot(): Condition {
    if (this.peekWord("NOT")) {
      this.position++;
      return { kind: "not", operand: this.parseNot() };
    }
    return this.parsePrimary();
  }

  private parsePrimary(): Condition {
    const token = this.tokens[this.position];
    if (token?.kind === "symbol" && token.text === "(") {
      this.position++;
      const inner = this.parseOr();
      this.expectSymbol(")");
      return inner;
    }
    if (token?.kind === "word" && token.text.toUpperCase() === "IS_DEFINED") {
      this.position++;
      this.expectSymbol("(");
      const operand = this.parseOperand();
      if (operand.kind !== "path") throw new QuerySyntaxError("IS_DEFINED takes a property path");
      this.expectSymbol(")");
      return { kind: "isDefined", path: operand.path };
    }
    const left = this.parseOperand();
    if (this.peekWord("IN") || this.peekWord("NIN")) {
      const negated = this.peekWord("NIN");
      this.position++;
      return { kind: "in", negated, operand: left, values: this.parseList() };
    }
    const operatorToken = this.next();
    if (
      operatorToken?.kind !== "symbol" ||
      !["=", "!=", "<>", "<", ">", "<=", ">="].includes(operatorToken.text)
    ) {
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
      if (separator?.kind === "symbol" && separator.text === "]") return values;
      if (separator?.kind !== "symbol" || separator.text !== ",") {
        throw new QuerySyntaxError(`expected ',' or ']' in the list, found ${describe(separator)}`);
      }
    }
  }

  private parseOperand(): Operand {
    const token = this.next();
    if (token?.kind === "string" || token?.kind === "number") return { kind: "literal", value: token.value };
    if (token?.kind === "word") {
      const upper = token.text.toUpperCase();
      if (upper === "TRUE" || upper === "FALSE") return { kind: "literal", value: upper === "TRUE" };
      if (upper === "NULL") return { kind: "literal", value: null };
      const path = (token.text.match(/\[\[[^\]]+\]\]|[^.]+/g) ?? []).map((segment) =>
        segment.startsWith("[[") ? segment.slice(2, -2) : segment,
      );
      // `devices.tags.x` and `devices.modules.moduleId` name the same property as `tags.x` / `moduleId`.
      if (path[0].toLowerCase() === "devices") path.shift();
      if (path[0]?.toLowerCase() === "modules" && path.length > 1) path.shift();
      return { kind: "path", path };
    }
    throw new QuerySyntaxError(`expected a property or a value, found ${describe(token)}`);
  }

  private next(): Token | undefined {
    return this.tokens[this.position++];
  }

  private peekWord(word: string): boolean {
    const token = this.tokens[this.position];
    return token?.kind === "word" && token.text.toUpperCase() === word;
  }

  private expectWord(word: string): void {
    const token = this.next();
    if (token?.kind !== "word" || token.text.toUpperCase() !== word) {
      throw new QuerySyntaxError(`expected ${word}, found ${describe(token)}`);
    }
  }

  private expectSymbol(symbol: string): void {
    const token = this.next();
    if (token?.kind !== "symbol" || token.text !== symbol) {
      throw new QuerySyntaxError(`expected '${symbol}', found ${describe(token)}`);
    }
  }
}

function describe(token: Token | undefined): string {
  if (!token) return "the end of the query";
  if (token.kind === "string") return `'${token.value}'`;
  if (token.kind === "number") return String(token.value);
  return `'${token.text}'`;
}

export function parseTwinQuery(text: string): TwinQuery {
  return new Parser(tokenize(text)).parseQuery();
}

function resolve(document: Record<string, unknown>, path: string[]): unknown {
  let value: unknown = document;
  for (const segment of path) {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[segment];
  }
  return value;
}

function operandValue(document: Record<string, unknown>, operand: Operand): unknown {
  return operand.kind === "literal" ? operand.value : resolve(document, operand.path);
}

/**
 * IoT Hub's comparison semantics (three-valued, as in Cosmos DB's SQL): comparing a missing property, or values of
 * different types, is undefined, and so is NOT of undefined; a twin is returned only when the condition is true.
 * Only strings and numbers are ordered.
 */
function compare(operator: ComparisonOperator, left: unknown, right: unknown): boolean | undefined {
  if (left === undefined || right === undefined) return undefined;
  const sameType = typeof left === typeof right && (left === null) === (right === null);
  if (!sameType) return undefined;
  if (operator === "=" || operator === "!=") {
    const equal = JSON.stringify(left) === JSON.stringify(right);
    return operator === "=" ? equal : !equal;
  }
  if (typeof left !== "number" && typeof left !== "string") return undefined;
  const a = left;
  const b = right as number | string;
  switch (operator) {
    case "<":
      return a < b;
    case ">":
      return a > b;
    case "<=":
      return a <= b;
    case ">=":
      return a >= b;
  }
}

function evaluate(condition: Condition, document: Record<string, unknown>): boolean | undefined {
  switch (condition.kind) {
    case "and": {
      const left = evaluate(condition.left, document);
      if (left === false) return false;
      const right = evaluate(condition.right, document);
      if (right === false) return false;
      return left === undefined || right === undefined ? undefined : true;
    }
    case "or": {
      const left = evaluate(condition.left, document);
      if (left === true) return true;
      const right = evaluate(condition.right, document);
      if (right === true) return true;
      return left === undefined || right === undefined ? undefined : false;
    }
    case "not": {
      const operand = evaluate(condition.operand, document);
      return operand === undefined ? undefined : !operand;
    }
    case "isDefined":
      return resolve(document, condition.path) !== undefined;
    case "in": {
      // A missing property is undefined either way; otherwise a value of another type is simply not in the list.
      const value = operandValue(document, condition.operand);
      if (value === undefined) return undefined;
      const found = condition.values.some((candidate) => compare("=", value, candidate) === true);
      return found !== condition.negated;
    }
    case "compare":
      return compare(
        condition.operator,
        operandValue(document, condition.left),
        operandValue(document, condition.right),
      );
  }
}

export function matches(condition: Condition | undefined, document: Record<string, unknown>): boolean {
  return condition === undefined || evaluate(condition, document) === true;
}
