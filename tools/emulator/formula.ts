/**
 * A subset of Airtable's formula language, enough for `filterByFormula` in the
 * emulator (./emulator.ts) and for recomputing simple formula fields.
 *
 * Grammar (lowest precedence first):
 *   comparison := concat (('=' | '!=' | '<>' | '<' | '>' | '<=' | '>=') concat)*
 *   concat     := additive ('&' additive)*
 *   additive   := term (('+' | '-') term)*
 *   term       := unary (('*' | '/') unary)*
 *   unary      := '-' unary | primary
 *   primary    := number | string | {Field} | NAME '(' args ')' | TRUE | FALSE | '(' comparison ')'
 *
 * Values are strings, numbers, booleans, Dates, arrays (links, lookups,
 * multiple selects) and null (blank). An evaluation error (#ERROR!) is thrown
 * as a FormulaEvalError; `compileFormula(...)` turns it into `false` when
 * filtering, `evaluate` lets it through.
 */

export interface FormulaFieldSchema {
  id: string;
  name: string;
  type: string;
  options?: Record<string, unknown> | null;
}

export type FormulaValue = string | number | boolean | Date | null | FormulaValue[];

/** A record as the evaluator sees it. */
export interface FormulaRecord {
  id: string;
  createdTime: string;
  /** Cell values, keyed by field name (default) or by field id (`fieldsKeyedBy: 'id'`). */
  fields: Record<string, unknown>;
  /** The record's last modification (any field); defaults to the newest lastModifiedTime cell, else createdTime. */
  lastModifiedTime?: string;
}

export interface CompileOptions {
  /** How `record.fields` is keyed. Default 'name'. */
  fieldsKeyedBy?: 'name' | 'id';
  /** Turns a link cell (array of record ids) into what a formula sees (primary field values). Default: the ids. */
  resolveLinks?: (field: FormulaFieldSchema, ids: string[]) => FormulaValue[];
  /** Clock for TODAY()/NOW(). Default: real time. */
  now?: () => Date;
}

export interface CompiledFormula {
  /** true when the formula's value is truthy for the record (errors count as false), as filterByFormula does. */
  (record: FormulaRecord): boolean;
  /** The formula's value; throws FormulaEvalError for #ERROR!. */
  evaluate(record: FormulaRecord): FormulaValue;
  /** Ids of the fields the formula references. */
  referencedFieldIds: string[];
  source: string;
}

/** The formula text does not parse, or names an unknown field or function. */
export class FormulaSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FormulaSyntaxError';
  }
}

/** Evaluation produced an error value (#ERROR!). */
export class FormulaEvalError extends Error {
  constructor(message = '#ERROR!') {
    super(message);
    this.name = 'FormulaEvalError';
  }
}

// ---------------------------------------------------------------------------
// Tokenizer

type Token =
  | { t: 'num'; v: number; pos: number }
  | { t: 'str'; v: string; pos: number }
  | { t: 'field'; v: string; pos: number }
  | { t: 'name'; v: string; pos: number }
  | { t: 'op'; v: string; pos: number }
  | { t: 'eof'; pos: number };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = src.length;
  while (i < n) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (c === '{') {
      let j = i + 1;
      let name = '';
      while (j < n && src[j] !== '}') {
        if (src[j] === '\\' && j + 1 < n) {
          name += src[j + 1];
          j += 2;
          continue;
        }
        name += src[j];
        j++;
      }
      if (j >= n) throw new FormulaSyntaxError(`unterminated field reference at position ${start}`);
      out.push({ t: 'field', v: name, pos: start });
      i = j + 1;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      let s = '';
      let closed = false;
      while (j < n) {
        const d = src[j]!;
        if (d === '\\' && j + 1 < n) {
          const e = src[j + 1]!;
          s += e === 'n' ? '\n' : e === 't' ? '\t' : e;
          j += 2;
          continue;
        }
        if (d === c) {
          closed = true;
          j++;
          break;
        }
        s += d;
        j++;
      }
      if (!closed) throw new FormulaSyntaxError(`unterminated string at position ${start}`);
      out.push({ t: 'str', v: s, pos: start });
      i = j;
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1] ?? ''))) {
      const m = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/.exec(src.slice(i))!;
      out.push({ t: 'num', v: Number(m[0]), pos: start });
      i += m[0].length;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!;
      out.push({ t: 'name', v: m[0].toUpperCase(), pos: start });
      i += m[0].length;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (two === '!=' || two === '<>' || two === '<=' || two === '>=') {
      out.push({ t: 'op', v: two === '<>' ? '!=' : two, pos: start });
      i += 2;
      continue;
    }
    if ('=<>&+-*/(),'.includes(c)) {
      out.push({ t: 'op', v: c, pos: start });
      i++;
      continue;
    }
    throw new FormulaSyntaxError(`unexpected character '${c}' at position ${start}`);
  }
  out.push({ t: 'eof', pos: n });
  return out;
}

// ---------------------------------------------------------------------------
// Parser

export type FormulaNode =
  | { k: 'lit'; v: FormulaValue }
  | { k: 'field'; field: FormulaFieldSchema }
  | { k: 'call'; name: string; args: FormulaNode[] }
  | { k: 'bin'; op: string; l: FormulaNode; r: FormulaNode }
  | { k: 'neg'; e: FormulaNode };

const FUNCTIONS: Record<string, [min: number, max: number]> = {
  AND: [1, Infinity],
  OR: [1, Infinity],
  XOR: [1, Infinity],
  NOT: [1, 1],
  IF: [2, 3],
  SWITCH: [2, Infinity],
  BLANK: [0, 0],
  TRUE: [0, 0],
  FALSE: [0, 0],
  ERROR: [0, 1],
  ISERROR: [1, 1],
  RECORD_ID: [0, 0],
  LAST_MODIFIED_TIME: [0, Infinity],
  CREATED_TIME: [0, 0],
  IS_AFTER: [2, 2],
  IS_BEFORE: [2, 2],
  IS_SAME: [2, 3],
  DATETIME_PARSE: [1, 3],
  DATETIME_DIFF: [2, 3],
  DATEADD: [3, 3],
  DATETIME_FORMAT: [1, 2],
  DATESTR: [1, 1],
  TODAY: [0, 0],
  NOW: [0, 0],
  YEAR: [1, 1],
  MONTH: [1, 1],
  DAY: [1, 1],
  LEN: [1, 1],
  LOWER: [1, 1],
  UPPER: [1, 1],
  TRIM: [1, 1],
  FIND: [2, 3],
  SEARCH: [2, 3],
  LEFT: [2, 2],
  RIGHT: [2, 2],
  MID: [3, 3],
  SUBSTITUTE: [3, 4],
  CONCATENATE: [1, Infinity],
  ARRAYJOIN: [1, 2],
  T: [1, 1],
  VALUE: [1, 1],
  ABS: [1, 1],
  ROUND: [1, 2],
  INT: [1, 1],
  MIN: [1, Infinity],
  MAX: [1, Infinity],
  SUM: [1, Infinity],
  REGEX_MATCH: [2, 2],
};

type FieldIndex = { byName: Map<string, FormulaFieldSchema>; byId: Map<string, FormulaFieldSchema> };

class Parser {
  private i = 0;
  constructor(
    private readonly toks: Token[],
    private readonly fields: FieldIndex,
  ) {}

  parse(): FormulaNode {
    if (this.peek().t === 'eof') throw new FormulaSyntaxError('the formula is empty');
    const e = this.comparison();
    const t = this.peek();
    if (t.t !== 'eof') throw new FormulaSyntaxError(`unexpected ${describe(t)} at position ${t.pos}`);
    return e;
  }

  private peek(): Token {
    return this.toks[this.i]!;
  }
  private next(): Token {
    return this.toks[this.i++]!;
  }
  private isOp(...ops: string[]): string | undefined {
    const t = this.peek();
    return t.t === 'op' && ops.includes(t.v) ? t.v : undefined;
  }
  private expectOp(op: string): void {
    const t = this.next();
    if (t.t !== 'op' || t.v !== op) throw new FormulaSyntaxError(`expected '${op}' but found ${describe(t)} at position ${t.pos}`);
  }

  private comparison(): FormulaNode {
    let l = this.concat();
    for (let op = this.isOp('=', '!=', '<', '>', '<=', '>='); op; op = this.isOp('=', '!=', '<', '>', '<=', '>=')) {
      this.next();
      l = { k: 'bin', op, l, r: this.concat() };
    }
    return l;
  }
  private concat(): FormulaNode {
    let l = this.additive();
    while (this.isOp('&')) {
      this.next();
      l = { k: 'bin', op: '&', l, r: this.additive() };
    }
    return l;
  }
  private additive(): FormulaNode {
    let l = this.term();
    for (let op = this.isOp('+', '-'); op; op = this.isOp('+', '-')) {
      this.next();
      l = { k: 'bin', op, l, r: this.term() };
    }
    return l;
  }
  private term(): FormulaNode {
    let l = this.unary();
    for (let op = this.isOp('*', '/'); op; op = this.isOp('*', '/')) {
      this.next();
      l = { k: 'bin', op, l, r: this.unary() };
    }
    return l;
  }
  private unary(): FormulaNode {
    if (this.isOp('-')) {
      this.next();
      return { k: 'neg', e: this.unary() };
    }
    if (this.isOp('+')) {
      this.next();
      return this.unary();
    }
    return this.primary();
  }
  private primary(): FormulaNode {
    const t = this.next();
    switch (t.t) {
      case 'num':
        return { k: 'lit', v: t.v };
      case 'str':
        return { k: 'lit', v: t.v };
      case 'field': {
        const f = this.fields.byName.get(t.v) ?? this.fields.byId.get(t.v);
        if (!f) throw new FormulaSyntaxError(`Unknown field names: ${t.v.toLowerCase()}`);
        return { k: 'field', field: f };
      }
      case 'name': {
        if (this.isOp('(')) {
          this.next();
          const args: FormulaNode[] = [];
          if (!this.isOp(')')) {
            for (;;) {
              args.push(this.comparison());
              if (this.isOp(',')) {
                this.next();
                continue;
              }
              break;
            }
          }
          this.expectOp(')');
          const arity = FUNCTIONS[t.v];
          if (!arity) throw new FormulaSyntaxError(`unknown function ${t.v}()`);
          if (args.length < arity[0] || args.length > arity[1]) {
            throw new FormulaSyntaxError(`wrong number of arguments to ${t.v}(): ${args.length}`);
          }
          return { k: 'call', name: t.v, args };
        }
        if (t.v === 'TRUE') return { k: 'lit', v: true };
        if (t.v === 'FALSE') return { k: 'lit', v: false };
        throw new FormulaSyntaxError(`unexpected name ${t.v} at position ${t.pos}`);
      }
      case 'op':
        if (t.v === '(') {
          const e = this.comparison();
          this.expectOp(')');
          return e;
        }
        throw new FormulaSyntaxError(`unexpected '${t.v}' at position ${t.pos}`);
      case 'eof':
        throw new FormulaSyntaxError('unexpected end of formula');
    }
  }
}

function describe(t: Token): string {
  switch (t.t) {
    case 'eof':
      return 'end of formula';
    case 'str':
      return `string "${t.v}"`;
    case 'field':
      return `{${t.v}}`;
    default:
      return `'${t.v}'`;
  }
}

function indexFields(fields: FormulaFieldSchema[] | Record<string, FormulaFieldSchema>): FieldIndex {
  const list = Array.isArray(fields) ? fields : Object.values(fields);
  const byName = new Map<string, FormulaFieldSchema>();
  const byId = new Map<string, FormulaFieldSchema>();
  for (const f of list) {
    byName.set(f.name, f);
    byId.set(f.id, f);
  }
  return { byName, byId };
}

/** Parses a formula against a table's fields; throws FormulaSyntaxError. */
export function parseFormula(source: string, fields: FormulaFieldSchema[] | Record<string, FormulaFieldSchema>): FormulaNode {
  return new Parser(tokenize(source), indexFields(fields)).parse();
}

// ---------------------------------------------------------------------------
// Values

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Parses ISO 8601 dates/datetimes (a date alone is midnight UTC). Returns null when unparseable. */
export function parseDate(v: unknown): Date | null {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v;
  if (Array.isArray(v)) return v.length === 1 ? parseDate(v[0]) : null;
  if (typeof v === 'number') return new Date(v);
  if (typeof v !== 'string') return null;
  const s = v.trim();
  if (!s) return null;
  if (ISO_DATE.test(s)) {
    const d = new Date(`${s}T00:00:00.000Z`);
    return Number.isNaN(d.getTime()) ? null : d;
  }
  if (!/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(s)) {
    // Tolerate other formats Date understands (e.g. 'Nov 20 2026'), as DATETIME_PARSE does loosely.
    const d = new Date(s);
    return Number.isNaN(d.getTime()) ? null : d;
  }
  let t = s.replace(' ', 'T');
  if (!/(Z|[+-]\d{2}:?\d{2})$/.test(t)) t += 'Z';
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? null : d;
}

function isBlank(v: FormulaValue): boolean {
  return v === null || v === '' || (Array.isArray(v) && v.every(isBlank));
}

function toText(v: FormulaValue): string {
  if (v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : String(v);
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (v instanceof Date) return v.toISOString();
  return v.map(toText).filter((s) => s !== '').join(', ');
}

function toNumber(v: FormulaValue): number {
  if (v === null) return 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof Date) return v.getTime();
  if (Array.isArray(v)) return v.length === 1 ? toNumber(v[0]!) : v.length === 0 ? 0 : NaN;
  const s = v.trim();
  if (s === '') return 0;
  const n = Number(s);
  return n;
}

function truthy(v: FormulaValue): boolean {
  if (v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0 && !Number.isNaN(v);
  if (typeof v === 'string') return v !== '';
  if (v instanceof Date) return true;
  return v.some(truthy);
}

function requireDate(v: FormulaValue): Date {
  const d = parseDate(v);
  if (!d) throw new FormulaEvalError();
  return d;
}

function compare(a: FormulaValue, b: FormulaValue): number {
  if (a instanceof Date || b instanceof Date) {
    const da = parseDate(a);
    const db = parseDate(b);
    if (!da || !db) {
      if (!da && !db) return 0;
      return !da ? -1 : 1;
    }
    return Math.sign(da.getTime() - db.getTime());
  }
  const numeric =
    (typeof a === 'number' || typeof a === 'boolean' || a === null) && (typeof b === 'number' || typeof b === 'boolean' || b === null);
  const mixedNumeric =
    (typeof a === 'number' && typeof b === 'string' && b.trim() !== '' && !Number.isNaN(Number(b))) ||
    (typeof b === 'number' && typeof a === 'string' && a.trim() !== '' && !Number.isNaN(Number(a)));
  if (numeric || mixedNumeric) {
    const x = toNumber(a);
    const y = toNumber(b);
    return x === y ? 0 : x < y ? -1 : 1;
  }
  const x = toText(a);
  const y = toText(b);
  return x === y ? 0 : x < y ? -1 : 1;
}

function equals(a: FormulaValue, b: FormulaValue): boolean {
  if (isBlank(a) || isBlank(b)) {
    // BLANK() = '' and BLANK() = 0 are true in Airtable.
    const other = isBlank(a) ? b : a;
    return isBlank(other) || other === 0 || other === false;
  }
  return compare(a, b) === 0;
}

const UNIT_MS: Record<string, number> = {
  milliseconds: 1,
  ms: 1,
  seconds: 1000,
  s: 1000,
  minutes: 60_000,
  m: 60_000,
  hours: 3_600_000,
  h: 3_600_000,
  days: 86_400_000,
  d: 86_400_000,
  weeks: 7 * 86_400_000,
  w: 7 * 86_400_000,
};

function normUnit(u: string): string {
  const s = u.trim().toLowerCase();
  const singular: Record<string, string> = {
    millisecond: 'milliseconds',
    second: 'seconds',
    minute: 'minutes',
    hour: 'hours',
    day: 'days',
    week: 'weeks',
    month: 'months',
    quarter: 'quarters',
    year: 'years',
    M: 'months',
    y: 'years',
    Q: 'quarters',
  };
  if (u.trim() === 'M') return 'months';
  return singular[s] ?? s;
}

function monthsBetween(a: Date, b: Date): number {
  // Whole months from b to a (a - b), truncated toward zero, as moment's diff does.
  const sign = a.getTime() >= b.getTime() ? 1 : -1;
  const [hi, lo] = sign > 0 ? [a, b] : [b, a];
  let months = (hi.getUTCFullYear() - lo.getUTCFullYear()) * 12 + (hi.getUTCMonth() - lo.getUTCMonth());
  const shifted = addMonths(lo, months);
  if (shifted.getTime() > hi.getTime()) months--;
  return sign * months;
}

function addMonths(d: Date, months: number): Date {
  const r = new Date(d.getTime());
  const day = r.getUTCDate();
  r.setUTCDate(1);
  r.setUTCMonth(r.getUTCMonth() + months);
  const last = new Date(Date.UTC(r.getUTCFullYear(), r.getUTCMonth() + 1, 0)).getUTCDate();
  r.setUTCDate(Math.min(day, last));
  return r;
}

function startOf(d: Date, unit: string): number {
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  switch (unit) {
    case 'years':
      return Date.UTC(y, 0, 1);
    case 'quarters':
      return Date.UTC(y, m - (m % 3), 1);
    case 'months':
      return Date.UTC(y, m, 1);
    case 'weeks': {
      const day = Date.UTC(y, m, d.getUTCDate());
      return day - d.getUTCDay() * 86_400_000;
    }
    case 'days':
      return Date.UTC(y, m, d.getUTCDate());
    case 'hours':
      return Date.UTC(y, m, d.getUTCDate(), d.getUTCHours());
    case 'minutes':
      return Date.UTC(y, m, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes());
    case 'seconds':
      return Math.floor(d.getTime() / 1000) * 1000;
    default:
      return d.getTime();
  }
}

function formatDate(d: Date, fmt: string): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const tokens: Record<string, string> = {
    YYYY: String(d.getUTCFullYear()),
    MM: pad(d.getUTCMonth() + 1),
    DD: pad(d.getUTCDate()),
    HH: pad(d.getUTCHours()),
    mm: pad(d.getUTCMinutes()),
    ss: pad(d.getUTCSeconds()),
    M: String(d.getUTCMonth() + 1),
    D: String(d.getUTCDate()),
  };
  return fmt.replace(/YYYY|MM|DD|HH|mm|ss|M|D/g, (t) => tokens[t]!);
}

// ---------------------------------------------------------------------------
// Evaluation

interface EvalContext {
  record: FormulaRecord;
  opts: CompileOptions;
  keyById: boolean;
  fieldValue(field: FormulaFieldSchema): FormulaValue;
}

/** Converts a stored cell into a formula value. */
export function cellToFormulaValue(
  field: FormulaFieldSchema,
  cell: unknown,
  resolveLinks?: (field: FormulaFieldSchema, ids: string[]) => FormulaValue[],
): FormulaValue {
  const type = field.type;
  if (cell === undefined || cell === null) {
    if (type === 'checkbox') return false;
    return null;
  }
  if (typeof cell === 'object' && !Array.isArray(cell)) {
    const o = cell as Record<string, unknown>;
    if ('error' in o) return new ErrorValue() as unknown as FormulaValue;
    if (o.specialValue === 'NaN') return NaN;
    if (o.specialValue === 'Infinity') return Infinity;
    if (o.specialValue === '-Infinity') return -Infinity;
    // Collaborators show their name; anything else its JSON.
    if (typeof o.name === 'string') return o.name;
    if (typeof o.email === 'string') return o.email;
    return JSON.stringify(o);
  }
  switch (type) {
    case 'date':
    case 'dateTime':
    case 'createdTime':
    case 'lastModifiedTime':
      return typeof cell === 'string' ? (parseDate(cell) ?? cell) : (cell as FormulaValue);
    case 'multipleRecordLinks':
      if (Array.isArray(cell)) {
        const ids = cell.map((x) => (typeof x === 'string' ? x : String((x as { id?: unknown }).id)));
        return resolveLinks ? resolveLinks(field, ids) : ids;
      }
      return String(cell);
    case 'multipleAttachments':
      if (Array.isArray(cell)) return cell.map((a) => String((a as { filename?: unknown }).filename ?? ''));
      return String(cell);
    default:
      break;
  }
  if (Array.isArray(cell)) return cell.map((x) => cellToFormulaValue({ ...field, type: 'lookupItem' }, x, resolveLinks));
  if (typeof cell === 'string' || typeof cell === 'number' || typeof cell === 'boolean') return cell;
  return String(cell);
}

/** Marker for an error value coming from a cell ({error: '#ERROR!'}). */
class ErrorValue {}

function check(v: FormulaValue): FormulaValue {
  if ((v as unknown) instanceof ErrorValue) throw new FormulaEvalError();
  if (Array.isArray(v) && v.some((x) => (x as unknown) instanceof ErrorValue)) throw new FormulaEvalError();
  return v;
}

function evalNode(node: FormulaNode, ctx: EvalContext): FormulaValue {
  switch (node.k) {
    case 'lit':
      return node.v;
    case 'field':
      return check(ctx.fieldValue(node.field));
    case 'neg':
      return -toNumber(evalNode(node.e, ctx));
    case 'bin': {
      const l = evalNode(node.l, ctx);
      const r = evalNode(node.r, ctx);
      switch (node.op) {
        case '&':
          return toText(l) + toText(r);
        case '+':
          if (l instanceof Date || r instanceof Date) throw new FormulaEvalError();
          return toNumber(l) + toNumber(r);
        case '-':
          return toNumber(l) - toNumber(r);
        case '*':
          return toNumber(l) * toNumber(r);
        case '/': {
          const d = toNumber(r);
          if (d === 0) throw new FormulaEvalError('#ERROR!');
          return toNumber(l) / d;
        }
        case '=':
          return equals(l, r);
        case '!=':
          return !equals(l, r);
        case '<':
          return !isBlankOrNaN(l, r) && compare(l, r) < 0;
        case '>':
          return !isBlankOrNaN(l, r) && compare(l, r) > 0;
        case '<=':
          return compare(l, r) <= 0;
        case '>=':
          return compare(l, r) >= 0;
      }
      throw new FormulaEvalError();
    }
    case 'call':
      return callFunction(node.name, node.args, ctx);
  }
}

function isBlankOrNaN(l: FormulaValue, r: FormulaValue): boolean {
  return (typeof l === 'number' && Number.isNaN(l)) || (typeof r === 'number' && Number.isNaN(r));
}

function flatArgs(args: FormulaNode[], ctx: EvalContext): FormulaValue[] {
  const out: FormulaValue[] = [];
  for (const a of args) {
    const v = evalNode(a, ctx);
    if (Array.isArray(v)) out.push(...v);
    else out.push(v);
  }
  return out;
}

function callFunction(name: string, args: FormulaNode[], ctx: EvalContext): FormulaValue {
  const ev = (i: number) => evalNode(args[i]!, ctx);
  const now = () => (ctx.opts.now ? ctx.opts.now() : new Date());
  switch (name) {
    case 'AND':
      return flatArgs(args, ctx).every(truthy);
    case 'OR':
      return flatArgs(args, ctx).some(truthy);
    case 'XOR':
      return flatArgs(args, ctx).filter(truthy).length % 2 === 1;
    case 'NOT':
      return !truthy(ev(0));
    case 'IF':
      return truthy(ev(0)) ? ev(1) : args.length > 2 ? ev(2) : null;
    case 'SWITCH': {
      const v = ev(0);
      let i = 1;
      for (; i + 1 < args.length; i += 2) if (equals(v, ev(i))) return ev(i + 1);
      return i < args.length ? ev(i) : null;
    }
    case 'BLANK':
      return null;
    case 'TRUE':
      return true;
    case 'FALSE':
      return false;
    case 'ERROR':
      throw new FormulaEvalError();
    case 'ISERROR':
      try {
        ev(0);
        return false;
      } catch (e) {
        if (e instanceof FormulaEvalError) return true;
        throw e;
      }
    case 'RECORD_ID':
      return ctx.record.id;
    case 'CREATED_TIME':
      return requireDate(ctx.record.createdTime);
    case 'LAST_MODIFIED_TIME': {
      if (args.length > 0) {
        // LAST_MODIFIED_TIME({Field}): the emulator does not track per-field times; use the record's.
      }
      return requireDate(ctx.record.lastModifiedTime ?? ctx.record.createdTime);
    }
    case 'IS_AFTER':
    case 'IS_BEFORE': {
      const a = parseDate(ev(0));
      const b = parseDate(ev(1));
      if (!a || !b) return false;
      return name === 'IS_AFTER' ? a.getTime() > b.getTime() : a.getTime() < b.getTime();
    }
    case 'IS_SAME': {
      const a = parseDate(ev(0));
      const b = parseDate(ev(1));
      if (!a || !b) return false;
      const unit = args.length > 2 ? normUnit(toText(ev(2))) : 'milliseconds';
      return startOf(a, unit) === startOf(b, unit);
    }
    case 'DATETIME_PARSE': {
      const v = ev(0);
      if (isBlank(v)) return null;
      return requireDate(v);
    }
    case 'DATETIME_DIFF': {
      const a = ev(0);
      const b = ev(1);
      if (isBlank(a) || isBlank(b)) return null;
      const da = requireDate(a);
      const db = requireDate(b);
      const unit = args.length > 2 ? normUnit(toText(ev(2))) : 'seconds';
      if (unit === 'months') return monthsBetween(da, db);
      if (unit === 'quarters') return Math.trunc(monthsBetween(da, db) / 3);
      if (unit === 'years') return Math.trunc(monthsBetween(da, db) / 12);
      const ms = UNIT_MS[unit];
      if (!ms) throw new FormulaEvalError();
      return Math.trunc((da.getTime() - db.getTime()) / ms) || 0;
    }
    case 'DATEADD': {
      const v = ev(0);
      if (isBlank(v)) return null;
      const d = requireDate(v);
      const count = toNumber(ev(1));
      const unit = normUnit(toText(ev(2)));
      if (unit === 'months') return addMonths(d, count);
      if (unit === 'quarters') return addMonths(d, count * 3);
      if (unit === 'years') return addMonths(d, count * 12);
      const ms = UNIT_MS[unit];
      if (!ms) throw new FormulaEvalError();
      return new Date(d.getTime() + count * ms);
    }
    case 'DATETIME_FORMAT': {
      const v = ev(0);
      if (isBlank(v)) return null;
      const d = requireDate(v);
      return args.length > 1 ? formatDate(d, toText(ev(1))) : d.toISOString();
    }
    case 'DATESTR': {
      const v = ev(0);
      if (isBlank(v)) return null;
      return formatDate(requireDate(v), 'YYYY-MM-DD');
    }
    case 'TODAY': {
      const d = now();
      return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
    }
    case 'NOW':
      return now();
    case 'YEAR':
      return requireDate(ev(0)).getUTCFullYear();
    case 'MONTH':
      return requireDate(ev(0)).getUTCMonth() + 1;
    case 'DAY':
      return requireDate(ev(0)).getUTCDate();
    case 'LEN':
      return [...toText(ev(0))].length;
    case 'LOWER':
      return toText(ev(0)).toLowerCase();
    case 'UPPER':
      return toText(ev(0)).toUpperCase();
    case 'TRIM':
      return toText(ev(0)).trim().replace(/\s+/g, ' ');
    case 'FIND':
    case 'SEARCH': {
      let needle = toText(ev(0));
      let hay = toText(ev(1));
      const start = args.length > 2 ? Math.max(0, toNumber(ev(2)) - 1) : 0;
      if (name === 'SEARCH') {
        needle = needle.toLowerCase();
        hay = hay.toLowerCase();
      }
      const idx = hay.indexOf(needle, start);
      if (idx < 0) return name === 'FIND' ? 0 : null;
      return idx + 1;
    }
    case 'LEFT':
      return toText(ev(0)).slice(0, Math.max(0, toNumber(ev(1))));
    case 'RIGHT': {
      const s = toText(ev(0));
      const n = Math.max(0, toNumber(ev(1)));
      return n === 0 ? '' : s.slice(-n);
    }
    case 'MID': {
      const s = toText(ev(0));
      const start = Math.max(1, toNumber(ev(1)));
      return s.substr(start - 1, Math.max(0, toNumber(ev(2))));
    }
    case 'SUBSTITUTE': {
      const s = toText(ev(0));
      const from = toText(ev(1));
      const to = toText(ev(2));
      if (from === '') return s;
      if (args.length > 3) {
        const which = toNumber(ev(3));
        let idx = -1;
        for (let k = 0; k < which; k++) {
          idx = s.indexOf(from, idx + 1);
          if (idx < 0) return s;
        }
        return s.slice(0, idx) + to + s.slice(idx + from.length);
      }
      return s.split(from).join(to);
    }
    case 'CONCATENATE':
      return args.map((_, i) => toText(ev(i))).join('');
    case 'ARRAYJOIN': {
      const v = ev(0);
      const sep = args.length > 1 ? toText(ev(1)) : ', ';
      return (Array.isArray(v) ? v : [v]).map(toText).join(sep);
    }
    case 'T': {
      const v = ev(0);
      return typeof v === 'string' ? v : Array.isArray(v) ? toText(v) : null;
    }
    case 'VALUE': {
      const s = toText(ev(0)).replace(/[$,\s]/g, '');
      return s === '' ? null : Number(s);
    }
    case 'ABS':
      return Math.abs(toNumber(ev(0)));
    case 'ROUND': {
      const p = args.length > 1 ? toNumber(ev(1)) : 0;
      const f = 10 ** p;
      return Math.round(toNumber(ev(0)) * f) / f;
    }
    case 'INT':
      return Math.floor(toNumber(ev(0)));
    case 'MIN':
    case 'MAX':
    case 'SUM': {
      const nums = flatArgs(args, ctx)
        .filter((v) => !isBlank(v))
        .map(toNumber);
      if (nums.length === 0) return 0;
      if (name === 'SUM') return nums.reduce((a, b) => a + b, 0);
      return name === 'MIN' ? Math.min(...nums) : Math.max(...nums);
    }
    case 'REGEX_MATCH':
      try {
        return new RegExp(toText(ev(1))).test(toText(ev(0)));
      } catch {
        throw new FormulaEvalError();
      }
  }
  throw new FormulaEvalError();
}

function collectFieldIds(node: FormulaNode, out: Set<string>): void {
  switch (node.k) {
    case 'field':
      out.add(node.field.id);
      return;
    case 'neg':
      collectFieldIds(node.e, out);
      return;
    case 'bin':
      collectFieldIds(node.l, out);
      collectFieldIds(node.r, out);
      return;
    case 'call':
      for (const a of node.args) collectFieldIds(a, out);
      return;
    default:
      return;
  }
}

/**
 * Compiles a formula against a table's fields (an array, or an object keyed by
 * field name). Throws FormulaSyntaxError for a formula Airtable would reject.
 */
export function compileFormula(
  source: string,
  fields: FormulaFieldSchema[] | Record<string, FormulaFieldSchema>,
  options: CompileOptions = {},
): CompiledFormula {
  const ast = parseFormula(source, fields);
  const keyById = options.fieldsKeyedBy === 'id';
  const lmFields = (Array.isArray(fields) ? fields : Object.values(fields)).filter((f) => f.type === 'lastModifiedTime');
  const referenced = new Set<string>();
  collectFieldIds(ast, referenced);

  const evaluate = (record: FormulaRecord): FormulaValue => {
    let rec = record;
    if (rec.lastModifiedTime === undefined && lmFields.length > 0) {
      let newest: string | undefined;
      for (const f of lmFields) {
        const v = rec.fields[keyById ? f.id : f.name];
        if (typeof v === 'string' && (newest === undefined || v > newest)) newest = v;
      }
      if (newest !== undefined) rec = { ...rec, lastModifiedTime: newest };
    }
    const ctx: EvalContext = {
      record: rec,
      opts: options,
      keyById,
      fieldValue: (f) => cellToFormulaValue(f, rec.fields[keyById ? f.id : f.name], options.resolveLinks),
    };
    return evalNode(ast, ctx);
  };

  const fn = ((record: FormulaRecord) => {
    try {
      return truthy(evaluate(record));
    } catch (e) {
      if (e instanceof FormulaEvalError) return false;
      throw e;
    }
  }) as CompiledFormula;
  fn.evaluate = evaluate;
  fn.referencedFieldIds = [...referenced];
  fn.source = source;
  return fn;
}

/**
 * Converts a formula value into the cell Airtable would return for a formula
 * field with the given result type (null = empty cell).
 */
export function formulaValueToCell(v: FormulaValue, resultType?: string): unknown {
  if (v === null) return null;
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return { specialValue: 'NaN' };
    if (v === Infinity) return { specialValue: 'Infinity' };
    if (v === -Infinity) return { specialValue: '-Infinity' };
    return v;
  }
  if (v instanceof Date) return resultType === 'date' ? v.toISOString().slice(0, 10) : v.toISOString();
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (Array.isArray(v)) {
    const items = v.map((x) => formulaValueToCell(x, resultType)).filter((x) => x !== null && x !== '');
    return items.length ? items : null;
  }
  if (resultType === 'number' || resultType === 'currency' || resultType === 'percent') {
    if (v.trim() === '') return null;
    const n = Number(v);
    return Number.isNaN(n) ? { specialValue: 'NaN' } : n;
  }
  return v === '' ? null : v;
}
