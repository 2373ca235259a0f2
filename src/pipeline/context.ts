/**
 * Everything a sync command or task needs, opened once: configuration,
 * mapping, the database (migrated at start-up), a pool acting as
 * airlift_sync with the actor set for the audit trail, and the mapping's
 * source (an Airtable base's client, a directory of exports, a SQLite file,
 * a legacy PostgreSQL).
 */
import { AirtableClient } from '../sources/airtable/client.ts';
import { AirtableSource } from '../sources/airtable/source.ts';
import type { Source } from '../sources/source.ts';
import { loadMapping, DEFAULT_MAPPING_FILE, type Mapping } from '../mapping.ts';
import { loadEnvironment, requireAirtable, type Environment } from '../config.ts';
import { FilesSource } from '../sources/files/source.ts';
import { SqliteSource } from '../sources/sqlite/source.ts';
import { PostgresSource } from '../sources/postgres/source.ts';
import { connect, prepareDatabase, resolveDatabase, type DatabaseTarget } from '../db/database.ts';
import type { Logger } from '../log.ts';
import type { Sql } from 'postgres';
import { openFileStore } from '../files/open.ts';
import type { FileStore } from '../files/store.ts';

export interface SyncContext {
  env: Environment;
  target: DatabaseTarget;
  /** Pool acting as airlift_sync; every change it makes is audited with the actor. */
  sql: Sql;
  mapping: Mapping;
  /** The mapping's source behind the seam (src/sources/): what pulls list, and what pushes write to when it has a writer (two-way). */
  source: Source;
  /** Where attachment files are kept (src/files/), null when AIRLIFT_FILES_STORE=off. */
  files: FileStore | null;
  actor: string;
  log: Logger;
  close(): Promise<void>;
}

/** A connection URL whose sessions act as `role` with the given settings (libpq `options`). */
export function urlWithSession(url: string, role: string, settings: Record<string, string> = {}): string {
  const parsed = new URL(url);
  const clean = (value: string) => value.replace(/[^A-Za-z0-9_.:@/-]/g, '_');
  const options = [parsed.searchParams.get('options'), `-c role=${role}`, ...Object.entries(settings).map(([k, v]) => `-c ${k}=${clean(v)}`)];
  parsed.searchParams.set('options', options.filter(Boolean).join(' '));
  return parsed.toString();
}

export async function openSyncContext(options: { actor: string; log: Logger; env?: Environment; poolSize?: number }): Promise<SyncContext> {
  const env = options.env ?? loadEnvironment();
  const mapping = await loadMapping(env.AIRLIFT_MAPPING ?? DEFAULT_MAPPING_FILE);
  // Airtable settings are needed (and checked) only when the mapping's source is a base
  const airtable = mapping.source.kind === 'airtable' ? requireAirtable(env) : undefined;
  // a SQLite file is opened before the database is: a wrong path or a file
  // that is not SQLite stops here (ConfigurationError, exit 2), naming it
  // and so is a legacy PostgreSQL: its variable unset or malformed, or its
  // server unreachable, stops here (exit 2) naming the variable
  const opened: Source | undefined =
    mapping.source.kind === 'sqlite'
      ? new SqliteSource(mapping.source.path)
      : mapping.source.kind === 'postgres'
        ? await PostgresSource.open(mapping.source.urlEnv)
        : undefined;
  let target: DatabaseTarget;
  try {
    target = await resolveDatabase(env, (line) => options.log.debug({ component: 'postgres' }, line));
  } catch (error) {
    await opened?.close?.();
    throw error;
  }
  try {
    await prepareDatabase(target);
  } catch (error) {
    await opened?.close?.();
    await target.server?.stop();
    throw error;
  }
  const sql = connect(urlWithSession(target.databaseUrl, 'airlift_sync', { 'airlift.actor': options.actor }), {
    max: options.poolSize ?? 4,
    connection: { application_name: `airlift ${options.actor}` },
  });
  const client = airtable
    ? new AirtableClient({
        ...airtable,
        onEvent: (event) =>
          options.log.warn({ baseId: airtable.baseId, ...event }, event.kind === 'rate_limited' ? 'rate limited: waiting out the penalty' : 'retrying'),
      })
    : undefined;
  const source: Source = client ? new AirtableSource(client) : (opened ?? new FilesSource((mapping.source as { path: string }).path));
  let files: FileStore | null;
  try {
    // a store that cannot be opened (a bucket not reachable) stops here, naming it
    files = await openFileStore(env);
  } catch (error) {
    await source.close?.();
    await sql.end({ timeout: 5 });
    await target.server?.stop();
    throw error;
  }
  return {
    env,
    target,
    sql,
    mapping,
    source,
    files,
    actor: options.actor,
    log: options.log,
    close: async () => {
      files?.close?.();
      await source.close?.();
      await sql.end({ timeout: 5 });
      await target.server?.stop();
    },
  };
}
