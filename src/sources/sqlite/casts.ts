/**
 * The SQLite source's cast rules: how a value SQLite holds becomes the
 * value staged for its mapped column.
 *
 * SQLite types values, not columns: a column's declared type only gives it
 * an affinity, which converts what it can on insert ("42" into an INTEGER
 * column becomes 42) and keeps what it cannot (an "abc" stays text). So a
 * column may hold values of any of SQLite's five storage classes, and each
 * mapped column says with its cast what it expects. Values are read with
 * better-sqlite3's safe integers, so the JavaScript type is the storage
 * class: null (NULL), bigint (INTEGER), number (REAL), string (TEXT),
 * Buffer (BLOB).
 *
 * | cast                 | takes                                                      | staged as                      | converts (default first) |
 * |----------------------|------------------------------------------------------------|--------------------------------|--------------------------|
 * | integer              | INTEGER; a whole REAL; TEXT of a whole number               | number (text: its exact digits)| integer, money, text, select |
 * | real                 | INTEGER, REAL; TEXT of a number                             | number (text: its digits)      | money, text              |
 * | text                 | TEXT; INTEGER and REAL as their decimal text                | string                         | text, select             |
 * | blob                 | BLOB, as base64 (`"encoding": "hex"`: hex)                   | string                         | text                     |
 * | date                 | TEXT (the merge checks YYYY-MM-DD)                           | string                         | date                     |
 * | timestamp            | TEXT in ISO 8601, or SQLite's "YYYY-MM-DD HH:MM:SS" (UTC)    | ISO string                     | timestamp                |
 * | epoch_seconds        | INTEGER or REAL seconds since 1970 (or TEXT of a number)    | ISO string (date: YYYY-MM-DD)  | timestamp, date          |
 * | epoch_milliseconds   | the same in milliseconds (Prisma's DateTime in SQLite)       | ISO string (date: YYYY-MM-DD)  | timestamp, date          |
 * | boolean              | 0 and 1; TEXT "true"/"false" or "1"/"0" (any case)           | true / false                   | checkbox                 |
 * | json                 | TEXT holding JSON                                            | the text (multi_select: the parsed list of strings) | text, multi_select |
 * | key                  | INTEGER or non-blank TEXT: a linked row's key                | [key as text]                  | link                     |
 *
 * NULL is always empty. A value a cast refuses is never dropped and never
 * stops the read: it is staged so that the merge's conversion refuses it
 * too (sync.cell_problem), and the record lands with that column empty and
 * a field problem naming table, key, column and value (rule
 * cell_conversion). Where the raw value would pass the conversion (an
 * unparsable JSON text mapped to a text column, a text in an epoch column
 * mapped to a timestamp), it is staged wrapped, `{"refused": why, "value":
 * raw}`, which no conversion takes, so the reason carries the cast's why.
 */
import type { Conversion } from '../mapping-parts.ts';

export const SQLITE_CASTS = ['integer', 'real', 'text', 'blob', 'date', 'timestamp', 'epoch_seconds', 'epoch_milliseconds', 'boolean', 'json', 'key'] as const;
export type SqliteCast = (typeof SQLITE_CASTS)[number];

/** The conversions each cast can feed; the first is the default. */
export const CAST_CONVERSIONS: Record<SqliteCast, readonly Conversion[]> = {
  integer: ['integer', 'money', 'text', 'select'],
  real: ['money', 'text'],
  text: ['text', 'select'],
  blob: ['text'],
  date: ['date'],
  timestamp: ['timestamp'],
  epoch_seconds: ['timestamp', 'date'],
  epoch_milliseconds: ['timestamp', 'date'],
  boolean: ['checkbox'],
  json: ['text', 'multi_select'],
  key: ['link'],
};

/** A value as better-sqlite3 reads it with safe integers: the type is SQLite's storage class. */
export type SqliteValue = null | bigint | number | string | Buffer | Uint8Array;

/** How one mapped column is read. */
export interface CastRule {
  cast: SqliteCast;
  convert: Conversion;
  /** blob: how the bytes are written as text (default base64). */
  encoding?: 'base64' | 'hex';
}

export type CastResult = { ok: true; value: unknown } | { ok: false; why: string };

const WHOLE = /^[+-]?\d+$/;
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const SQLITE_DATETIME = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(:\d{2}(\.\d+)?)?)$/;
const TRUE_TEXT = new Set(['true', '1']);
const FALSE_TEXT = new Set(['false', '0']);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** The widest range of a JavaScript Date, in milliseconds either side of 1970. */
const MAX_DATE_MS = 8.64e15;

/** SQLite's name for a value's storage class, for messages. */
export function storageClass(value: SqliteValue): string {
  if (value === null) return 'NULL';
  if (typeof value === 'bigint') return 'an INTEGER';
  if (typeof value === 'number') return 'a REAL';
  if (typeof value === 'string') return 'a TEXT';
  return 'a BLOB';
}

/** A value as JSON can hold it: an integer beyond 2^53 as its exact digits, a blob as {"blob_base64": ...}, a REAL that JSON has no number for (Infinity) as its text. */
export function rawJson(value: SqliteValue): unknown {
  if (value === null || typeof value === 'string') return value;
  if (typeof value === 'bigint') return value >= -MAX_SAFE && value <= MAX_SAFE ? Number(value) : value.toString();
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  return { blob_base64: Buffer.from(value).toString('base64') };
}

const ok = (value: unknown): CastResult => ({ ok: true, value });
const refuse = (why: string): CastResult => ({ ok: false, why });

/** A whole number read as an exact bigint, or why not. */
function wholeNumber(value: SqliteValue): bigint | string {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : `${value} is not a whole number`;
  if (typeof value === 'string') return WHOLE.test(value.trim()) ? BigInt(value.trim()) : `text ${JSON.stringify(value)} is not a whole number`;
  return `${storageClass(value)} is not a whole number`;
}

/** Any number, or why not. */
function anyNumber(value: SqliteValue): number | string {
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'number') return Number.isFinite(value) ? value : `${value} is not a finite number`;
  if (typeof value === 'string') return NUMBER.test(value.trim()) ? Number(value.trim()) : `text ${JSON.stringify(value)} is not a number`;
  return `${storageClass(value)} is not a number`;
}

/** A date-time text in the ISO form the merge takes: SQLite's "YYYY-MM-DD HH:MM:SS" (UTC, SQLite's datetime()) gets its T and Z; text with a zone stays as it is. */
function isoTimestampText(text: string): string {
  const sqlite = SQLITE_DATETIME.exec(text.trim());
  return sqlite ? `${sqlite[1]}T${sqlite[2]}Z` : text;
}

/** Epoch seconds or milliseconds as an ISO timestamp or date, or why not. */
function epoch(value: SqliteValue, unitMs: number, convert: Conversion): CastResult {
  const n = anyNumber(value);
  if (typeof n === 'string') return refuse(`${n}, not a time since 1970`);
  const ms = n * unitMs;
  if (!(Math.abs(ms) <= MAX_DATE_MS)) return refuse(`${n} is out of range for a time since 1970`);
  const iso = new Date(Math.round(ms)).toISOString();
  if (!/^\d{4}-/.test(iso)) return refuse(`${n} is out of range for a time since 1970 (year ${iso.slice(0, 7)})`);
  return ok(convert === 'date' ? iso.slice(0, 10) : iso);
}

/** Reads one value by its rule; a refusal says why in words. NULL is always empty. */
export function castValue(value: SqliteValue, rule: CastRule): CastResult {
  if (value === null) return ok(null);
  switch (rule.cast) {
    case 'integer': {
      const n = wholeNumber(value);
      if (typeof n === 'string') return refuse(n);
      if (rule.convert === 'text' || rule.convert === 'select') return ok(n.toString());
      if (n > MAX_SAFE || n < -MAX_SAFE) return refuse(`${n} is too large to be kept exactly as a number (map it as text)`);
      return ok(Number(n));
    }
    case 'real': {
      const n = anyNumber(value);
      if (typeof n === 'string') return refuse(n);
      return ok(rule.convert === 'text' ? (typeof value === 'bigint' ? value.toString() : String(n)) : n);
    }
    case 'text':
      if (typeof value === 'string') return ok(value);
      if (typeof value === 'bigint' || typeof value === 'number') return ok(typeof value === 'number' && !Number.isFinite(value) ? String(value) : value.toString());
      return refuse(`${storageClass(value)} of ${value.length} bytes, not text`);
    case 'blob':
      if (typeof value === 'string' || typeof value === 'bigint' || typeof value === 'number') return refuse(`${storageClass(value)}, not a BLOB`);
      return ok(Buffer.from(value).toString(rule.encoding === 'hex' ? 'hex' : 'base64'));
    case 'date':
      // the merge checks the calendar (sync.is_iso_date), and flags what is not a date
      if (typeof value === 'string') return ok(value);
      return refuse(`${storageClass(value)}, not a date written as text`);
    case 'timestamp':
      if (typeof value === 'string') return ok(isoTimestampText(value));
      return refuse(`${storageClass(value)}, not a date-time written as text (an epoch column is read with epoch_seconds or epoch_milliseconds)`);
    case 'epoch_seconds':
      return epoch(value, 1000, rule.convert);
    case 'epoch_milliseconds':
      return epoch(value, 1, rule.convert);
    case 'boolean': {
      if (typeof value === 'bigint' || typeof value === 'number') {
        if (Number(value) === 0) return ok(false);
        if (Number(value) === 1) return ok(true);
        return refuse(`${value} is neither 0 nor 1`);
      }
      if (typeof value === 'string') {
        const text = value.trim().toLowerCase();
        if (TRUE_TEXT.has(text)) return ok(true);
        if (FALSE_TEXT.has(text)) return ok(false);
        return refuse(`text ${JSON.stringify(value)} is neither true nor false`);
      }
      return refuse(`${storageClass(value)}, not 0 or 1`);
    }
    case 'json': {
      if (typeof value !== 'string') return refuse(`${storageClass(value)}, not JSON text`);
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch (error) {
        return refuse(`not valid JSON: ${(error as Error).message}`);
      }
      if (rule.convert === 'multi_select') {
        if (!Array.isArray(parsed) || parsed.some((item) => typeof item !== 'string')) return refuse('JSON that is not a list of strings');
        return ok(parsed);
      }
      return ok(value);
    }
    case 'key': {
      if (typeof value === 'bigint') return ok([value.toString()]);
      if (typeof value === 'number' && Number.isSafeInteger(value)) return ok([String(value)]);
      if (typeof value === 'string' && value.trim() !== '') return ok([value]);
      return refuse(typeof value === 'string' ? 'a blank key' : `${storageClass(value)}, not a key`);
    }
  }
}

/**
 * What is staged for a value its cast refused: the value itself where the
 * merge's conversion refuses it as well (its message then names the value
 * as SQLite holds it), else wrapped as {"refused": why, "value": raw},
 * which no conversion takes. Either way the record lands, the column
 * empty, the problem on the field.
 */
export function refusedCell(value: SqliteValue, why: string, convert: Conversion): unknown {
  const json = rawJson(value);
  const mergeRefusesIt =
    ['checkbox', 'multi_select', 'link'].includes(convert) ||
    (['text', 'select', 'date', 'timestamp'].includes(convert) && typeof json !== 'string') ||
    (['integer', 'money'].includes(convert) && typeof json !== 'number') ||
    (convert === 'integer' && typeof json === 'number' && !Number.isInteger(json));
  return mergeRefusesIt ? json : { refused: why, value: json };
}

/** The value staged for a mapped column: cast, or refused as refusedCell says. */
export function stagedCell(value: SqliteValue, rule: CastRule): unknown {
  const result = castValue(value, rule);
  return result.ok ? result.value : refusedCell(value, result.why, rule.convert);
}
