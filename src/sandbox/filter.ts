/**
 * The SCIM filter subset the sandbox accepts. Deliberately strict: anything
 * outside the subset is a FilterError (a 400 INVALID_FILTER), so a client that
 * builds filters badly fails here instead of in production.
 *
 *   filter     := or
 *   or         := and ("or" and)*
 *   and        := primary ("and" primary)*
 *   primary    := "(" or ")" | attribute operator string
 *   string     := '"' chars with JSON escapes '"'
 *
 * Keywords and attribute names are case-insensitive, as in SCIM.
 */

export type FilterOperator = 'eq' | 'sw' | 'gt' | 'ge' | 'lt' | 'le';

export type FilterComparison = {
  kind: 'compare';
  /** The dialect's canonical spelling, whatever case the filter used. */
  attribute: string;
  operator: FilterOperator;
  value: string;
};

export type FilterExpr = FilterComparison | { kind: 'and' | 'or'; operands: FilterExpr[] };

/** Which attributes and operators one endpoint accepts. */
export type FilterDialect = {
  readonly attributes: readonly string[];
  readonly operators: readonly FilterOperator[];
};

export const USER_FILTER_DIALECT: FilterDialect = {
  attributes: ['id', 'username', 'email', 'name.given', 'name.family', 'population.id'],
  operators: ['eq', 'sw'],
};

export class FilterError extends Error {
  override readonly name = 'FilterError';
  constructor(
    message: string,
    /** Offset in the filter text where parsing failed. */
    readonly position: number,
  ) {
    super(`${message} (at offset ${position})`);
  }
}

type Token =
  | { type: 'lparen' | 'rparen'; at: number }
  | { type: 'word'; text: string; at: number }
  | { type: 'string'; value: string; at: number };

/** Guards the recursive descent against stack exhaustion on "((((((…". */
const MAX_NESTING = 32;

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

function readString(text: string, start: number): { value: string; end: number } {
  let value = '';
  let i = start + 1;
  while (i < text.length) {
    const ch = text.charAt(i);
    if (ch === '"') return { value, end: i + 1 };
    if (ch !== '\\') {
      // Raw characters, control characters included, are accepted: clients that
      // escape only `"` and `\` (as PingOne's guidance says) must round-trip too.
      value += ch;
      i += 1;
      continue;
    }
    const esc = text.charAt(i + 1);
    const simple = SIMPLE_ESCAPES[esc];
    if (simple !== undefined) {
      value += simple;
      i += 2;
    } else if (esc === 'u') {
      const hex = text.slice(i + 2, i + 6);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new FilterError('invalid \\u escape', i);
      value += String.fromCharCode(Number.parseInt(hex, 16));
      i += 6;
    } else {
      throw new FilterError(`invalid escape \\${esc}`, i);
    }
  }
  throw new FilterError('unterminated string', start);
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text.charAt(i);
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
      i += 1;
    } else if (ch === '(' || ch === ')') {
      tokens.push({ type: ch === '(' ? 'lparen' : 'rparen', at: i });
      i += 1;
    } else if (ch === '"') {
      const { value, end } = readString(text, i);
      tokens.push({ type: 'string', value, at: i });
      i = end;
    } else {
      const match = /^[A-Za-z][A-Za-z0-9_.]*/.exec(text.slice(i, i + 256));
      if (match === null) throw new FilterError(`unexpected character ${JSON.stringify(ch)}`, i);
      tokens.push({ type: 'word', text: match[0], at: i });
      i += match[0].length;
    }
  }
  return tokens;
}

class Parser {
  private index = 0;
  constructor(
    private readonly tokens: readonly Token[],
    private readonly dialect: FilterDialect,
    private readonly length: number,
  ) {}

  parse(): FilterExpr {
    if (this.tokens.length === 0) throw new FilterError('empty filter', 0);
    const expr = this.parseOr(0);
    const rest = this.tokens[this.index];
    if (rest !== undefined) throw new FilterError('unexpected trailing input', rest.at);
    return expr;
  }

  private peekKeyword(keyword: 'and' | 'or'): boolean {
    const token = this.tokens[this.index];
    return token?.type === 'word' && token.text.toLowerCase() === keyword;
  }

  private parseOr(depth: number): FilterExpr {
    const operands = [this.parseAnd(depth)];
    while (this.peekKeyword('or')) {
      this.index += 1;
      operands.push(this.parseAnd(depth));
    }
    return operands.length === 1 && operands[0] !== undefined ? operands[0] : { kind: 'or', operands };
  }

  private parseAnd(depth: number): FilterExpr {
    const operands = [this.parsePrimary(depth)];
    while (this.peekKeyword('and')) {
      this.index += 1;
      operands.push(this.parsePrimary(depth));
    }
    return operands.length === 1 && operands[0] !== undefined ? operands[0] : { kind: 'and', operands };
  }

  private parsePrimary(depth: number): FilterExpr {
    const token = this.next('an attribute or "("');
    if (token.type === 'lparen') {
      if (depth >= MAX_NESTING) throw new FilterError('parentheses nested too deeply', token.at);
      const inner = this.parseOr(depth + 1);
      const close = this.next('")"');
      if (close.type !== 'rparen') throw new FilterError('expected ")"', close.at);
      return inner;
    }
    if (token.type !== 'word') throw new FilterError('expected an attribute', token.at);
    const attribute = this.dialect.attributes.find((a) => a.toLowerCase() === token.text.toLowerCase());
    if (attribute === undefined) throw new FilterError(`unsupported attribute ${token.text}`, token.at);

    const opToken = this.next('an operator');
    const operator = opToken.type === 'word' ? this.dialect.operators.find((o) => o === opToken.text.toLowerCase()) : undefined;
    if (operator === undefined) throw new FilterError('unsupported or missing operator', opToken.at);

    const valueToken = this.next('a quoted value');
    if (valueToken.type !== 'string') throw new FilterError('expected a double-quoted value', valueToken.at);
    return { kind: 'compare', attribute, operator, value: valueToken.value };
  }

  private next(expected: string): Token {
    const token = this.tokens[this.index];
    if (token === undefined) throw new FilterError(`expected ${expected}`, this.length);
    this.index += 1;
    return token;
  }
}

/** Parses `text` in `dialect`; throws FilterError on anything outside it. */
export function parseFilter(text: string, dialect: FilterDialect = USER_FILTER_DIALECT): FilterExpr {
  return new Parser(tokenize(text), dialect, text.length).parse();
}

/** Evaluates the and/or structure; `leaf` decides each comparison. */
export function evaluateFilter(expr: FilterExpr, leaf: (comparison: FilterComparison) => boolean): boolean {
  switch (expr.kind) {
    case 'compare':
      return leaf(expr);
    case 'and':
      return expr.operands.every((operand) => evaluateFilter(operand, leaf));
    case 'or':
      return expr.operands.some((operand) => evaluateFilter(operand, leaf));
  }
}

/** String comparison for one operator; `foldCase` for attributes PingOne matches case-insensitively. */
export function compareText(actual: string | undefined, operator: FilterOperator, expected: string, foldCase: boolean): boolean {
  if (actual === undefined) return false;
  const a = foldCase ? actual.toLowerCase() : actual;
  const e = foldCase ? expected.toLowerCase() : expected;
  switch (operator) {
    case 'eq':
      return a === e;
    case 'sw':
      return a.startsWith(e);
    case 'gt':
      return a > e;
    case 'ge':
      return a >= e;
    case 'lt':
      return a < e;
    case 'le':
      return a <= e;
  }
}

/** The fields of a user a filter can address; any other shape counts as absent. */
export type FilterableUser = {
  id?: unknown;
  username?: unknown;
  email?: unknown;
  name?: unknown;
  population?: unknown;
};

function textAt(value: unknown, key: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const field: unknown = (value as Record<string, unknown>)[key];
  return typeof field === 'string' ? field : undefined;
}

function userAttribute(user: FilterableUser, attribute: string): string | undefined {
  switch (attribute) {
    case 'id':
      return typeof user.id === 'string' ? user.id : undefined;
    case 'username':
      return typeof user.username === 'string' ? user.username : undefined;
    case 'email':
      return typeof user.email === 'string' ? user.email : undefined;
    case 'name.given':
      return textAt(user.name, 'given');
    case 'name.family':
      return textAt(user.name, 'family');
    case 'population.id':
      return textAt(user.population, 'id');
    default:
      return undefined;
  }
}

const CASE_INSENSITIVE_USER_ATTRIBUTES: ReadonlySet<string> = new Set(['username', 'email']);

export function userMatches(expr: FilterExpr, user: FilterableUser): boolean {
  return evaluateFilter(expr, (c) =>
    compareText(userAttribute(user, c.attribute), c.operator, c.value, CASE_INSENSITIVE_USER_ATTRIBUTES.has(c.attribute)),
  );
}
