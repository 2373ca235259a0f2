/**
 * The airlift CLI as a user runs it: `start` and `migrate` against the
 * embedded server and against a given DATABASE_URL, and the exit codes for
 * bad configuration and an unreachable server.
 */
import { chmod, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { PROJECT_DIR, runAirlift } from './support/cli.ts';
import { startEmbedded, urlWithDatabase, freePort } from '../src/db/embedded.ts';
import { connect, ensureDatabaseExists, quoteIdent } from '../src/db/database.ts';

const root = PROJECT_DIR;
const committedMigrations = (await readdir(path.join(root, 'migrations', 'committed'))).filter((f) => f.endsWith('.sql')).length;

const airlift = runAirlift;

async function tempDataDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'airlift-cli-'));
  await chmod(dir, 0o755);
  return path.join(dir, 'data');
}

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe('airlift start with the embedded server', () => {
  it('creates, migrates and describes a new cluster, then reuses it', async () => {
    const dataDir = await tempDataDir();
    cleanups.push(() => rm(path.dirname(dataDir), { recursive: true, force: true }));

    const first = await airlift(['start', '--json'], { AIRLIFT_DATA_DIR: dataDir });
    expect(first.code, first.stderr).toBe(0);
    const description = JSON.parse(first.stdout);
    expect(description.migrations.count).toBe(committedMigrations);
    expect(description.database).toContain('***');
    expect(description.database).not.toMatch(/postgres:[^*@]+@/);
    const tables = Object.fromEntries(description.tables.map((t: { table: string; rows: number }) => [t.table, t.rows]));
    expect(tables['app.registrations']).toBe(0);
    expect(tables['sync.status_transitions']).toBeGreaterThan(0);
    expect(Object.keys(tables)).toEqual(expect.arrayContaining(['app.clients', 'audit.changes', 'report.client_portfolio']));

    const credentials = await stat(path.join(dataDir, 'credentials.json'));
    expect(credentials.mode & 0o777).toBe(0o600);

    // The server was stopped at exit; a second start reuses the same cluster.
    const second = await airlift(['start', '--json'], { AIRLIFT_DATA_DIR: dataDir });
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout).migrations.count).toBe(committedMigrations);
  });

  it('joins a server already running from the same folder and leaves it running', async () => {
    const dataDir = await tempDataDir();
    const server = await startEmbedded({ dataDir });
    cleanups.push(async () => {
      await server.stop();
      await rm(path.dirname(dataDir), { recursive: true, force: true });
    });

    const result = await airlift(['start', '--json'], { AIRLIFT_DATA_DIR: dataDir });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).database).toContain(`:${server.port}/`);

    const sql = connect(urlWithDatabase(server.rootUrl, 'airlift'), { max: 1 });
    try {
      const [{ n }] = await sql<{ n: number }[]>`select count(*)::int as n from graphile_migrate.migrations`;
      expect(n).toBe(committedMigrations);
    } finally {
      await sql.end();
    }
  });
});

describe('airlift migrate with DATABASE_URL', () => {
  it('bootstraps roles and migrates an empty database, and a second run changes nothing', async () => {
    const serverUrl = inject('serverUrl');
    const name = `${inject('clonePrefix')}cli_migrate`;
    await ensureDatabaseExists(serverUrl, name);
    cleanups.push(async () => {
      const admin = connect(serverUrl, { max: 1 });
      await admin.unsafe(`drop database if exists ${quoteIdent(name)} with (force)`);
      await admin.end();
    });
    const url = urlWithDatabase(serverUrl, name);

    const first = await airlift(['migrate'], { DATABASE_URL: url });
    expect(first.code, first.stderr).toBe(0);
    const second = await airlift(['migrate'], { DATABASE_URL: url });
    expect(second.code, second.stderr).toBe(0);

    const sql = connect(url, { max: 1 });
    try {
      const [{ n }] = await sql<{ n: number }[]>`select count(*)::int as n from graphile_migrate.migrations`;
      expect(n).toBe(committedMigrations);
      const owners = await sql<{ owner: string }[]>`
        select distinct pg_get_userbyid(nspowner) as owner from pg_namespace
        where nspname in ('app', 'sync', 'staging', 'audit', 'report')`;
      expect(owners).toEqual([{ owner: 'airlift_owner' }]);
    } finally {
      await sql.end();
    }
  });
});

describe('airlift exit codes', () => {
  it('exits 2 naming the variable when the configuration is bad', async () => {
    const result = await airlift(['migrate'], { DATABASE_URL: 'mysql://localhost/airlift' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('DATABASE_URL');
    expect(result.stderr).toContain('postgres://');
  });

  it('exits 2 with one line naming AIRLIFT_LOG_LEVEL and its levels when the level is bad, before anything runs', async () => {
    const result = await airlift(['status'], { AIRLIFT_LOG_LEVEL: 'loud', DATABASE_URL: 'postgres://nobody@127.0.0.1:1/airlift' });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toBe('Bad configuration: AIRLIFT_LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"\n');
    expect(result.stdout).toBe('');
  });

  it('treats an empty AIRLIFT_LOG_LEVEL as unset (info)', async () => {
    const port = await freePort();
    const result = await airlift(['migrate'], { AIRLIFT_LOG_LEVEL: '', DATABASE_URL: `postgres://airlift@127.0.0.1:${port}/airlift` });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`airlift: Cannot reach PostgreSQL at postgres://airlift@127.0.0.1:${port}/airlift (ECONNREFUSED). Is the server running, and is DATABASE_URL right?\n`);
  });

  it('exits 1 with a clear message when the server cannot be reached', async () => {
    const port = await freePort();
    const result = await airlift(['migrate'], { DATABASE_URL: `postgres://airlift:secret-pw@127.0.0.1:${port}/airlift` });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`Cannot reach PostgreSQL at postgres://airlift:***@127.0.0.1:${port}/airlift (ECONNREFUSED)`);
    expect(result.stderr).not.toContain('secret-pw');
  });
});

describe('airlift help', () => {
  const help = async (command: string) => {
    const result = await airlift([command, '--help'], {});
    expect(result.code, result.stderr).toBe(0);
    return result.stdout.replace(/\s+/g, ' ');
  };

  it('describes the demo as the two-way sync it runs', async () => {
    const text = await help('demo');
    expect(text).toContain('Run the whole two-way sync on an emulated Delta base');
    expect(text).not.toContain('one-way');
  });

  it('names the worker\'s three schedules, the push included', async () => {
    const text = await help('worker');
    for (const variable of ['AIRLIFT_CRON_INCREMENTAL', 'AIRLIFT_CRON_FULL', 'AIRLIFT_CRON_PUSH']) expect(text).toContain(variable);
    expect(text).toContain('a push of the outbox to Airtable (AIRLIFT_CRON_PUSH, every minute)');
  });
});

describe('airlift usage errors and --version', () => {
  // No database is needed: each is refused before a command runs.
  it.each([
    [['rollback'], "error: required option '--run <id>' not specified"],
    [['status', '--bogus'], "error: unknown option '--bogus'"],
    [['conflicts', 'show'], "error: missing required argument 'id'"],
    [['verify', '--jobs', '0'], "error: option '--jobs <n>' argument '0' is invalid. expected a whole number of at least 1."],
    [['diff', '--batch-size', 'many'], "error: option '--batch-size <n>' argument 'many' is invalid. expected a whole number of at least 1."],
    [['bogus'], "error: unknown command 'bogus'"],
  ])('airlift %j exits 2 (a usage error, not a failed run): one line saying what is wrong, and where the usage is', async (args, message) => {
    const result = await airlift(args, {});
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`${message}\n(add --help for usage)\n`);
    expect(result.stdout).toBe('');
  });

  it('--version prints the version of package.json', async () => {
    const { version } = JSON.parse(await readFile(path.join(PROJECT_DIR, 'package.json'), 'utf8'));
    for (const flag of ['--version', '-V']) {
      const result = await airlift([flag], {});
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toBe(`${version}\n`);
    }
  });
});
