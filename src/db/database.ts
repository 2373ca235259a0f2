/**
 * Where airlift's database is, and how to get it ready: the server given by
 * DATABASE_URL, or the embedded one under AIRLIFT_DATA_DIR; the roles made
 * by the bootstrap script; the schema migrated by graphile-migrate.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { Logger, migrate as graphileMigrate, type Settings } from 'graphile-migrate';
import { Logger as WorkerLogger, runMigrations as runWorkerMigrations } from 'graphile-worker';
import type { Environment } from '../config.ts';
import { startEmbedded, urlWithDatabase, type EmbeddedServer } from './embedded.ts';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const MIGRATIONS_FOLDER = path.join(PROJECT_ROOT, 'migrations');
const BOOTSTRAP_ROLES_SQL = path.join(PROJECT_ROOT, 'sql', 'bootstrap_roles.sql');

export const ROLES = ['airlift_owner', 'airlift_sync', 'airlift_app', 'airlift_readonly', 'airlift_auditor'] as const;
export type AirliftRole = (typeof ROLES)[number];

export interface DatabaseTarget {
  /** Connection to the airlift database, as the configured login. */
  databaseUrl: string;
  /** Connection with CREATEROLE (superuser for the embedded server) to the airlift database. */
  rootUrl: string;
  /** Scratch database for `graphile-migrate commit`, when known. */
  shadowUrl?: string;
  /** The embedded server, when airlift started or joined one. */
  server?: EmbeddedServer;
}

/**
 * Adds a `role` startup setting to a connection URL, so that the session acts
 * as that role from the start (like SET ROLE). Understood by both postgres.js
 * and node-postgres (graphile-migrate).
 */
export function urlWithRole(url: string, role: AirliftRole): string {
  const parsed = new URL(url);
  const existing = parsed.searchParams.get('options');
  parsed.searchParams.set('options', [existing, `-c role=${role}`].filter(Boolean).join(' '));
  return parsed.toString();
}

function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
}

/** Resolves DATABASE_URL, or starts (or joins) the embedded server. */
export async function resolveDatabase(env: Environment, onLog?: (line: string) => void): Promise<DatabaseTarget> {
  if (env.DATABASE_URL) {
    return {
      databaseUrl: env.DATABASE_URL,
      rootUrl: env.ROOT_DATABASE_URL ?? env.DATABASE_URL,
      shadowUrl: env.SHADOW_DATABASE_URL,
    };
  }
  const server = await startEmbedded({ dataDir: env.AIRLIFT_DATA_DIR, onLog });
  try {
    await ensureDatabaseExists(server.rootUrl, env.AIRLIFT_DATABASE_NAME);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return {
    databaseUrl: urlWithDatabase(server.rootUrl, env.AIRLIFT_DATABASE_NAME),
    rootUrl: urlWithDatabase(server.rootUrl, env.AIRLIFT_DATABASE_NAME),
    shadowUrl: urlWithDatabase(server.rootUrl, `${env.AIRLIFT_DATABASE_NAME}_shadow`),
    server,
  };
}

/** Creates a database on the server if it does not exist yet. */
export async function ensureDatabaseExists(serverUrl: string, name: string, template?: string): Promise<boolean> {
  const sql = postgres(urlWithDatabase(serverUrl, 'postgres'), { max: 1, onnotice: () => undefined });
  try {
    const [{ exists }] = await sql<{ exists: boolean }[]>`select exists (select from pg_database where datname = ${name})`;
    if (exists) return false;
    await sql.unsafe(`create database ${quoteIdent(name)}${template ? ` template ${quoteIdent(template)}` : ''}`);
    return true;
  } finally {
    await sql.end();
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Creates the airlift roles and database grants, idempotently (sql/bootstrap_roles.sql). */
export async function bootstrapRoles(rootUrl: string): Promise<void> {
  const script = await readFile(BOOTSTRAP_ROLES_SQL, 'utf8');
  const sql = postgres(rootUrl, { max: 1, onnotice: () => undefined });
  try {
    await sql.unsafe(script);
  } catch (error) {
    const connectionProblem = explainConnectionError(rootUrl, error);
    if (connectionProblem) throw connectionProblem;
    throw new Error(
      `Could not create the airlift roles on ${describeUrl(rootUrl)}: ${(error as Error).message}. ` +
        'Set ROOT_DATABASE_URL to a role with CREATEROLE, or have a DBA run sql/bootstrap_roles.sql.',
    );
  } finally {
    await sql.end();
  }
}

/** graphile-migrate settings for a target, mirroring .gmrc. */
export async function migrationSettings(target: DatabaseTarget, quiet = true): Promise<Settings> {
  const gmrc = await import('graphile-migrate/dist/commands/_common.js').then((m) =>
    m.getSettingsFromJSON(path.join(PROJECT_ROOT, '.gmrc')),
  );
  return {
    ...gmrc,
    migrationsFolder: MIGRATIONS_FOLDER,
    connectionString: urlWithRole(target.databaseUrl, 'airlift_owner'),
    rootConnectionString: urlWithDatabase(target.rootUrl, 'postgres'),
    ...(target.shadowUrl ? { shadowConnectionString: urlWithRole(target.shadowUrl, 'airlift_owner') } : {}),
    // Quiet: only warnings and errors reach stderr; progress is the caller's to report.
    ...(quiet
      ? {
          logger: new Logger(() => (level, message) => {
            if (level === 'error' || level === 'warning') process.stderr.write(`[graphile-migrate] ${message}\n`);
          }),
        }
      : {}),
  };
}

/**
 * Bootstraps roles, applies every committed migration, and installs
 * graphile-worker's schema, owned by airlift_owner like everything else.
 */
export async function prepareDatabase(target: DatabaseTarget): Promise<void> {
  await bootstrapRoles(target.rootUrl);
  try {
    await graphileMigrate(await migrationSettings(target));
  } finally {
    await releaseMigrationPools();
  }
  await runWorkerMigrations({ connectionString: urlWithRole(target.databaseUrl, 'airlift_owner'), logger: quietWorkerLogger });
}

/** graphile-worker's logger, reduced to warnings and errors on stderr. */
export const quietWorkerLogger = new WorkerLogger(() => (level, message) => {
  if (level === 'error' || level === 'warning') process.stderr.write(`[graphile-worker] ${message}\n`);
});

/**
 * graphile-migrate keeps its pg pools open for a moment after use, and exits
 * the process if one of them errors (as it does when the embedded server
 * stops). End them as soon as migrations are done.
 */
export async function releaseMigrationPools(): Promise<void> {
  const { clearAllPools } = (await import('graphile-migrate/dist/pgReal.js')) as { clearAllPools(): void };
  clearAllPools();
}

const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'CONNECT_TIMEOUT', 'EAI_AGAIN']);

/**
 * A clear error for a server that cannot be reached or refuses the login,
 * naming the server (never the password); undefined for other errors.
 */
export function explainConnectionError(url: string, error: unknown): Error | undefined {
  const e = error as { code?: string; message?: string };
  if (e?.code && CONNECTION_ERRORS.has(e.code)) {
    return new Error(`Cannot reach PostgreSQL at ${describeUrl(url)} (${e.code}). Is the server running, and is DATABASE_URL right?`);
  }
  if (e?.code === '28P01' || e?.code === '28000') {
    return new Error(`PostgreSQL at ${describeUrl(url)} refused the login: ${e.message}. Check the user and password in DATABASE_URL.`);
  }
  if (e?.code === '3D000') {
    return new Error(`PostgreSQL at ${describeUrl(url)}: ${e.message}. Create the database first, or fix DATABASE_URL.`);
  }
  return undefined;
}

/** A URL safe to print: the password is never shown. */
export function describeUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  parsed.search = '';
  return parsed.toString();
}

export function connect(url: string, options: postgres.Options<Record<string, postgres.PostgresType>> = {}) {
  return postgres(url, { onnotice: () => undefined, ...options });
}

export { databaseName };
