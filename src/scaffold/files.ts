/**
 * `airlift scaffold --source files:DIR`: a directory of exports (JSON
 * arrays, JSON objects keyed by id, JSON documents holding their records
 * under a property, JSON Lines, CSV with a header row; the files source's
 * formats, src/sources/files/) read into a draft (draft.ts). The exports
 * carry no schema, so everything is inferred from the records and said:
 *
 * - the records: a JSON document's root array, an object whose values are
 *   all objects (keyed by id: `"key": "$key"`), or the largest array of
 *   objects under a property (`recordsPath`); every line of JSON Lines;
 *   every row of a CSV;
 * - the key: the property name of an object keyed by id, else a field
 *   named id (or key, uuid, or ending in id) whose values are present and
 *   unique; keys that are all hex (`0x...`, wallet addresses) are
 *   lowercased (`keyCase`), a REVIEW note says so; no such field: the file
 *   is not drafted;
 * - fields: nested objects flattened into dot paths (`phone.mobile`),
 *   lists of strings as text arrays, lists of objects not drafted (a
 *   REVIEW note: a table of their own);
 * - types from the values (a CSV's cells are text, read as the files
 *   source reads them: "12.50" is a number, "yes" a boolean): booleans,
 *   whole numbers (-32,768 to 32,767), money (at most two decimals), ISO
 *   dates and date-times (90% of the values or more), lists split on ";"
 *   in a CSV, text;
 * - links: a field whose values are (mostly) another export's keys links
 *   to it, as a uuid with `on delete set null` (the exports say nothing of
 *   deletes: a REVIEW note each).
 *
 * Values that do not fit (an amount "TBD", a 30 February, a key naming no
 * record) are counted with an example in a REVIEW note: the pull lands them
 * as field problems.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { ConfigurationError } from '../config.ts';
import type { Conversion } from '../sources/mapping-parts.ts';
import { entityNameFor, NameSet, rankTables, tableName, targetColumnName, type Draft, type DraftColumn, type DraftTable } from './draft.ts';

type Format = 'json' | 'jsonl' | 'csv';
const EXTENSIONS: Record<string, Format> = { '.json': 'json', '.jsonl': 'jsonl', '.ndjson': 'jsonl', '.csv': 'csv', '.tsv': 'csv' };
/** Files larger than this are not drafted from (a JSON document is read whole). */
const MAX_BYTES = 256 * 1024 * 1024;
const SMALLINT = 32767;
/** A CSV cell read as a number: no sign but minus, no leading zero (a phone number, a zip code or an account number stays text). */
const NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;
const BOOL_TEXT = new Set(['true', 'false', 'yes', 'no']);
const SPLIT_PIECE = /^[\w.-]+$/;
const HEX_KEY = /^0x[0-9a-fA-F]+$/;

interface ReadFile {
  file: string;
  format: Format;
  records: Array<Record<string, unknown>>;
  /** Keyed by property name: each record's key. */
  propertyKeys?: string[];
  recordsPath?: string;
  /** Lines or rows that are not records (JSON Lines that do not parse). */
  broken: number;
  brokenExample?: string;
  delimiter?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A calendar date written YYYY-MM-DD (2025-02-30 is not). */
function isCalendarDate(text: string): boolean {
  if (!ISO_DATE.test(text)) return false;
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === text;
}

function readExport(dir: string, name: string): ReadFile | { refused: string } {
  const file = path.join(dir, name);
  const format = EXTENSIONS[path.extname(name).toLowerCase()]!;
  const size = statSync(file).size;
  if (size > MAX_BYTES) return { refused: `${size} bytes: larger than the ${MAX_BYTES / 1024 / 1024} MB the scaffold reads; draft it from a smaller export of the same shape` };
  const text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  if (format === 'json') {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (error) {
      return { refused: `not valid JSON: ${(error as Error).message}` };
    }
    if (Array.isArray(doc)) return { file: name, format, records: doc.filter(isObject), broken: doc.filter((d) => !isObject(d)).length };
    if (!isObject(doc)) return { refused: 'a JSON document that is neither a list of records nor an object holding them' };
    const values = Object.values(doc);
    if (values.length > 0 && values.every(isObject)) return { file: name, format, records: values as Array<Record<string, unknown>>, propertyKeys: Object.keys(doc), broken: 0 };
    // the largest list of objects under a property of the root
    const holders = Object.entries(doc).filter(([, v]) => Array.isArray(v) && v.some(isObject)) as Array<[string, unknown[]]>;
    holders.sort((a, b) => b[1].length - a[1].length);
    const holder = holders[0];
    if (!holder) return { refused: 'a JSON document with no list of records in it (nor an object keyed by id)' };
    return { file: name, format, records: holder[1].filter(isObject), recordsPath: holder[0], broken: holder[1].filter((d) => !isObject(d)).length };
  }
  if (format === 'jsonl') {
    const records: Array<Record<string, unknown>> = [];
    let broken = 0;
    let brokenExample: string | undefined;
    text.split(/\r?\n/).forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        const value = JSON.parse(line) as unknown;
        if (isObject(value)) return void records.push(value);
      } catch {
        // counted below
      }
      broken += 1;
      brokenExample ??= `line ${i + 1}`;
    });
    return { file: name, format, records, broken, brokenExample };
  }
  const delimiter = path.extname(name).toLowerCase() === '.tsv' ? '\t' : ',';
  try {
    const rows = parseCsv(text, { bom: true, columns: true, skip_empty_lines: true, relax_column_count: true, delimiter }) as Array<Record<string, string>>;
    // an empty cell is absent, as the files source reads it
    const records = rows.map((row) => Object.fromEntries(Object.entries(row).filter(([, v]) => v !== '' && v !== undefined)));
    return { file: name, format, records, broken: 0, delimiter };
  } catch (error) {
    return { refused: `CSV that cannot be read: ${(error as Error).message}` };
  }
}

interface PathStats {
  present: number;
  strings: number;
  numbers: number;
  wholeSmall: number;
  manyDecimals: number;
  big: number;
  booleans: number;
  stringLists: number;
  objectLists: number;
  otherLists: number;
  isoDates: number;
  calendarDates: number;
  isoDatetimes: number;
  numericTexts: number;
  boolTexts: number;
  splitTexts: number;
  examples: { notNumber?: unknown; notDate?: unknown; notDatetime?: unknown; notBoolean?: unknown; manyDecimals?: unknown };
  values: Set<string>;
  rawValues: unknown[];
}

function emptyStats(): PathStats {
  return {
    present: 0, strings: 0, numbers: 0, wholeSmall: 0, manyDecimals: 0, big: 0, booleans: 0, stringLists: 0, objectLists: 0, otherLists: 0,
    isoDates: 0, calendarDates: 0, isoDatetimes: 0, numericTexts: 0, boolTexts: 0, splitTexts: 0, examples: {}, values: new Set(), rawValues: [],
  };
}

function countNumber(s: PathStats, n: number, raw: unknown): void {
  // "1140.00" is written as an amount, not a whole number
  if (Number.isInteger(n) && Math.abs(n) <= SMALLINT && !(typeof raw === 'string' && raw.includes('.'))) s.wholeSmall += 1;
  if (Math.abs(n * 100 - Math.round(n * 100)) > 1e-6) {
    s.manyDecimals += 1;
    s.examples.manyDecimals ??= raw;
  }
  if (Math.abs(n) >= 1e10) s.big += 1;
}

/** Every leaf path of every record (nested objects flattened), with what its values are. */
function pathStats(records: Array<Record<string, unknown>>, csv: boolean): Map<string, PathStats> {
  const stats = new Map<string, PathStats>();
  const visit = (value: unknown, at: string) => {
    if (isObject(value) && Object.keys(value).length > 0 && Object.keys(value).every((k) => /^[^.\s\\[\]]+$/.test(k))) {
      for (const [k, v] of Object.entries(value)) visit(v, at ? `${at}.${k}` : k);
      return;
    }
    if (value === null || value === undefined) {
      if (!stats.has(at)) stats.set(at, emptyStats());
      return;
    }
    const s = stats.get(at) ?? emptyStats();
    stats.set(at, s);
    s.present += 1;
    if (s.rawValues.length < 100_000) s.rawValues.push(value);
    if (typeof value === 'boolean') {
      s.booleans += 1;
      return;
    }
    if (typeof value === 'number') {
      s.numbers += 1;
      s.values.add(String(value));
      countNumber(s, value, value);
      return;
    }
    if (Array.isArray(value)) {
      if (value.every((v) => typeof v === 'string')) s.stringLists += 1;
      else if (value.some(isObject)) s.objectLists += 1;
      else s.otherLists += 1;
      return;
    }
    if (typeof value !== 'string') return;
    s.strings += 1;
    s.values.add(value);
    const text = value.trim();
    if (ISO_DATE.test(text)) {
      s.isoDates += 1;
      if (isCalendarDate(text)) s.calendarDates += 1;
      else s.examples.notDate ??= value;
    } else s.examples.notDate ??= value;
    if (ISO_DATETIME.test(text) && !ISO_DATE.test(text)) s.isoDatetimes += 1;
    else s.examples.notDatetime ??= value;
    if (csv && NUMBER.test(text)) {
      s.numericTexts += 1;
      countNumber(s, Number(text), value);
    } else s.examples.notNumber ??= value;
    if (BOOL_TEXT.has(text.toLowerCase())) s.boolTexts += 1;
    else s.examples.notBoolean ??= value;
    if (csv && text.includes(';') && text.split(';').every((piece) => SPLIT_PIECE.test(piece.trim()))) s.splitTexts += 1;
  };
  for (const record of records) visit(record, '');
  return stats;
}

const show = (value: unknown) => (typeof value === 'string' ? JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value) : JSON.stringify(value));

interface Decision {
  conversion: Conversion;
  split?: string;
  how: string;
  reviews: string[];
}

/** A field's conversion from its values; null when it is not drafted (a list of objects). */
function decideField(s: PathStats, csv: boolean): Decision | { skip: string } {
  const reviews: string[] = [];
  const n = s.present;
  const off = (fits: number, what: string, example: unknown) => {
    if (n - fits > 0) reviews.push(`${n - fits} of ${n} values are not ${what}${example !== undefined ? ` (e.g. ${show(example)})` : ''}: each lands as a field problem (the column empty)`);
  };
  if (s.objectLists > 0) return { skip: `holds lists of objects (${s.objectLists} records): a table of their own, not a column; draft it by hand` };
  if (n === 0) {
    reviews.push('never holds a value in the export: drafted as text, not checked against data');
    return { conversion: 'text', how: 'text (no value seen)', reviews };
  }
  if (s.booleans > 0 && s.booleans >= n / 2) {
    off(s.booleans, 'true or false', s.strings ? s.examples.notBoolean : undefined);
    return { conversion: 'checkbox', how: 'true or false; false when absent (a field problem says when it was not a boolean)', reviews };
  }
  if (csv && s.boolTexts === n) return { conversion: 'checkbox', how: 'true/false or yes/no text in the CSV', reviews };
  if (s.stringLists > 0 && s.stringLists >= n / 2) {
    off(s.stringLists, 'lists of strings', undefined);
    return { conversion: 'multi_select', how: 'a list of strings', reviews };
  }
  if (s.otherLists > 0) reviews.push(`${s.otherLists} of ${n} values are lists of numbers or mixed values: drafted as text, they land as field problems`);
  const numbers = s.numbers + s.numericTexts;
  if (numbers > 0 && numbers >= 0.9 * n && s.isoDates === 0) {
    off(numbers, 'numbers', s.examples.notNumber);
    if (s.wholeSmall === numbers) return { conversion: 'integer', how: `a whole number${csv ? ' (CSV text)' : ''}; the merge takes -32,768 to 32,767`, reviews };
    if (s.manyDecimals === 0 && s.big === 0) return { conversion: 'money', how: `a number with at most two decimals${csv ? ' (CSV text)' : ''}, to the cent`, reviews };
    reviews.push(`${s.manyDecimals ? `${s.manyDecimals} values have more than two decimals (e.g. ${show(s.examples.manyDecimals)})` : 'values of 10^10 or more'}: money (to the cent) would change them, and whole numbers stop at 32,767, so they are kept as text`);
    return { conversion: 'text', how: 'a number, kept as its text', reviews };
  }
  if (s.strings > 0 && s.isoDates >= 0.9 * n) {
    off(s.calendarDates, 'valid ISO dates (YYYY-MM-DD)', s.examples.notDate);
    return { conversion: 'date', how: 'a date (ISO YYYY-MM-DD text in the export)', reviews };
  }
  if (s.strings > 0 && s.isoDatetimes >= 0.9 * n) {
    off(s.isoDatetimes, 'ISO date-times', s.examples.notDatetime);
    return { conversion: 'timestamp', how: 'a date-time (ISO 8601 text in the export)', reviews };
  }
  if (csv && s.splitTexts > 0 && s.splitTexts >= 0.3 * n) {
    reviews.push(`${s.splitTexts} of ${n} cells hold ";"-separated words: read as a list (split on ";"); map as text to keep the cell as written`);
    return { conversion: 'multi_select', split: ';', how: 'a list, written "a;b" in the CSV', reviews };
  }
  if (s.numbers > 0) reviews.push(`${s.numbers} of ${n} values are numbers among text: kept as their text`);
  if (s.booleans > 0) reviews.push(`${s.booleans} of ${n} values are booleans among text: kept as "true"/"false"`);
  return { conversion: 'text', how: 'text', reviews };
}

interface FileFacts {
  read: ReadFile;
  key: string;
  keys: string[];
  keyCase: 'lower' | 'as-is';
  stats: Map<string, PathStats>;
  reviews: string[];
}

const KEY_NAMES = ['id', 'key', 'uuid', '_id'];

function chooseKey(read: ReadFile, stats: Map<string, PathStats>): { key: string; keys: string[]; review?: string } | { refused: string } {
  if (read.propertyKeys) return { key: '$key', keys: read.propertyKeys };
  const unique = (p: string) => {
    const s = stats.get(p);
    if (!s || s.present !== read.records.length || s.strings + s.numbers !== s.present) return null;
    const keys = read.records.map((r) => String(p.split('.').reduce<unknown>((v, k) => (isObject(v) ? v[k] : undefined), r)));
    return new Set(keys).size === keys.length ? keys : null;
  };
  const candidates = [...KEY_NAMES, ...[...stats.keys()].filter((p) => !p.includes('.') && /(_id|Id|ID)$/.test(p))];
  for (const p of candidates) {
    const keys = stats.has(p) ? unique(p) : null;
    if (keys) return { key: p, keys, review: KEY_NAMES.includes(p) ? undefined : `keyed by ${p}, the first field named like a key whose values are present and unique; check that it identifies a record for good` };
  }
  return { refused: 'no key: neither an object keyed by id nor a field named id (or key, uuid, ..._id) present and unique in every record' };
}

export interface FilesScaffoldOptions {
  dir: string;
  schema: string;
  outDir: string;
}

export function scaffoldFiles(options: FilesScaffoldOptions): Draft {
  let names: string[];
  try {
    if (!statSync(options.dir).isDirectory()) throw new Error('not a directory');
    names = readdirSync(options.dir).filter((n) => statSync(path.join(options.dir, n)).isFile()).sort();
  } catch (error) {
    throw new ConfigurationError(`the files source ${options.dir} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const refused: Draft['refused'] = [];
  const facts: FileFacts[] = [];
  for (const name of names) {
    if (!EXTENSIONS[path.extname(name).toLowerCase()]) {
      refused.push({ sourceName: name, why: 'not an export the files source reads (.json, .jsonl, .ndjson, .csv, .tsv)' });
      continue;
    }
    const read = readExport(options.dir, name);
    if ('refused' in read) {
      refused.push({ sourceName: name, why: read.refused });
      continue;
    }
    if (read.records.length === 0) {
      refused.push({ sourceName: name, why: 'no records in it: nothing to infer fields from' });
      continue;
    }
    const stats = pathStats(read.records, read.format === 'csv');
    const chosen = chooseKey(read, stats);
    if ('refused' in chosen) {
      refused.push({ sourceName: name, why: chosen.refused });
      continue;
    }
    const reviews: string[] = [];
    if (chosen.review) reviews.push(chosen.review);
    if (read.broken > 0) reviews.push(`${read.broken} ${read.format === 'jsonl' ? `line${read.broken === 1 ? ' does' : 's do'} not parse as a JSON object` : `item${read.broken === 1 ? ' is' : 's are'} not an object`}${read.brokenExample ? ` (first: ${read.brokenExample})` : ''}: the pull quarantines them, naming file and line`);
    const hex = chosen.keys.length > 0 && chosen.keys.every((k) => HEX_KEY.test(k));
    if (hex) reviews.push(`keys are hex (${show(chosen.keys[0])}), whose case means nothing: lowercased (keyCase lower), and so are the keys of links to this table${chosen.keys.some((k) => k !== k.toLowerCase()) ? `; ${chosen.keys.filter((k) => k !== k.toLowerCase()).length} are written in upper case` : ''}`);
    const keyCase = hex ? 'lower' : 'as-is';
    facts.push({ read, key: chosen.key, keys: keyCase === 'lower' ? chosen.keys.map((k) => k.toLowerCase()) : chosen.keys, keyCase, stats, reviews });
  }

  const tableNames = new NameSet();
  const entities = new NameSet();
  const nameOf = new Map<FileFacts, string>();
  const entityOf = new Map<FileFacts, string>();
  for (const f of facts) {
    const base = path.basename(f.read.file).replace(/\.[^.]*$/, '');
    nameOf.set(f, tableNames.take(tableName(base)));
    entityOf.set(f, entities.take(entityNameFor(options.schema, nameOf.get(f)!)).replace(/[0-9]/g, 'x'));
  }
  const keySets = new Map(facts.map((f) => [f, new Set(f.keys)]));

  const tables: DraftTable[] = [];
  for (const f of facts) {
    const name = nameOf.get(f)!;
    const csv = f.read.format === 'csv';
    const columnNames = new NameSet(['id', 'source_id', 'open_problem_count', 'created_at', 'updated_at', 'deleted_at']);
    const columns: DraftColumn[] = [];
    const reviews = [...f.reviews];
    for (const [p, s] of f.stats) {
      if (p === f.key || p === '') continue;
      // a link: most of its distinct values are another export's keys
      let link: { facts: FileFacts; matched: number; distinct: number } | null = null;
      // numbers link only where the name says so (a quantity 1 to 500 would match keys 1 to N)
      const referenceName = /(_id|Id|ID)$/.test(p.split('.').at(-1)!);
      if (s.present > 0 && s.strings + s.numbers === s.present && (s.numbers === 0 || referenceName)) {
        for (const other of facts) {
          const keys = keySets.get(other)!;
          const distinct = [...s.values];
          const matched = distinct.filter((v) => keys.has(other.keyCase === 'lower' ? v.toLowerCase() : v)).length;
          if (matched > 0 && matched >= 0.5 * distinct.length && (!link || matched > link.matched)) link = { facts: other, matched, distinct: distinct.length };
        }
      }
      const sourceRef = `${f.read.file} ${p}`;
      const presence = s.present < f.read.records.length ? `; present in ${s.present} of ${f.read.records.length} records` : '';
      if (link) {
        const wanted = /(_id|Id)$/.test(p.split('.').at(-1)!) ? p : `${p}_id`;
        const { name: column, renamed } = targetColumnName(wanted, columnNames, 'source_id');
        const linkedTable = nameOf.get(link.facts)!;
        const dangling = link.distinct - link.matched;
        const field: Record<string, unknown> = { path: p, convert: 'link', linkedEntity: entityOf.get(link.facts)! };
        if (link.facts.keyCase === 'lower') field.keyCase = 'lower';
        columns.push({
          name: column, sourceName: p, conversion: 'link', link: { table: linkedTable, onDelete: 'set null', why: 'the exports say nothing of deletes: the link is emptied' },
          comment: `The ${linkedTable} record it names (${sourceRef}, a ${link.facts.keyCase === 'lower' ? 'key, lowercased' : 'key'})${presence}${renamed ? ` (${renamed})` : ''}.`,
          reviews: [
            `no foreign key in the exports: ${link.matched} of ${link.distinct} distinct values are keys of ${link.facts.read.file}, so a link to ${linkedTable} (on delete set null; cascade if the record belongs to it)${dangling > 0 ? `; ${dangling} name no record: each lands as a dangling link` : ''}`,
          ],
          field,
          plainField: { path: p, convert: 'text' },
        });
        continue;
      }
      const decision = decideField(s, csv);
      if ('skip' in decision) {
        reviews.push(`${p} ${decision.skip}`);
        continue;
      }
      const { name: column, renamed } = targetColumnName(p.replaceAll('.', '_'), columnNames, 'source_id');
      const field: Record<string, unknown> = { path: p, convert: decision.conversion };
      if (decision.split) field.split = decision.split;
      columns.push({
        name: column, sourceName: p, conversion: decision.conversion,
        comment: `From ${sourceRef}: ${decision.how}${presence}${renamed ? ` (${renamed})` : ''}.`, reviews: decision.reviews, field,
      });
    }
    if (columns.length === 0) {
      refused.push({ sourceName: f.read.file, why: 'no field besides its key: a mapping needs a field to merge' });
      continue;
    }
    const indexNames = new NameSet();
    const mappingTable: Record<string, unknown> = { entity: entityOf.get(f)!, file: f.read.file, key: f.key };
    if (f.keyCase === 'lower') mappingTable.keyCase = 'lower';
    if (f.read.recordsPath) mappingTable.recordsPath = f.read.recordsPath;
    mappingTable.target = `${options.schema}.${name}`;
    const where = f.read.propertyKeys ? 'an object keyed by id' : f.read.recordsPath ? `a JSON document, records under "${f.read.recordsPath}"` : { json: 'a JSON list', jsonl: 'JSON Lines', csv: 'CSV' }[f.read.format];
    tables.push({
      sourceName: f.read.file, name, entity: entityOf.get(f)!,
      comment: `Drafted from the export ${f.read.file} (${where}, ${f.read.records.length} records when scaffolded, keyed by ${f.key === '$key' ? 'the property name' : f.key}). Say what it holds.`,
      key: f.key,
      keyComment: `The record's key in ${f.read.file} (${f.key === '$key' ? 'its property name' : f.key}${f.keyCase === 'lower' ? ', lowercased' : ''})`,
      columns,
      indexes: columns.filter((c) => c.link).map((c) => ({ name: indexNames.take(`${name}_${c.name}`), columns: [c.name], comment: `Foreign key ${c.name}: the records linking to a ${c.link!.table} record.` })),
      reviews, rank: 1, mappingTable,
    });
  }
  // a table refused after links to it were drafted: those links become plain text
  for (const table of tables) {
    for (const column of table.columns) {
      if (column.link && !tables.some((t) => t.name === column.link!.table)) {
        column.reviews.push(`links to ${column.link.table}, which is not drafted: kept as the key's text`);
        column.link = undefined;
        column.conversion = 'text';
        column.field = column.plainField ?? column.field;
        table.indexes = table.indexes.filter((i) => i.columns[0] !== column.name);
      }
    }
  }
  rankTables(tables);
  const relative = path.relative(options.outDir, options.dir) || '.';
  return {
    schema: options.schema,
    sourceLabel: `the exports in ${options.dir}`,
    sourceKeyColumn: 'source_id',
    goneFrom: 'the exports',
    tables,
    refused,
    mappingHead: {
      version: 1,
      description: `DRAFT written by airlift scaffold from the exports in ${path.basename(options.dir)} to schema ${options.schema} (migration.sql next to it); review its REVIEW notes before use.`,
      source: { kind: 'files', path: relative.split(path.sep).join('/') },
    },
  };
}
