/**
 * What a database holds, for `airlift start`: server version, migrations
 * applied, and the rows of every airlift table (live and soft-deleted).
 */
import type { Sql } from 'postgres';

export interface TableCount {
  table: string;
  rows: number;
  deleted: number | null;
}

export interface DatabaseDescription {
  serverVersion: string;
  migrations: { count: number; latest: string | null };
  tables: TableCount[];
}

export async function describeDatabase(sql: Sql): Promise<DatabaseDescription> {
  const [{ server_version }] = await sql<{ server_version: string }[]>`select current_setting('server_version') as server_version`;
  const [migrations] = await sql<{ count: number; latest: string | null }[]>`
    select count(*)::int as count, max(filename) as latest from graphile_migrate.migrations`;
  // One statement: the tables of airlift's schemas and, through
  // query_to_xml, an exact count of each (deleted rows where the table
  // has deleted_at).
  const tables = await sql<TableCount[]>`
    select format('%I.%I', n.nspname, c.relname) as table,
           (xpath('/table/row/rows/text()', counts))[1]::text::bigint::float8 as rows,
           (xpath('/table/row/deleted/text()', counts))[1]::text::bigint::float8 as deleted
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    cross join lateral query_to_xml(format(
      'select count(*) as rows, %s as deleted from %I.%I',
      case when exists (select from pg_attribute a where a.attrelid = c.oid and a.attname = 'deleted_at' and not a.attisdropped)
           then 'count(*) filter (where deleted_at is not null)' else 'null::bigint' end,
      n.nspname, c.relname), true, false, '') as counts
    where c.relkind in ('r', 'm', 'p')
      and n.nspname in ('app', 'staging', 'sync', 'audit', 'report')
    order by array_position(array['app', 'staging', 'sync', 'report', 'audit'], n.nspname::text), c.relname`;
  return { serverVersion: server_version, migrations, tables };
}

export function formatDescription(url: string, d: DatabaseDescription): string {
  const width = Math.max(...d.tables.map((t) => t.table.length));
  const lines = [
    `airlift database ${url}`,
    `PostgreSQL ${d.serverVersion}; ${d.migrations.count} migration(s) applied, latest ${d.migrations.latest ?? 'none'}`,
    '',
    ...d.tables.map(
      (t) =>
        `  ${t.table.padEnd(width)}  ${String(t.rows).padStart(9)} rows` +
        (t.deleted === null ? '' : `  (${t.deleted} soft-deleted)`),
    ),
  ];
  return `${lines.join('\n')}\n`;
}
