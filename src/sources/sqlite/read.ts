/**
 * Reading a SQLite database file in-process (better-sqlite3): opening it
 * read-only, what its schema holds (tables, columns, whether a column is a
 * key), and a table's rows in key order, a page at a time (keyset
 * pagination: `where key > ? order by key limit N`), so that no listing
 * holds more than a page whatever the table's size, and a listing resumes
 * after the last key it staged.
 *
 * Values are read with safe integers and as arrays (raw): the JavaScript
 * type of a value is its SQLite storage class (casts.ts), and an INTEGER
 * beyond 2^53 is never rounded.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { ConfigurationError } from '../../config.ts';
import type { SqliteValue } from './casts.ts';

export type SqliteDatabase = Database.Database;

/** Opens a database file read-only; a wrong path or a file that is not SQLite is a ConfigurationError naming the file. */
export function openSqliteFile(file: string): SqliteDatabase {
  let db: SqliteDatabase;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true, timeout: 5_000 });
  } catch (error) {
    throw new ConfigurationError(`the SQLite source ${file} cannot be opened: ${(error as Error).message}`);
  }
  try {
    // opening reads nothing: the first read finds out whether the file is SQLite at all
    db.prepare('select count(*) from sqlite_schema').pluck().get();
  } catch (error) {
    db.close();
    throw new ConfigurationError(`the SQLite source ${file} cannot be read: ${(error as Error).message}`);
  }
  return db;
}

/** A SQLite identifier, quoted. */
export function quoteName(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export interface SqliteTableShape {
  /** Columns in table order (hidden columns left out, as select * does). */
  columns: string[];
  /** Whether each column is the table's whole primary key or has a unique index on it alone. */
  uniqueColumns: Set<string>;
  /** The table has a rowid (it is not WITHOUT ROWID). */
  hasRowid: boolean;
}

/** The table's columns and single-column keys, or null when the file has no such table. */
export function tableShape(db: SqliteDatabase, table: string): SqliteTableShape | null {
  const exists = db.prepare(`select 1 from sqlite_schema where type in ('table', 'view') and name = ?`).pluck().get(table);
  if (!exists) return null;
  const columns = db.prepare('select name, pk, hidden from pragma_table_xinfo(?) order by cid').all(table) as Array<{ name: string; pk: number; hidden: number }>;
  const uniqueColumns = new Set<string>();
  const pk = columns.filter((c) => c.pk > 0);
  if (pk.length === 1) uniqueColumns.add(pk[0]!.name);
  const indexes = db.prepare(`select name from pragma_index_list(?) where "unique" = 1 and partial = 0`).pluck().all(table) as string[];
  for (const index of indexes) {
    const indexed = db.prepare('select name from pragma_index_info(?)').pluck().all(index) as Array<string | null>;
    if (indexed.length === 1 && indexed[0]) uniqueColumns.add(indexed[0]);
  }
  let hasRowid = true;
  try {
    db.prepare(`select rowid from ${quoteName(table)} limit 0`);
  } catch {
    hasRowid = false;
  }
  return { columns: columns.filter((c) => c.hidden === 0).map((c) => c.name), uniqueColumns, hasRowid };
}

/** The tables of the file, for messages. */
export function tableNames(db: SqliteDatabase): string[] {
  return db.prepare(`select name from sqlite_schema where type = 'table' and name not like 'sqlite\\_%' escape '\\' order by name`).pluck().all() as string[];
}

/**
 * Where a keyset listing goes on: the last key read, with its storage
 * class, so that the next page binds it as SQLite compared it (an INTEGER
 * 10 and a TEXT "10" are different keys, and every INTEGER sorts before
 * every TEXT).
 */
export type KeyCursor = { integer: string } | { real: number } | { text: string } | { blob: string };

export function encodeCursor(key: SqliteValue): string {
  if (typeof key === 'bigint') return JSON.stringify({ integer: key.toString() });
  if (typeof key === 'number') return JSON.stringify({ real: key });
  if (typeof key === 'string') return JSON.stringify({ text: key });
  if (key === null) throw new Error('a NULL key is not a cursor');
  return JSON.stringify({ blob: Buffer.from(key).toString('hex') });
}

export function decodeCursor(cursor: string): SqliteValue {
  const parsed = JSON.parse(cursor) as KeyCursor;
  if ('integer' in parsed) return BigInt(parsed.integer);
  if ('real' in parsed) return parsed.real;
  if ('text' in parsed) return parsed.text;
  if ('blob' in parsed) return Buffer.from(parsed.blob, 'hex');
  throw new Error(`not a SQLite listing cursor: ${cursor}`);
}

export interface RowPage {
  /** The column names of `rows`' values after the key. */
  columns: string[];
  /** Each row: its key, then every column's value. */
  rows: Array<{ key: SqliteValue; values: SqliteValue[] }>;
}

/** A table's rows in key order, page by page, from after a key. */
export class KeysetReader {
  private readonly first: Database.Statement;
  private readonly next: Database.Statement;
  private readonly nullKeys: Database.Statement;
  readonly columns: string[];

  constructor(db: SqliteDatabase, readonly table: string, readonly key: string, shape: SqliteTableShape) {
    const t = quoteName(table);
    const k = quoteName(key);
    this.columns = shape.columns;
    const list = shape.columns.map(quoteName).join(', ');
    this.first = db.prepare(`select ${k}, ${list} from ${t} where ${k} is not null order by ${k} limit ?`).raw(true).safeIntegers(true);
    this.next = db.prepare(`select ${k}, ${list} from ${t} where ${k} > ? order by ${k} limit ?`).raw(true).safeIntegers(true);
    this.nullKeys = db
      .prepare(`select ${shape.hasRowid ? 'rowid' : 'null'}, ${list} from ${t} where ${k} is null${shape.hasRowid ? ' order by rowid' : ''}`)
      .raw(true)
      .safeIntegers(true);
  }

  /** Up to `limit` rows after `after` (from the first key when null). */
  page(after: SqliteValue | undefined, limit: number): RowPage {
    const raw = (after === undefined ? this.first.all(limit) : this.next.all(after, limit)) as SqliteValue[][];
    return { columns: this.columns, rows: raw.map((row) => ({ key: row[0]!, values: row.slice(1) })) };
  }

  /** Rows whose key is NULL (a key column that is not the rowid may hold NULL): they cannot be listed by key, and are reported. */
  rowsWithoutKey(): Array<{ rowid: SqliteValue; values: SqliteValue[] }> {
    return (this.nullKeys.all() as SqliteValue[][]).map((row) => ({ rowid: row[0]!, values: row.slice(1) }));
  }
}

/** One value's text for the table checksum, tagged with its storage class so that 1 and "1" differ. */
function checksumText(value: SqliteValue): string {
  if (value === null) return 'n';
  if (typeof value === 'bigint') return `i${value}`;
  if (typeof value === 'number') return `r${value}`;
  if (typeof value === 'string') return `t${value.length}:${value}`;
  return `b${Buffer.from(value).toString('base64')}`;
}

/** SHA-256 of a table's rows in key order (every column, its storage class included), read a page at a time; with the number of rows read. */
export function tableSha256(reader: KeysetReader, pageRows = 10_000): { sha256: string; rows: number } {
  const hash = createHash('sha256');
  hash.update(`${reader.columns.map((c) => `${c.length}:${c}`).join(',')}\n`);
  let rows = 0;
  let after: SqliteValue | undefined;
  for (;;) {
    const page = reader.page(after, pageRows);
    let text = '';
    for (const row of page.rows) text += `${checksumText(row.key)}\u001f${row.values.map(checksumText).join('\u001f')}\u001e`;
    hash.update(text);
    rows += page.rows.length;
    if (page.rows.length < pageRows) break;
    after = page.rows[page.rows.length - 1]!.key;
  }
  for (const row of reader.rowsWithoutKey()) hash.update(`n\u001f${row.values.map(checksumText).join('\u001f')}\u001e`);
  return { sha256: hash.digest('hex'), rows };
}

/**
 * What identifies the file's current content cheaply: the inode, size and
 * modification time of the database file and of its write-ahead log (a
 * database in WAL mode holds recent commits in FILE-wal, not in FILE). The
 * same fingerprint as at the last completed listing means no table
 * changed, without reading any.
 */
export function fileFingerprint(file: string): string {
  const main = statSync(file, { bigint: true });
  let wal = 'no-wal';
  try {
    const w = statSync(`${file}-wal`, { bigint: true });
    wal = `${w.ino}:${w.size}:${w.mtimeNs}`;
  } catch {
    // no write-ahead log: a database in rollback-journal mode, or WAL checkpointed and removed
  }
  return `${main.dev}:${main.ino}:${main.size}:${main.mtimeNs}|${wal}`;
}
