/**
 * A SQLite database file behind the source seam, read in-process with
 * better-sqlite3, read-only. Each mapped table is listed in key order, a
 * page at a time (keyset pagination on its key column, which must be the
 * primary key or have a unique index of its own), so a listing never holds
 * more than a page and a killed one resumes after the last key staged. A
 * listing is the whole table, so it is complete (rows gone from the table
 * are swept).
 *
 * Unchanged tables are not read again by an incremental run. The file's
 * fingerprint (inode, size and modification time of the file and of its
 * write-ahead log) the same as at the table's last completed listing: no
 * table changed, nothing is read. Otherwise the table's SHA-256 (every row
 * in key order, each value with its storage class) is compared with the
 * one that listing recorded, so a write to one table lists that table
 * only. (PRAGMA data_version cannot tell: it only sees other connections'
 * commits while one connection stays open, not across processes.)
 *
 * What is staged for a row: every column, mapped ones as their cast rule
 * reads them (casts.ts; a value a cast refuses staged so that the merge
 * flags it on its field), the others as SQLite holds them (an INTEGER
 * beyond 2^53 as its digits, a BLOB as {"blob_base64": ...}). The key lands
 * as text: an INTEGER key as its decimal digits.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import type { FieldMapping, Mapping, TableMapping } from '../../mapping.ts';
import type { ListedPage, ListingPlan, ListingRequest, Source, SourceCheck, SourceRecord } from '../source.ts';
import { rawJson, stagedCell, storageClass, type CastRule, type SqliteValue } from './casts.ts';
import {
  decodeCursor, encodeCursor, fileFingerprint, KeysetReader, openSqliteFile, tableNames, tableSha256, tableShape,
  type SqliteDatabase, type SqliteTableShape,
} from './read.ts';

/** Rows per staged page: as the files source's pages. */
const PAGE_ROWS = 2_000;

/** Tables of at least this many rows are staged in bulk, with COPY (ListingPlan.bulk). */
export const BULK_MIN_ROWS = 50_000;

export interface SqliteSourceOptions {
  /** Tables of at least this many rows are staged with COPY (default BULK_MIN_ROWS; 0 always, Infinity never). */
  bulkMinRows?: number;
}

/** What a SQLite listing keeps with the table's completed listing (ListingPlan.state), given back as `previous`. */
interface SqlitePlanState {
  file_fingerprint?: string;
  table_sha256?: string;
  rows?: number;
}

/** A key as the text it lands as, or why the row has no usable key. */
function keyText(key: SqliteValue): { key: string } | { why: string } {
  if (typeof key === 'bigint') return { key: key.toString() };
  if (typeof key === 'string') return key.trim() === '' ? { why: `the key is blank text (${JSON.stringify(key)})` } : { key };
  return { why: `the key is ${storageClass(key)}, not an INTEGER or TEXT` };
}

/** A key as SQLite would write it, for messages: a BLOB as x'0102'. */
function keyLabel(key: SqliteValue): string {
  if (key === null) return 'NULL';
  if (typeof key === 'object') return `x'${Buffer.from(key).toString('hex')}'`;
  return String(key);
}

/** A row as an object of every column as SQLite holds it (JSON-able). */
function rawRow(columns: string[], values: SqliteValue[]): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  columns.forEach((column, i) => (row[column] = rawJson(values[i]!)));
  return row;
}

/** One-way: no writer, so the push refuses it and the worker schedules only its pulls. */
export class SqliteSource implements Source {
  readonly kind = 'sqlite';
  readonly label = 'the SQLite source';
  readonly id: string;
  readonly recordKeyPattern = null;
  /**
   * Keys are unique in the table (check() demands a primary key or a unique
   * index), but an untyped key column may hold INTEGER 1 and TEXT "1", one
   * key as text: the pipeline keeps the first and quarantines the other.
   */
  readonly uniqueKeys = false;

  readonly file: string;
  private db: SqliteDatabase;
  /** The file the connection reads (device and inode): a file replaced since (a new copy renamed over it) is opened again. */
  private opened: string;
  private readonly bulkMinRows: number;
  private readonly shapes = new Map<string, SqliteTableShape | null>();

  /** Opens the file read-only: a wrong path or a file that is not SQLite throws a ConfigurationError naming it (exit 2). */
  constructor(file: string, options: SqliteSourceOptions = {}) {
    this.file = path.resolve(file);
    this.id = `sqlite:${this.file}`;
    this.db = openSqliteFile(this.file);
    this.opened = this.identity();
    this.bulkMinRows = options.bulkMinRows ?? BULK_MIN_ROWS;
  }

  private identity(): string {
    const info = statSync(this.file, { bigint: true });
    return `${info.dev}:${info.ino}`;
  }

  /** A long-lived source (the worker's) reads the file now at the path, not one replaced since it was opened. */
  private reopenIfReplaced(): void {
    let now: string;
    try {
      now = this.identity();
    } catch {
      return; // gone: the open connection reads what it held, and the check names what is missing
    }
    if (now === this.opened) return;
    const db = openSqliteFile(this.file);
    this.db.close();
    this.db = db;
    this.opened = now;
    this.shapes.clear();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** The table's shape as the file holds it now (read once per check). */
  private shape(table: string): SqliteTableShape | null {
    if (!this.shapes.has(table)) this.shapes.set(table, tableShape(this.db, table));
    return this.shapes.get(table)!;
  }

  private sqliteTable(table: TableMapping): { table: string; key: string } {
    if (!table.sqlite) throw new Error(`table ${table.entity} has no SQLite table in the mapping`);
    return table.sqlite;
  }

  private reader(table: TableMapping): KeysetReader {
    const { table: name, key } = this.sqliteTable(table);
    const shape = this.shape(name);
    if (!shape) throw new Error(`the SQLite database ${this.file} has no table ${JSON.stringify(name)} (table ${table.entity})`);
    return new KeysetReader(this.db, name, key, shape);
  }

  async check(mapping: Mapping): Promise<SourceCheck> {
    this.reopenIfReplaced();
    this.shapes.clear();
    const errors: string[] = [];
    for (const table of mapping.tables) {
      const { table: name, key } = this.sqliteTable(table);
      const shape = this.shape(name);
      if (!shape) {
        errors.push(`the SQLite database ${this.file} has no table ${JSON.stringify(name)} (table ${table.entity}; it has ${tableNames(this.db).join(', ') || 'no tables'})`);
        continue;
      }
      const has = new Set(shape.columns);
      const columns = `it has ${shape.columns.join(', ')}`;
      if (!has.has(key)) errors.push(`table ${JSON.stringify(name)} (table ${table.entity}) has no key column ${JSON.stringify(key)} (${columns})`);
      else if (!shape.uniqueColumns.has(key)) {
        errors.push(`the key column ${JSON.stringify(key)} of table ${JSON.stringify(name)} (table ${table.entity}) is neither its primary key nor unique by an index of its own: a key must name one row`);
      }
      for (const field of table.fields) {
        if (!has.has(field.fieldId)) errors.push(`table ${JSON.stringify(name)} (table ${table.entity}) has no column ${JSON.stringify(field.fieldId)}, mapped to ${field.column} (${columns})`);
      }
    }
    return { errors, warnings: [], currentNames: new Map() };
  }

  async plan(request: ListingRequest): Promise<ListingPlan> {
    const previous = (request.previous ?? {}) as SqlitePlanState;
    const fingerprint = fileFingerprint(this.file);
    if (request.mode === 'incremental' && previous.file_fingerprint === fingerprint && previous.table_sha256) {
      return { unchanged: true, complete: true, expected: previous.rows ?? null, state: { ...previous } as Record<string, unknown> };
    }
    const { sha256, rows } = tableSha256(this.reader(request.table));
    const state: SqlitePlanState = { file_fingerprint: fingerprint, table_sha256: sha256, rows };
    const unchanged = request.mode === 'incremental' && previous.table_sha256 === sha256;
    return { unchanged, complete: true, expected: rows, state: state as Record<string, unknown>, bulk: rows >= this.bulkMinRows };
  }

  /**
   * Lists the table in key order, PAGE_ROWS rows a page. The cursor is the
   * last key read (with its storage class); a resumed listing goes on
   * after it, whatever changed before it meanwhile (the next run takes
   * that in). Rows whose key is NULL or neither INTEGER nor TEXT are
   * quarantined naming the table and row, never skipped silently.
   */
  async *listTable(request: ListingRequest): AsyncGenerator<ListedPage> {
    const { table } = request;
    const { table: name, key: keyColumn } = this.sqliteTable(table);
    const reader = this.reader(table);
    const rules = new Map<string, CastRule>(
      table.fields.map((field: FieldMapping) => [field.fieldId, { cast: field.cast!, convert: field.convert, encoding: field.blobEncoding }]),
    );
    const columnRules = reader.columns.map((column) => rules.get(column));
    const mayRepeat = request.resume.attempt > 1;
    let after: SqliteValue | undefined = request.resume.cursor ? decodeCursor(request.resume.cursor) : undefined;

    let invalid: ListedPage['invalid'] = [];
    if (after === undefined) {
      invalid = reader.rowsWithoutKey().map(({ rowid, values }) => ({
        id: `(${name} rowid ${rowid ?? '?'})`,
        item: rawRow(reader.columns, values),
        reason: `${name}${rowid === null ? '' : ` rowid ${rowid}`}: the key column ${keyColumn} is NULL`,
      }));
    }
    for (;;) {
      request.signal?.throwIfAborted();
      const page = reader.page(after, PAGE_ROWS);
      const records: SourceRecord[] = [];
      for (const row of page.rows) {
        const keyed = keyText(row.key);
        const fields: Record<string, unknown> = {};
        reader.columns.forEach((column, i) => {
          const rule = columnRules[i];
          fields[column] = rule ? stagedCell(row.values[i]!, rule) : rawJson(row.values[i]!);
        });
        if ('why' in keyed) {
          invalid.push({ id: `(${name} key ${keyLabel(row.key)})`, item: fields, reason: `${name}: ${keyed.why}` });
          continue;
        }
        records.push({ id: keyed.key, createdTime: null, fields, position: `${name} key ${keyed.key} (${storageClass(row.key)})` });
      }
      const last = page.rows.length < PAGE_ROWS;
      if (!last) after = page.rows[page.rows.length - 1]!.key;
      yield { records, invalid, cursor: last ? null : encodeCursor(after!), highWaterMark: null, state: {}, mayRepeat };
      invalid = [];
      if (last) return;
    }
  }
}
