/**
 * `airlift scaffold --source sqlite:FILE`: a SQLite database's own schema
 * read into a draft (draft.ts). Per table: its columns with their declared
 * types AND the storage classes their values actually have (one query per
 * table counts them, with what the values look like: ISO dates, SQLite's
 * date-time text, JSON, 0/1, magnitudes of numbers), its primary key, its
 * foreign keys (pragma foreign_key_list) and its indexes.
 *
 * Each column gets one of the SQLite source's cast rules
 * (src/sources/sqlite/casts.ts) and the conversion it feeds, decided from
 * the declared type first (SQLite's affinity rules: INT, CHAR/CLOB/TEXT,
 * BLOB or none, REAL/FLOA/DOUB, else NUMERIC; and BOOL, DATE, TIME in the
 * name), then the values:
 *
 * | declared / values                                   | cast                 | target column         |
 * |-----------------------------------------------------|----------------------|-----------------------|
 * | a foreign key to a drafted table's key              | key (link)           | uuid references ...   |
 * | BOOL...                                             | boolean              | boolean               |
 * | DATE/TIME..., INTEGER or REAL values                 | epoch_milliseconds (from 10^11 on: Prisma's DateTime), else epoch_seconds | timestamptz |
 * | DATE/TIME..., text values                            | date (all YYYY-MM-DD under DATE) or timestamp | date, timestamptz |
 * | INT..., whole numbers within -32,768..32,767         | integer              | integer               |
 * | INT..., larger                                       | integer, as text     | text (REVIEW)         |
 * | INT... named like a time (_at, _on, date, time) with values of epoch size | epoch_seconds / epoch_milliseconds (REVIEW) | timestamptz |
 * | REAL/NUMERIC, at most two decimals, under 10^10      | real (money)         | numeric(12,2)         |
 * | REAL/NUMERIC, more decimals                          | real, as text        | text (REVIEW)         |
 * | TEXT holding ISO dates / date-times (90% or more)    | date / timestamp     | date, timestamptz (REVIEW) |
 * | TEXT holding JSON (every value starts with { or [)   | json (lists of strings: multi_select) | text, text[] (REVIEW when some do not parse) |
 * | TEXT                                                 | text                 | text                  |
 * | BLOB                                                 | blob (hex up to 64 bytes, else base64) | text  |
 * | no declared type                                     | by the values' storage class (REVIEW) |      |
 *
 * Values that do not fit the chosen cast (a text in an INTEGER column, a
 * boolean 2, a date written 15/03/2024, JSON that does not parse) are
 * counted, with an example, in a REVIEW note: the pull lands them as field
 * problems. A table keyed by a composite primary key (or with no key at
 * all) is not drafted, and says so; a foreign key to it is kept as the
 * plain key value.
 */
import path from 'node:path';
import type { Conversion } from '../sources/mapping-parts.ts';
import { openSqliteFile, quoteName, type SqliteDatabase } from '../sources/sqlite/read.ts';
import { CAST_CONVERSIONS, type SqliteCast } from '../sources/sqlite/casts.ts';
import {
  entityNameFor, NameSet, rankTables, tableName, targetColumnName,
  type Draft, type DraftColumn, type DraftIndex, type DraftTable, type OnDelete,
} from './draft.ts';

interface ColumnInfo {
  cid: number;
  name: string;
  type: string;
  notnull: number;
  pk: number;
  hidden: number;
}

interface ForeignKey {
  id: number;
  seq: number;
  table: string;
  from: string;
  to: string | null;
  on_delete: string;
}

/** What one column's values are, counted over the whole table in one query. */
interface ColumnStats {
  n: number;
  ints: number;
  reals: number;
  texts: number;
  blobs: number;
  minNum: number | null;
  maxNum: number | null;
  notZeroOne: number;
  exampleNotZeroOne: unknown;
  fractional: number;
  manyDecimals: number;
  isoDates: number;
  isoDatetimes: number;
  jsonish: number;
  jsonValid: number;
  stringLists: number;
  maxBytes: number | null;
  exampleText: string | null;
  exampleNotDate: string | null;
  exampleNotDatetime: string | null;
  exampleBadJson: string | null;
  exampleReal: number | null;
  exampleBlobBytes: number | null;
}

const ISO_DATE = "'[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]'";
const ISO_DATETIME = "'[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9][ T][0-2][0-9]:[0-5][0-9]*'";

/** The aggregates of one column, as SQL select items named c<i>_<stat>. */
function statItems(column: string, i: number): string {
  const c = quoteName(column);
  const isText = `typeof(${c}) = 'text'`;
  const isNum = `typeof(${c}) in ('integer', 'real')`;
  const jsonStart = `substr(ltrim(${c}), 1, 1) in ('{', '[')`;
  const items: Record<string, string> = {
    n: `count(${c})`,
    ints: `sum(typeof(${c}) = 'integer')`,
    reals: `sum(typeof(${c}) = 'real')`,
    texts: `sum(${isText})`,
    blobs: `sum(typeof(${c}) = 'blob')`,
    minNum: `min(case when ${isNum} then ${c} end)`,
    maxNum: `max(case when ${isNum} then ${c} end)`,
    notZeroOne: `sum(case when ${isNum} then ${c} not in (0, 1) when ${isText} then lower(trim(${c})) not in ('true', 'false', '0', '1') else 0 end)`,
    exampleNotZeroOne: `min(case when ${isNum} and ${c} not in (0, 1) then ${c} when ${isText} and lower(trim(${c})) not in ('true', 'false', '0', '1') then ${c} end)`,
    fractional: `sum(case when typeof(${c}) = 'real' then ${c} <> round(${c}) else 0 end)`,
    manyDecimals: `sum(case when typeof(${c}) = 'real' then abs(${c} * 100 - round(${c} * 100)) > 1e-6 else 0 end)`,
    isoDates: `sum(case when ${isText} then ${c} glob ${ISO_DATE} else 0 end)`,
    isoDatetimes: `sum(case when ${isText} then ${c} glob ${ISO_DATETIME} else 0 end)`,
    jsonish: `sum(case when ${isText} then ${jsonStart} else 0 end)`,
    jsonValid: `sum(case when ${isText} and ${jsonStart} then json_valid(${c}) else 0 end)`,
    stringLists: `sum(case when ${isText} and substr(ltrim(${c}), 1, 1) = '[' and json_valid(${c}) then not exists (select 1 from json_each(${c}) where json_each.type <> 'text') else 0 end)`,
    maxBytes: `max(case when typeof(${c}) in ('text', 'blob') then length(cast(${c} as blob)) end)`,
    exampleText: `min(case when ${isText} then ${c} end)`,
    exampleNotDate: `min(case when ${isText} and ${c} not glob ${ISO_DATE} then ${c} end)`,
    exampleNotDatetime: `min(case when ${isText} and ${c} not glob ${ISO_DATETIME} then ${c} end)`,
    exampleBadJson: `min(case when ${isText} and not (${jsonStart} and json_valid(${c})) then ${c} end)`,
    exampleReal: `min(case when typeof(${c}) = 'real' then ${c} end)`,
    exampleBlobBytes: `min(case when typeof(${c}) = 'blob' then length(${c}) end)`,
  };
  return Object.entries(items).map(([stat, expr]) => `${expr} as c${i}_${stat}`).join(',\n  ');
}

/** Counts every column's values in one pass over the table. */
function tableStats(db: SqliteDatabase, table: string, columns: string[], sample?: number): { rows: number; counted: number; stats: ColumnStats[] } {
  const items = columns.map((c, i) => statItems(c, i));
  // --sample: the first rows only (in the table's own order), and the table's size apart
  const from = sample === undefined ? quoteName(table) : `(select * from ${quoteName(table)} limit ${Math.floor(sample)})`;
  const row = db.prepare(`select count(*) as total${items.length ? `,\n  ${items.join(',\n  ')}` : ''} from ${from}`).get() as Record<string, unknown>;
  const rows = sample === undefined ? Number(row.total) : Number(db.prepare(`select count(*) from ${quoteName(table)}`).pluck().get());
  const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));
  const stats = columns.map((_c, i) => {
    const get = (stat: string) => row[`c${i}_${stat}`];
    return {
      n: num(get('n')), ints: num(get('ints')), reals: num(get('reals')), texts: num(get('texts')), blobs: num(get('blobs')),
      minNum: get('minNum') === null ? null : Number(get('minNum')), maxNum: get('maxNum') === null ? null : Number(get('maxNum')),
      notZeroOne: num(get('notZeroOne')), exampleNotZeroOne: get('exampleNotZeroOne'),
      fractional: num(get('fractional')), manyDecimals: num(get('manyDecimals')),
      isoDates: num(get('isoDates')), isoDatetimes: num(get('isoDatetimes')),
      jsonish: num(get('jsonish')), jsonValid: num(get('jsonValid')), stringLists: num(get('stringLists')),
      maxBytes: get('maxBytes') === null ? null : Number(get('maxBytes')),
      exampleText: get('exampleText') as string | null, exampleNotDate: get('exampleNotDate') as string | null,
      exampleNotDatetime: get('exampleNotDatetime') as string | null, exampleBadJson: get('exampleBadJson') as string | null,
      exampleReal: get('exampleReal') === null ? null : Number(get('exampleReal')),
      exampleBlobBytes: get('exampleBlobBytes') === null ? null : Number(get('exampleBlobBytes')),
    } satisfies ColumnStats;
  });
  return { rows, counted: num(row.total), stats };
}

type Affinity = 'INTEGER' | 'TEXT' | 'BLOB' | 'REAL' | 'NUMERIC';

/** SQLite's affinity of a declared type (https://www.sqlite.org/datatype3.html, 3.1). */
export function affinity(declared: string): Affinity {
  const t = declared.toUpperCase();
  if (t.includes('INT')) return 'INTEGER';
  if (t.includes('CHAR') || t.includes('CLOB') || t.includes('TEXT')) return 'TEXT';
  if (t.includes('BLOB') || t.trim() === '') return 'BLOB';
  if (t.includes('REAL') || t.includes('FLOA') || t.includes('DOUB')) return 'REAL';
  return 'NUMERIC';
}

const SMALLINT = 32767;
const EPOCH_MS_FROM = 1e11; // 1973-03-03 in ms; 5138 in seconds
const EPOCH_SECONDS = { min: 1e8, max: 4.2e9 }; // 1973 to 2103
const EPOCH_MS = { min: 1e11, max: 4.2e12 };
const TIME_NAME = /(_at|_on|_date|_time|^date|^time|At|On|Date|Time)$/;

const describe = (s: ColumnStats) =>
  [s.ints && `${s.ints} INTEGER`, s.reals && `${s.reals} REAL`, s.texts && `${s.texts} TEXT`, s.blobs && `${s.blobs} BLOB`].filter(Boolean).join(', ') || 'no values';

const show = (value: unknown) => (typeof value === 'string' ? JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value) : String(value));

interface Decision {
  cast: SqliteCast;
  conversion: Conversion;
  encoding?: 'hex' | 'base64';
  /** What the values are and how they are read, for the column's comment. */
  how: string;
  reviews: string[];
}

/** Decides a (non-link) column's cast and conversion from its declared type and its values. */
export function decideColumn(name: string, declared: string, s: ColumnStats): Decision {
  const t = declared.toUpperCase();
  const aff = affinity(declared);
  const reviews: string[] = [];
  const others = (expected: number, what: string, example: unknown, consequence = 'each lands as a field problem (the column empty)') => {
    const off = s.n - expected;
    if (off > 0) reviews.push(`${off} of ${s.n} values are not ${what}${example !== null && example !== undefined ? ` (e.g. ${show(example)})` : ''}: ${consequence}`);
  };
  const empty = s.n === 0;
  if (empty) reviews.push(`the column holds no value: its type is only the declared one (${declared || 'none'}), not checked against data`);

  // booleans: declared so (SQLite has no boolean: 0 and 1, NUMERIC affinity)
  if (t.includes('BOOL')) {
    others(s.n - s.notZeroOne, '0 or 1 (or true/false text)', s.exampleNotZeroOne);
    return { cast: 'boolean', conversion: 'checkbox', how: 'a boolean (0/1 in SQLite); false when the value was neither (a field problem says so)', reviews };
  }

  // date and time types: numbers are epochs (Prisma's DateTime: milliseconds), text is ISO
  if (t.includes('DATE') || t.includes('TIME')) {
    const numbers = s.ints + s.reals;
    if (numbers >= s.texts && !empty) {
      const ms = Math.max(Math.abs(s.minNum ?? 0), Math.abs(s.maxNum ?? 0)) >= EPOCH_MS_FROM;
      others(numbers, 'numbers', s.exampleText);
      if (!ms) reviews.push(`declared ${declared} with numbers up to ${s.maxNum}: read as epoch SECONDS (milliseconds would be 10^11 and more); check against the application`);
      return {
        cast: ms ? 'epoch_milliseconds' : 'epoch_seconds', conversion: 'timestamp',
        how: ms ? `epoch milliseconds in SQLite (declared ${declared}: Prisma's DateTime)` : `epoch seconds in SQLite (declared ${declared})`, reviews,
      };
    }
    const dateOnly = !t.includes('TIME') && s.isoDates === s.texts && s.texts > 0;
    if (dateOnly) {
      others(s.texts, 'text', s.exampleReal);
      return { cast: 'date', conversion: 'date', how: `an ISO date (YYYY-MM-DD text in SQLite, declared ${declared})`, reviews };
    }
    others(s.isoDatetimes + s.isoDates, 'ISO date-times (YYYY-MM-DD HH:MM:SS)', s.exampleNotDatetime);
    return { cast: 'timestamp', conversion: 'timestamp', how: `a date-time (text in SQLite, declared ${declared}; SQLite's "YYYY-MM-DD HH:MM:SS" read as UTC)`, reviews };
  }

  // untyped columns (BLOB affinity without BLOB in the name): the values decide
  // JSON is text whatever affinity its declared name gives (Prisma's Json: JSONB)
  let kind: Affinity = t.includes('JSON') ? 'TEXT' : aff;
  if (kind === 'BLOB' && !t.includes('BLOB')) {
    const counts: Array<[Affinity, number]> = [['INTEGER', s.ints], ['REAL', s.reals], ['TEXT', s.texts], ['BLOB', s.blobs]];
    kind = counts.reduce((a, b) => (b[1] > a[1] ? b : a))[0];
    if (kind === 'INTEGER' && s.reals > 0) kind = 'REAL';
    reviews.push(`no declared type: its values are ${describe(s)}; read as ${kind}`);
  }

  if (kind === 'INTEGER') {
    const whole = s.ints + (s.reals - s.fractional);
    const lo = s.minNum ?? 0;
    const hi = s.maxNum ?? 0;
    if (s.texts + s.blobs + s.fractional > 0) others(whole, 'whole numbers', s.exampleText ?? s.exampleReal);
    if (TIME_NAME.test(name) && whole > 0 && lo >= EPOCH_SECONDS.min && hi <= EPOCH_SECONDS.max) {
      reviews.push(`an INTEGER named like a time, values ${lo} to ${hi}: read as epoch seconds (${new Date(lo * 1000).toISOString().slice(0, 10)} to ${new Date(hi * 1000).toISOString().slice(0, 10)}); if these are plain numbers, cast integer (text)`);
      return { cast: 'epoch_seconds', conversion: 'timestamp', how: 'epoch seconds in SQLite (an INTEGER)', reviews };
    }
    if (TIME_NAME.test(name) && whole > 0 && lo >= EPOCH_MS.min && hi <= EPOCH_MS.max) {
      reviews.push(`an INTEGER named like a time, values ${lo} to ${hi}: read as epoch milliseconds (${new Date(lo).toISOString().slice(0, 10)} to ${new Date(hi).toISOString().slice(0, 10)}); if these are plain numbers, cast integer (text)`);
      return { cast: 'epoch_milliseconds', conversion: 'timestamp', how: 'epoch milliseconds in SQLite (an INTEGER)', reviews };
    }
    if (!empty && s.notZeroOne === 0 && s.texts === 0) {
      reviews.push('an INTEGER holding only 0 and 1: a boolean? (then cast boolean, a boolean column, conversion checkbox)');
    }
    if (Math.max(Math.abs(lo), Math.abs(hi)) > SMALLINT) {
      reviews.push(`values from ${lo} to ${hi}: beyond the merge's whole numbers (-32,768 to 32,767), so kept as their exact decimal text; a numeric column would need a conversion the merge does not have`);
      return { cast: 'integer', conversion: 'text', how: 'an INTEGER in SQLite, as its exact decimal text', reviews };
    }
    return { cast: 'integer', conversion: 'integer', how: `an INTEGER in SQLite${declared ? ` (declared ${declared})` : ''}; the merge takes whole numbers from -32,768 to 32,767`, reviews };
  }

  if (kind === 'REAL' || kind === 'NUMERIC') {
    const numbers = s.ints + s.reals;
    if (s.texts + s.blobs > 0) others(numbers, 'numbers', s.exampleText);
    const big = Math.max(Math.abs(s.minNum ?? 0), Math.abs(s.maxNum ?? 0)) >= 1e10;
    if (s.manyDecimals > 0 || big) {
      reviews.push(`${s.manyDecimals > 0 ? `${s.manyDecimals} values have more than two decimals (e.g. ${s.exampleReal})` : `values up to ${s.maxNum}`}: money (numeric(12,2), to the cent) would change them, so they are kept as their decimal text`);
      return { cast: 'real', conversion: 'text', how: `a number (${declared || 'REAL'} in SQLite), as its decimal text`, reviews };
    }
    return { cast: 'real', conversion: 'money', how: `a number with at most two decimals (${declared || 'REAL'} in SQLite), to the cent`, reviews };
  }

  if (kind === 'BLOB') {
    if (s.texts + s.ints + s.reals > 0) others(s.blobs, 'BLOBs', s.exampleText ?? s.minNum);
    const hex = (s.maxBytes ?? 0) <= 64;
    return {
      cast: 'blob', conversion: 'text', encoding: hex ? 'hex' : 'base64',
      how: `bytes (a BLOB in SQLite${s.maxBytes !== null ? `, up to ${s.maxBytes} bytes` : ''}), as ${hex ? 'hex' : 'base64'} text`, reviews,
    };
  }

  // TEXT
  if (s.blobs > 0) others(s.n - s.blobs, 'text or numbers', `${s.exampleBlobBytes}-byte BLOB`);
  else if (s.ints + s.reals > 0) reviews.push(`${s.ints + s.reals} of ${s.n} values are numbers in a TEXT column: kept as their decimal text`);
  if (s.texts > 0 && s.isoDates >= 0.9 * s.texts) {
    others(s.isoDates, 'ISO dates (YYYY-MM-DD)', s.exampleNotDate);
    reviews.push(`TEXT holding ISO dates (${s.isoDates} of ${s.texts}): read as a date; cast text to keep them as written`);
    return { cast: 'date', conversion: 'date', how: 'a date (ISO YYYY-MM-DD text in SQLite)', reviews };
  }
  if (s.texts > 0 && s.isoDatetimes >= 0.9 * s.texts) {
    others(s.isoDatetimes, 'ISO date-times', s.exampleNotDatetime);
    reviews.push(`TEXT holding date-times (${s.isoDatetimes} of ${s.texts}): read as a timestamp, SQLite's "YYYY-MM-DD HH:MM:SS" as UTC; cast text to keep them as written`);
    return { cast: 'timestamp', conversion: 'timestamp', how: 'a date-time (ISO text in SQLite; "YYYY-MM-DD HH:MM:SS" read as UTC)', reviews };
  }
  if (s.texts > 0 && s.jsonish === s.texts && s.jsonValid > 0) {
    if (s.jsonValid < s.texts) {
      reviews.push(`${s.texts - s.jsonValid} of ${s.texts} values do not parse as JSON (e.g. ${show(s.exampleBadJson)}): each lands as a field problem (the column empty)`);
    }
    if (s.stringLists === s.jsonValid) {
      reviews.push('TEXT holding JSON lists of strings: read as a text array (multi_select); cast json with conversion text keeps the JSON as written');
      return { cast: 'json', conversion: 'multi_select', how: 'a list of strings (JSON text in SQLite)', reviews };
    }
    return { cast: 'json', conversion: 'text', how: 'JSON text as written, checked to parse', reviews };
  }
  return { cast: 'text', conversion: 'text', how: `text${declared && declared.toUpperCase() !== 'TEXT' ? ` (declared ${declared})` : ''}`, reviews };
}

function onDeleteFor(action: string): { onDelete: OnDelete; why: string; review?: string } {
  switch (action.toUpperCase()) {
    case 'CASCADE':
      return { onDelete: 'cascade', why: 'SQLite: ON DELETE CASCADE' };
    case 'SET NULL':
      return { onDelete: 'set null', why: 'SQLite: ON DELETE SET NULL' };
    case 'RESTRICT':
      return { onDelete: 'restrict', why: 'SQLite: ON DELETE RESTRICT' };
    case 'SET DEFAULT':
      return { onDelete: 'set null', why: 'SQLite: ON DELETE SET DEFAULT, which has no uuid default here', review: 'ON DELETE SET DEFAULT in SQLite: set null here (a uuid link has no default); decide' };
    default:
      return { onDelete: 'restrict', why: `SQLite: ${action || 'NO ACTION'}, the default: a linked row cannot be deleted while rows link to it` };
  }
}

export interface SqliteScaffoldOptions {
  file: string;
  schema: string;
  /** Where the mapping is written: its source path is relative to it. */
  outDir: string;
  /** Count the values of the first rows of each table only (default: every row). */
  sample?: number;
}

interface TableFacts {
  name: string;
  columns: ColumnInfo[];
  fks: ForeignKey[][];
  keyColumn: string | null;
  keyWhy: string;
  refused: string | null;
  reviews: string[];
}

/** Reads the file's schema and values into a draft. Throws a ConfigurationError when the file cannot be read. */
export function scaffoldSqlite(options: SqliteScaffoldOptions): Draft {
  const db = openSqliteFile(options.file);
  try {
    return readDraft(db, options);
  } finally {
    db.close();
  }
}

function readDraft(db: SqliteDatabase, options: SqliteScaffoldOptions): Draft {
  const tableRows = db
    .prepare(`select name, sql from sqlite_schema where type = 'table' and name not like 'sqlite\\_%' escape '\\' order by name`)
    .all() as Array<{ name: string; sql: string | null }>;
  const refused: Draft['refused'] = [];
  const facts: TableFacts[] = [];

  for (const { name, sql } of tableRows) {
    if (/^\s*create\s+virtual\s+table/i.test(sql ?? '')) {
      refused.push({ sourceName: name, why: 'a virtual table (full-text search or an extension\'s): its rows live elsewhere; draft its content table by hand if it is data' });
      continue;
    }
    const columns = (db.prepare('select cid, name, type, "notnull", pk, hidden from pragma_table_xinfo(?) order by cid').all(name) as ColumnInfo[]).filter((c) => c.hidden !== 1);
    const fkRows = db.prepare('select id, seq, "table", "from", "to", on_delete from pragma_foreign_key_list(?) order by id, seq').all(name) as ForeignKey[];
    const byId = new Map<number, ForeignKey[]>();
    for (const row of fkRows) byId.set(row.id, [...(byId.get(row.id) ?? []), row]);
    const fks = [...byId.values()];
    const pk = columns.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk);
    const reviews: string[] = [];
    if (name.startsWith('_prisma_migrations')) reviews.push('Prisma\'s own bookkeeping of its migrations, not application data: drop this table from the draft unless it is wanted');
    let keyColumn: string | null = null;
    let keyWhy = '';
    let refusedWhy: string | null = null;
    if (pk.length === 1) {
      keyColumn = pk[0]!.name;
      keyWhy = `its primary key ${keyColumn}`;
    } else if (pk.length > 1) {
      refusedWhy = `a composite primary key (${pk.map((c) => c.name).join(', ')}): a source key is one column; key it by one (a unique column, or a surrogate added in SQLite), or draft it by hand`;
    } else {
      // a single-column unique index over a column of its own (not partial, not an expression)
      const unique = (db.prepare('select name from pragma_index_list(?) where "unique" = 1 and partial = 0 order by name').pluck().all(name) as string[])
        .map((index) => db.prepare('select name from pragma_index_info(?)').pluck().all(index) as Array<string | null>)
        .find((cols) => cols.length === 1 && cols[0] !== null);
      if (unique) {
        keyColumn = unique[0]!;
        keyWhy = `its unique column ${keyColumn} (the table has no primary key)`;
        reviews.push(`no primary key: keyed by ${keyColumn}, the column of a unique index; check that it identifies a row for good`);
      } else {
        refusedWhy = 'no primary key and no single-column unique index: nothing identifies a row across exports';
      }
    }
    if (refusedWhy) {
      refused.push({ sourceName: name, why: refusedWhy });
      continue;
    }
    if (columns.length === 1) {
      refused.push({ sourceName: name, why: `only its key column ${keyColumn}: a mapping needs a field to merge` });
      continue;
    }
    facts.push({ name, columns, fks, keyColumn, keyWhy, refused: null, reviews });
  }

  // names: tables first (links need them), then each table's columns
  const tableNames = new NameSet();
  const entities = new NameSet();
  const prefix = options.schema;
  const draftName = new Map<string, string>();
  const entityOf = new Map<string, string>();
  for (const table of facts) {
    draftName.set(table.name, tableNames.take(tableName(table.name)));
    entityOf.set(table.name, entities.take(entityNameFor(prefix, draftName.get(table.name)!)).replace(/[0-9]/g, 'x'));
  }

  const tables: DraftTable[] = [];
  for (const table of facts) {
    const name = draftName.get(table.name)!;
    const keyInfo = table.columns.find((c) => c.name === table.keyColumn)!;
    const fieldColumns = table.columns.filter((c) => c.name !== table.keyColumn);
    const { rows, counted, stats } = tableStats(db, table.name, table.columns.map((c) => c.name), options.sample);
    const statOf = new Map(table.columns.map((c, i) => [c.name, stats[i]!]));
    const keyStats = statOf.get(keyInfo.name)!;
    const reviews = [...table.reviews];
    if (counted < rows) reviews.push(`values counted over the first ${counted} of ${rows} rows (--sample): a value further down may not fit its column; draft without --sample before committing`);
    const badKeys = counted - keyStats.ints - keyStats.texts;
    if (badKeys > 0) reviews.push(`${badKeys} of ${counted} rows have a key that is NULL, a REAL or a BLOB: the pull quarantines them (a key is INTEGER or TEXT)`);
    const keyKind = keyStats.ints > 0 && keyStats.texts === 0 ? 'INTEGER' : keyStats.texts > 0 && keyStats.ints === 0 ? 'TEXT' : keyStats.ints + keyStats.texts === 0 ? (affinity(keyInfo.type) === 'INTEGER' ? 'INTEGER' : 'TEXT') : 'mixed';
    if (keyKind === 'mixed') reviews.push(`the key ${keyInfo.name} holds ${keyStats.ints} INTEGER and ${keyStats.texts} TEXT values: an INTEGER 7 and a TEXT "7" are one key for the pull (the first read is kept)`);

    // links: single-column foreign keys to a drafted table's key column
    const links = new Map<string, { table: string; onDelete: OnDelete; why: string; review?: string }>();
    const linkReviews = new Map<string, string[]>();
    const addLinkReview = (column: string, note: string) => linkReviews.set(column, [...(linkReviews.get(column) ?? []), note]);
    for (const fk of table.fks) {
      const first = fk[0]!;
      if (fk.length > 1) {
        for (const part of fk) addLinkReview(part.from, `part of a composite foreign key (${fk.map((p) => p.from).join(', ')}) to ${first.table}: not a link here, kept as a plain value; link it by hand if ${first.table} gets a single key`);
        continue;
      }
      const linked = facts.find((f) => f.name === first.table) ?? facts.find((f) => f.name.toLowerCase() === first.table.toLowerCase());
      if (!linked) {
        const why = refused.find((r) => r.sourceName.toLowerCase() === first.table.toLowerCase());
        addLinkReview(first.from, `a foreign key to ${first.table}, which is ${why ? `not drafted (${why.why})` : 'not in the file'}: kept as the plain key value, not a link`);
        continue;
      }
      const to = first.to ?? linked.keyColumn;
      if (to !== linked.keyColumn) {
        addLinkReview(first.from, `a foreign key to ${first.table}.${to}, which is not that table's key (${linked.keyColumn}): kept as a plain value; a link resolves by the linked row's key`);
        continue;
      }
      links.set(first.from, { table: draftName.get(linked.name)!, ...onDeleteFor(first.on_delete) });
    }

    const columnNames = new NameSet(['id', 'sqlite_id', 'open_problem_count', 'created_at', 'updated_at', 'deleted_at']);
    const columns: DraftColumn[] = [];
    for (const info of fieldColumns) {
      const s = statOf.get(info.name)!;
      const { name: column, renamed } = targetColumnName(info.name, columnNames, 'sqlite_id');
      const reviews = [...(linkReviews.get(info.name) ?? [])];
      if (info.hidden === 2 || info.hidden === 3) reviews.push('a generated column in SQLite: its values are copied as they are; compute it here instead if that is wanted');
      const sourceRef = `${table.name}.${info.name}`;
      const renamedNote = renamed ? ` (${renamed})` : '';
      const link = links.get(info.name);
      if (link) {
        if (link.review) reviews.push(link.review);
        const off = s.n - s.ints - s.texts;
        if (off > 0) reviews.push(`${off} of ${s.n} values are neither INTEGER nor TEXT: each lands as a field problem`);
        columns.push({
          name: column, sourceName: info.name, conversion: 'link', link: { table: link.table, onDelete: link.onDelete, why: link.why },
          comment: `The ${link.table} row it links to (SQLite ${sourceRef}, a foreign key)${renamedNote}.`, reviews,
          field: { from: info.name, cast: 'key', linkedEntity: entityOf.get(facts.find((f) => draftName.get(f.name) === link.table)!.name) },
          plainField: { from: info.name, cast: 'text' },
        });
        continue;
      }
      const decision = decideColumn(info.name, info.type, s);
      reviews.push(...decision.reviews);
      const field: Record<string, unknown> = { from: info.name, cast: decision.cast };
      if (decision.conversion !== CAST_CONVERSIONS[decision.cast][0]) field.convert = decision.conversion;
      if (decision.encoding === 'hex') field.encoding = 'hex';
      columns.push({
        name: column, sourceName: info.name, conversion: decision.conversion,
        comment: `From SQLite ${sourceRef}: ${decision.how}${renamedNote}.`, reviews, field,
      });
    }

    // indexes: one per link (links are resolved and rows deleted by them), then SQLite's own over drafted columns
    const indexNames = new NameSet();
    const indexes: DraftIndex[] = [];
    const covered = new Set<string>();
    const byColumn = new Map(columns.map((c) => [c.sourceName, c]));
    for (const column of columns.filter((c) => c.link)) {
      indexes.push({ name: indexNames.take(`${name}_${column.name}`), columns: [column.name], comment: `Foreign key ${column.name}: the rows linking to a ${column.link!.table} row.` });
      covered.add(column.name);
    }
    const sqliteIndexes = db.prepare('select name, "unique", origin, partial from pragma_index_list(?) order by name').all(table.name) as Array<{ name: string; unique: number; origin: string; partial: number }>;
    for (const index of sqliteIndexes) {
      if (index.origin === 'pk') continue;
      const parts = db.prepare('select cid, name from pragma_index_info(?) order by seqno').all(index.name) as Array<{ cid: number; name: string | null }>;
      if (parts.some((p) => p.name === table.keyColumn) && parts.length === 1) continue; // the key: sqlite_id is unique
      const label = index.origin === 'u' ? `a UNIQUE constraint over (${parts.map((p) => p.name ?? '<expression>').join(', ')})` : `index ${index.name}`;
      if (parts.some((p) => p.name === null) || index.partial) {
        reviews.push(`${label} ${index.partial ? 'is partial' : 'indexes an expression'}: not drafted; write it by hand if queries need it`);
        continue;
      }
      const targetColumns = parts.map((p) => byColumn.get(p.name!)?.name ?? (p.name === table.keyColumn ? 'sqlite_id' : null));
      if (targetColumns.some((c) => c === null)) continue;
      if (index.unique) {
        reviews.push(`${label} is unique in SQLite; drafted as a plain index, since a duplicate the source holds would stop the merge. Make it unique once the data is known to hold`);
      }
      const key = (targetColumns as string[]).join(',');
      if (covered.has(key)) continue;
      covered.add(key);
      indexes.push({
        name: indexNames.take(`${name}_${(targetColumns as string[]).join('_')}`.slice(0, 63)), columns: targetColumns as string[],
        comment: `From SQLite ${label}${index.unique ? ', not unique here' : ''}.`,
      });
    }

    tables.push({
      sourceName: table.name, name, entity: entityOf.get(table.name)!,
      comment: `Drafted from SQLite table ${table.name} (${rows} rows when scaffolded, keyed by ${table.keyWhy}). Say what it holds.`,
      key: table.keyColumn!,
      keyComment: `The SQLite row's key (${table.name}.${table.keyColumn}, ${keyKind === 'INTEGER' ? 'an INTEGER, as its decimal text' : keyKind === 'TEXT' ? 'TEXT' : 'INTEGER or TEXT'})`,
      columns, indexes, reviews, rank: 1,
      mappingTable: { entity: entityOf.get(table.name)!, table: table.name, key: table.keyColumn!, target: `${options.schema}.${name}` },
    });
  }
  rankTables(tables);

  const relative = path.relative(options.outDir, options.file) || path.basename(options.file);
  return {
    schema: options.schema,
    sourceLabel: `the SQLite file ${options.file}`,
    sourceKeyColumn: 'sqlite_id',
    goneFrom: 'the SQLite file',
    tables,
    refused,
    mappingHead: {
      version: 1,
      description: `DRAFT written by airlift scaffold from the SQLite file ${path.basename(options.file)} to schema ${options.schema} (migration.sql next to it); review its REVIEW notes before use.`,
      source: { kind: 'sqlite', path: relative.split(path.sep).join('/') },
    },
  };
}
