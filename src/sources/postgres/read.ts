/**
 * Reading a legacy PostgreSQL database (postgres.js): connecting from the
 * environment variable the mapping names, what the catalog says of a table
 * (columns and their types, whether the key column is unique), the SQL that
 * renders a row as the record staged (each mapped column as the merge's
 * conversion reads it), and the checksum pass: every row's hash summed per
 * range of keys, in one query on the source side.
 *
 * Sessions are read-only (default_transaction_read_only), in UTC with ISO
 * dates, so that a row's text (what is hashed) and its rendered timestamps
 * do not depend on the server's or the role's settings.
 */
import postgres from 'postgres';
import { ConfigurationError } from '../../config.ts';
import { describeUrl } from '../../db/database.ts';
import type { Conversion } from '../mapping-parts.ts';

export type SourceSql = postgres.Sql;

/** Opens the connection named by the mapping; a missing or malformed variable, or a server that does not answer, is a ConfigurationError naming it (exit 2). */
export async function connectSource(urlEnv: string, env: NodeJS.ProcessEnv = process.env): Promise<{ sql: SourceSql; url: URL; serverVersion: number }> {
  const raw = env[urlEnv];
  if (raw === undefined || raw === '') {
    throw new ConfigurationError(`the PostgreSQL source's connection string is read from ${urlEnv} (the mapping's source.urlEnv), which is not set`);
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // the value is never printed: it may hold a password
    throw new ConfigurationError(`${urlEnv} is not a URL: expected postgres://user:password@host:port/database`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigurationError(`${urlEnv} is not a PostgreSQL URL (${url.protocol.replace(/:$/, '')}://...): expected postgres://user:password@host:port/database`);
  }
  const sql = postgres(raw, {
    max: 2,
    connect_timeout: 10,
    idle_timeout: 60,
    onnotice: () => undefined,
    connection: {
      application_name: 'airlift source',
      TimeZone: 'UTC',
      DateStyle: 'ISO, YMD',
      IntervalStyle: 'iso_8601',
      extra_float_digits: '3',
      default_transaction_read_only: true,
    },
  });
  try {
    const [{ version }] = await sql<{ version: number }[]>`select current_setting('server_version_num')::int as version`;
    return { sql, url, serverVersion: version };
  } catch (error) {
    await sql.end({ timeout: 1 }).catch(() => undefined);
    throw new ConfigurationError(`the PostgreSQL source in ${urlEnv} (${describeUrl(raw)}) cannot be reached: ${(error as Error).message}`);
  }
}

/** A PostgreSQL identifier, quoted. */
export function quoteName(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export interface PgColumn {
  name: string;
  /** format_type: "integer", "timestamp without time zone", "character varying(20)". */
  type: string;
  /** pg_type.typcategory: N numeric, S string, D date/time, B boolean, A array, ... */
  category: string;
  notNull: boolean;
  /** The type (or a domain's base type) has a default hash operator class: a row of such columns is hashed by value (hash_record_extended). */
  hashable: boolean;
}

export interface PgTableShape {
  schema: string;
  name: string;
  columns: PgColumn[];
  /** Columns that are the primary key alone or have a unique, non-partial index of their own. */
  uniqueColumns: Set<string>;
}

/** The table's columns and single-column keys, or null when there is no such table (or view). */
export async function tableShape(sql: SourceSql, schema: string, name: string): Promise<PgTableShape | null> {
  const [relation] = await sql<{ oid: number }[]>`
    select c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${schema} and c.relname = ${name} and c.relkind in ('r', 'p', 'v', 'm', 'f')`;
  if (!relation) return null;
  const columns = await sql<PgColumn[]>`
    select a.attname as name, format_type(a.atttypid, a.atttypmod) as type, t.typcategory as category, a.attnotnull as "notNull",
           exists (select from pg_opclass o join pg_am m on m.oid = o.opcmethod
                   where m.amname = 'hash' and o.opcdefault and o.opcintype = coalesce(nullif(t.typbasetype, 0), t.oid)) as hashable
    from pg_attribute a join pg_type t on t.oid = a.atttypid
    where a.attrelid = ${relation.oid} and a.attnum > 0 and not a.attisdropped order by a.attnum`;
  const unique = await sql<{ name: string }[]>`
    select a.attname as name from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
    where i.indrelid = ${relation.oid} and i.indisunique and i.indnatts = 1 and i.indpred is null and i.indexprs is null`;
  return { schema, name, columns: [...columns], uniqueColumns: new Set(unique.map((u) => u.name)) };
}

/** The tables of a schema, for messages. */
export async function tableNames(sql: SourceSql, schema: string): Promise<string[]> {
  const rows = await sql<{ name: string }[]>`
    select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${schema} and c.relkind in ('r', 'p', 'v', 'm', 'f') order by 1`;
  return rows.map((r) => r.name);
}

/** Whether a key column is an integer (smallint, integer, bigint): its keys are read and checksummed in ranges. */
export function isIntegerType(type: string): boolean {
  return type === 'smallint' || type === 'integer' || type === 'bigint';
}

/** Key types a listing can order and resume by. */
export function isKeyType(column: PgColumn): boolean {
  return isIntegerType(column.type) || column.category === 'S' || column.type === 'uuid';
}

const ISO_TIMESTAMP = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;

/**
 * The SQL that renders a column's value as the merge's conversion reads
 * it, as jsonb: a link as a list of the linked row's key text; a date and
 * a timestamp as ISO text (a timestamp without time zone taken as UTC); a
 * number as a number; a boolean as a boolean; anything else as its text.
 * A value stored in a type that does not fit (a date kept in a text column)
 * is staged as its text, and what the merge cannot read lands as a field
 * problem naming the value.
 */
export function cellSql(column: PgColumn, convert: Conversion): string {
  const q = quoteName(column.name);
  switch (convert) {
    case 'link':
      return `case when ${q} is null then null else jsonb_build_array(${q}::text) end`;
    case 'timestamp':
      if (column.type === 'timestamp with time zone') return `to_jsonb(to_char(${q} at time zone 'UTC', ${ISO_TIMESTAMP}))`;
      if (column.type === 'timestamp without time zone') return `to_jsonb(to_char(${q}, ${ISO_TIMESTAMP}))`;
      return `to_jsonb(${q}::text)`;
    case 'date':
      if (column.type === 'date') return `to_jsonb(to_char(${q}, 'YYYY-MM-DD'))`;
      return `to_jsonb(${q}::text)`;
    case 'money':
    case 'integer':
      return column.category === 'N' && column.type !== 'money' ? `to_jsonb(${q})` : `to_jsonb(${q}::text)`;
    case 'checkbox':
      return column.category === 'B' ? `to_jsonb(${q})` : `to_jsonb(${q}::text)`;
    case 'multi_select':
      return column.category === 'A' ? `to_jsonb(${q}::text[])` : `to_jsonb(${q}::text)`;
    default:
      return `to_jsonb(${q}::text)`;
  }
}

/** jsonb_build_object of (name, expression) pairs, in chunks (a function takes at most 100 arguments). */
export function jsonObjectSql(pairs: Array<[string, string]>): string {
  const chunks: string[] = [];
  for (let i = 0; i < pairs.length; i += 40) {
    const args = pairs.slice(i, i + 40).map(([name, expression]) => `'${name.replaceAll("'", "''")}', ${expression}`);
    chunks.push(`jsonb_build_object(${args.join(', ')})`);
  }
  return chunks.length ? chunks.join(' || ') : `'{}'::jsonb`;
}

/** The range a key falls in (floor of key / width, also for negative keys), as SQL over a quoted integer column. */
export function rangeSql(key: string, width: number): string {
  return `case when ${key} >= 0 then ${key}::int8 / ${width} else (${key}::int8 + 1) / ${width} - 1 end`;
}

/**
 * A row's 64-bit hash, as SQL, over the key and the mapped columns. On
 * PostgreSQL 14 and later, hash_record_extended hashes the row by value,
 * each column with its type's hash function (text compared byte by byte,
 * collate "C"; a column whose type has no hash function, such as json, as
 * its text): about twice as fast as hashing the row's text. Older servers
 * hash the row's text (hashtextextended from 11, md5 before). A value
 * rewritten to an equal one (numeric 1.5 as 1.50) may keep its hash; what
 * the merge reads of it is the same.
 */
export function rowHashSql(columns: PgColumn[], serverVersion: number): { sql: string; name: string } {
  if (serverVersion >= 140000) {
    const parts = columns.map((c) => {
      const q = quoteName(c.name);
      if (!c.hashable) return `${q}::text collate "C"`;
      return c.category === 'S' ? `${q}::text collate "C"` : q;
    });
    return { sql: `hash_record_extended(row(${parts.join(', ')}), 0)`, name: 'hash_record_extended' };
  }
  const row = `row(${columns.map((c) => quoteName(c.name)).join(', ')})::text`;
  if (serverVersion >= 110000) return { sql: `hashtextextended(${row}, 0)`, name: 'hashtextextended' };
  return { sql: `('x' || substr(md5(${row}), 1, 16))::bit(64)::int8`, name: 'md5' };
}
