/**
 * `airlift scaffold`: reads a source's own schema and writes a draft target
 * migration and a matching mapping into a directory, for a DBA to review
 * and commit with graphile-migrate. It writes files; it never applies
 * anything and needs no database.
 *
 * Sources, as `--source KIND:WHERE`:
 *   sqlite:FILE   a SQLite database file (src/scaffold/sqlite.ts)
 *   files:DIR     a directory of JSON, JSON Lines and CSV exports (src/scaffold/files.ts)
 *   postgres:ENV  a PostgreSQL database whose URL is in the environment variable ENV (src/scaffold/postgres.ts)
 *   airtable:BASE an Airtable base's tables and fields, from its Metadata API (src/scaffold/airtable.ts);
 *                 the token and endpoint from AIRTABLE_TOKEN and AIRTABLE_ENDPOINT_URL as for a pull
 *
 * Errors a user can fix (an unknown kind, a source that cannot be read, an
 * output directory that cannot be written, a bad schema name, files that
 * would be overwritten) are ConfigurationErrors naming what was wrong:
 * exit code 2.
 */
import { constants } from 'node:fs';
import { access, mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigurationError } from '../config.ts';
import { allReviews, renderMapping, renderMigration, snakeName, type Draft } from './draft.ts';
import { scaffoldAirtable } from './airtable.ts';
import { scaffoldFiles } from './files.ts';
import { scaffoldPostgres } from './postgres.ts';
import { scaffoldSqlite } from './sqlite.ts';

export const SCAFFOLD_KINDS = ['sqlite', 'files', 'postgres', 'airtable'] as const;
const KIND_HELP = 'sqlite:FILE, files:DIR, postgres:ENVVAR or airtable:BASE_ID';

export interface ScaffoldOptions {
  /** KIND:WHERE, e.g. sqlite:./app.db */
  source: string;
  out: string;
  /** The target schema; by default one named after the source. */
  schema?: string;
  /** SQLite: count the values of each table's first rows only (a large file drafts faster; the notes say so). */
  sample?: number;
  /** Overwrite migration.sql and mapping.json when they exist. */
  force?: boolean;
  /** The time written in the draft's header (tests fix it). */
  now?: Date;
}

export interface ScaffoldResult {
  migrationFile: string;
  mappingFile: string;
  schema: string;
  tables: string[];
  refused: string[];
  reviews: string[];
}

/** Schemas the draft may not take: airlift's own, PostgreSQL's, and the tools'. */
const TAKEN_SCHEMAS = new Set(['app', 'sync', 'staging', 'audit', 'report', 'public', 'tests', 'information_schema']);

export function checkSchemaName(schema: string): void {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new ConfigurationError(`--schema "${schema}" is not a schema name the draft can use: lower case letters, digits and _, starting with a letter or _`);
  }
  if (TAKEN_SCHEMAS.has(schema) || schema.startsWith('pg_') || schema.startsWith('graphile_')) {
    throw new ConfigurationError(`--schema "${schema}" is taken (airlift's own schemas app, sync, staging, audit and report, public, pg_*, graphile_*): name the draft's own schema`);
  }
}

/** Splits KIND:WHERE; an unknown kind or a missing WHERE is a ConfigurationError naming them. */
export function parseSourceSpec(spec: string): { kind: (typeof SCAFFOLD_KINDS)[number]; where: string } {
  const at = spec.indexOf(':');
  const kind = at > 0 ? spec.slice(0, at) : spec;
  const where = at > 0 ? spec.slice(at + 1) : '';
  if (!(SCAFFOLD_KINDS as readonly string[]).includes(kind)) {
    throw new ConfigurationError(`--source "${spec}": unknown source kind "${kind}"; expected ${KIND_HELP}`);
  }
  if (where.trim() === '') throw new ConfigurationError(`--source "${spec}": say where the source is after "${kind}:" (${KIND_HELP})`);
  return { kind: kind as (typeof SCAFFOLD_KINDS)[number], where };
}

/** The output directory, created if missing; a ConfigurationError when it cannot be written. */
async function writableDirectory(out: string): Promise<string> {
  const dir = path.resolve(out);
  try {
    await mkdir(dir, { recursive: true });
    if (!(await stat(dir)).isDirectory()) throw new Error('not a directory');
    await access(dir, constants.W_OK);
  } catch (error) {
    throw new ConfigurationError(`--out ${dir} cannot be written: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return dir;
}

async function refuseOverwrite(files: string[], force: boolean): Promise<void> {
  if (force) return;
  for (const file of files) {
    const exists = await stat(file).then(() => true, () => false);
    if (exists) throw new ConfigurationError(`${file} exists: scaffold does not overwrite a draft someone may be reviewing (--force overwrites it)`);
  }
}

/** Reads the source and writes DIR/migration.sql and DIR/mapping.json. */
export async function runScaffold(options: ScaffoldOptions): Promise<ScaffoldResult> {
  const { kind, where } = parseSourceSpec(options.source);
  if (options.sample !== undefined && kind !== 'sqlite') throw new ConfigurationError(`--sample applies to a SQLite source only, not ${kind}`);
  const out = await writableDirectory(options.out);
  const migrationFile = path.join(out, 'migration.sql');
  const mappingFile = path.join(out, 'mapping.json');
  await refuseOverwrite([migrationFile, mappingFile], Boolean(options.force));

  let draft: Draft;
  switch (kind) {
    case 'sqlite': {
      const file = path.resolve(where);
      const schema = options.schema ?? snakeName(path.basename(file).replace(/\.[^.]*$/, ''));
      checkSchemaName(schema);
      draft = scaffoldSqlite({ file, schema, outDir: out, sample: options.sample });
      break;
    }
    case 'files': {
      const dir = path.resolve(where);
      const schema = options.schema ?? snakeName(path.basename(dir));
      checkSchemaName(schema);
      draft = scaffoldFiles({ dir, schema, outDir: out });
      break;
    }
    case 'postgres': {
      const schema = options.schema ?? 'legacy';
      checkSchemaName(schema);
      draft = await scaffoldPostgres({ urlEnv: where, schema });
      break;
    }
    case 'airtable': {
      const schema = options.schema ?? 'airtable';
      checkSchemaName(schema);
      draft = await scaffoldAirtable({ baseId: where, schema });
      break;
    }
  }
  await writeFile(migrationFile, renderMigration(draft, options.now ?? new Date()));
  await writeFile(mappingFile, renderMapping(draft));
  return {
    migrationFile, mappingFile, schema: draft.schema,
    tables: draft.tables.map((t) => `${draft.schema}.${t.name}`),
    refused: draft.refused.map((r) => r.sourceName),
    reviews: allReviews(draft),
  };
}

/** What the command prints. */
export function formatScaffold(result: ScaffoldResult): string {
  const lines = [
    `drafted schema ${result.schema}: ${result.tables.length} table(s)${result.refused.length ? `, ${result.refused.length} not drafted (${result.refused.join(', ')})` : ''}`,
    `  ${result.migrationFile}`,
    `  ${result.mappingFile}`,
    result.reviews.length
      ? `${result.reviews.length} REVIEW note(s) to decide (\`grep -n REVIEW ${result.migrationFile}\`), then copy the migration into migrations/current.sql and commit it with \`airlift gm commit\``
      : 'no REVIEW notes; copy the migration into migrations/current.sql and commit it with `airlift gm commit`',
  ];
  return `${lines.join('\n')}\n`;
}
