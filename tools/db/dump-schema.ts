/**
 * db/schema.sql: the schema as the committed migrations leave it, dumped so
 * that a migration's effect can be read and reviewed as a diff of one file
 * (graphile/starter's afterAllMigrations dump, graphile/worker's "Check
 * schema hasn't changed").
 *
 * `npm run db:schema` (`tsx tools/db/dump-schema.ts`) writes it;
 * `--output FILE` writes elsewhere; `--check` compares instead of writing and
 * exits 1 when db/schema.sql is stale. test/schema-dump.test.ts does the
 * same check in CI, and `airlift gm commit` / `gm uncommit` regenerate it.
 *
 * How: a throwaway PostgreSQL 15 cluster (the oldest supported version, so
 * this also proves the migrations apply there) in a temporary folder, always
 * removed; sql/bootstrap_roles.sql and every migration in
 * migrations/committed/ (prepareDatabase, as `airlift migrate` does); then
 * `pg_dump --schema-only --no-owner` of every schema but graphile-worker's
 * and graphile-migrate's (third-party, versioned by their npm packages),
 * normalized to be deterministic. Privileges are kept: which role may do
 * what is part of the schema's shape. Owners are not: everything is
 * airlift_owner's (the pgTAP roles suite checks that).
 *
 * The embedded server (PostgreSQL 17 from npm) ships no pg_dump, and a
 * pg_dump refuses a newer server, so the cluster is PostgreSQL 15's own:
 * Debian's postgresql-15 package (/usr/lib/postgresql/15/bin), or the folder
 * in AIRLIFT_SCHEMA_PG_BINDIR. As root, the server runs as the `postgres`
 * system user (PostgreSQL refuses root), which that package creates.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ensureDatabaseExists, prepareDatabase } from '../../src/db/database.ts';
import { freePort, makeTraversable } from '../../src/db/embedded.ts';

const execFileAsync = promisify(execFile);

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SCHEMA_FILE = path.join(PROJECT_ROOT, 'db', 'schema.sql');
/** The PostgreSQL major version the dump is made with (the oldest supported). */
export const DUMP_MAJOR_VERSION = 15;
const DEFAULT_BINDIR = `/usr/lib/postgresql/${DUMP_MAJOR_VERSION}/bin`;
const BINARIES = ['initdb', 'pg_ctl', 'postgres', 'pg_dump'] as const;
/** Schemas of third-party tools, not airlift's: left out of the dump. */
const EXCLUDED_SCHEMAS = ['graphile_worker', 'graphile_migrate'];
const DATABASE = 'airlift';
const SUPERUSER = 'postgres';

export const HEADER = `-- db/schema.sql: the airlift database as the committed migrations leave it.
--
-- GENERATED FILE, DO NOT EDIT BY HAND. After \`airlift gm commit\` (which
-- regenerates it) or any change to migrations/committed/ or
-- sql/bootstrap_roles.sql, run \`npm run db:schema\` and commit the result;
-- test/schema-dump.test.ts fails in CI when it is stale.
--
-- Made by tools/db/dump-schema.ts: a throwaway PostgreSQL ${DUMP_MAJOR_VERSION} cluster,
-- sql/bootstrap_roles.sql, every migration in migrations/committed/, then
-- pg_dump --schema-only --no-owner of every schema but graphile_worker and
-- graphile_migrate. Privileges are kept; owners are not (all airlift_owner).
-- pg_dump's version lines, \\restrict keys and SET lines are removed. For
-- reading and review: the migrations, not this file, build databases.
`;

export class SchemaDumpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SchemaDumpError';
  }
}

/** The PostgreSQL 15 bin folder, or a SchemaDumpError saying what to install. */
export async function locatePostgres15(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const bindir = env.AIRLIFT_SCHEMA_PG_BINDIR || DEFAULT_BINDIR;
  const missing = BINARIES.filter((name) => !existsSync(path.join(bindir, name)));
  const howToInstall =
    `Install PostgreSQL ${DUMP_MAJOR_VERSION}'s server binaries: on Debian or Ubuntu \`apt-get install postgresql-${DUMP_MAJOR_VERSION}\` ` +
    `(what .ci/run does), or set AIRLIFT_SCHEMA_PG_BINDIR to a folder holding PostgreSQL ${DUMP_MAJOR_VERSION}'s ${BINARIES.join(', ')}.`;
  if (missing.length) {
    throw new SchemaDumpError(`db/schema.sql is made with PostgreSQL ${DUMP_MAJOR_VERSION}, but ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing from ${bindir}. ${howToInstall}`);
  }
  for (const name of ['postgres', 'pg_dump']) {
    const { stdout } = await execFileAsync(path.join(bindir, name), ['--version']);
    const major = Number(/(\d+)(?:\.\d+)?/.exec(stdout)?.[1]);
    if (major !== DUMP_MAJOR_VERSION) {
      throw new SchemaDumpError(
        `db/schema.sql is made with PostgreSQL ${DUMP_MAJOR_VERSION} (pg_dump's output differs between major versions), but ${path.join(bindir, name)} is ${stdout.trim()}. ${howToInstall}`,
      );
    }
  }
  return bindir;
}

/** uid and gid of the `postgres` system user, when running as root. */
async function serverUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const [{ stdout: uid }, { stdout: gid }] = await Promise.all([
      execFileAsync('id', ['-u', SUPERUSER]),
      execFileAsync('id', ['-g', SUPERUSER]),
    ]);
    return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
  } catch {
    throw new SchemaDumpError(
      `Running as root, and PostgreSQL refuses to run as root, but there is no \`${SUPERUSER}\` system user to run it as. ` +
        `Installing postgresql-${DUMP_MAJOR_VERSION} creates one; or run as an ordinary user.`,
    );
  }
}

interface Run {
  stdout: string;
  stderr: string;
}

/** Runs a program (as `user` when given) and rejects with its output on a non-zero exit. */
function run(file: string, args: string[], options: { user?: { uid: number; gid: number }; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: { ...process.env, LC_ALL: 'C', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.user ? { uid: options.user.uid, gid: options.user.gid } : {}),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const result = { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
      if (code === 0) resolve(result);
      else reject(new SchemaDumpError(`${path.basename(file)} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${result.stderr.trim() || result.stdout.trim()}`));
    });
  });
}

/**
 * A throwaway PostgreSQL 15 cluster: created, started, handed to `work`,
 * then stopped and removed whatever happens (also on Ctrl-C).
 */
async function withPostgres15<T>(work: (cluster: { bindir: string; port: number; password: string }) => Promise<T>): Promise<T> {
  const bindir = await locatePostgres15();
  const user = await serverUser();
  const base = process.env.AIRLIFT_TMPDIR ?? os.tmpdir();
  await mkdir(base, { recursive: true });
  const dir = await mkdtemp(path.join(base, 'airlift-schema-'));
  const dataDir = path.join(dir, 'pg');
  const logFile = path.join(dir, 'server.log');
  const password = randomBytes(18).toString('base64url');
  let started = false;

  const cleanUp = async () => {
    if (started) {
      started = false;
      await run(path.join(bindir, 'pg_ctl'), ['stop', '-D', dataDir, '-m', 'immediate', '-w'], { user, cwd: dir }).catch(() => undefined);
    }
    await rm(dir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    void cleanUp().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    if (user) {
      await makeTraversable(dir);
      await chown(dir, user.uid, user.gid);
    }
    const passwordFile = path.join(dir, 'password');
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
    if (user) await chown(passwordFile, user.uid, user.gid);
    await run(
      path.join(bindir, 'initdb'),
      ['-D', dataDir, '-U', SUPERUSER, `--pwfile=${passwordFile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C', '--no-sync', '--no-instructions'],
      { user, cwd: dir },
    );
    const port = await freePort();
    const serverOptions = [
      `-p ${port}`,
      "-c listen_addresses=127.0.0.1",
      "-c unix_socket_directories=''",
      '-c fsync=off',
      '-c full_page_writes=off',
      '-c synchronous_commit=off',
    ].join(' ');
    started = true;
    try {
      await run(path.join(bindir, 'pg_ctl'), ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', serverOptions], { user, cwd: dir });
    } catch (error) {
      const serverLog = await readFile(logFile, 'utf8').catch(() => '');
      throw new SchemaDumpError(`PostgreSQL ${DUMP_MAJOR_VERSION} did not start in ${dataDir} on port ${port}: ${(error as Error).message}\n--- server log ---\n${serverLog.split('\n').slice(-30).join('\n')}`);
    }
    return await work({ bindir, port, password });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanUp();
  }
}

/**
 * Makes pg_dump's output deterministic and readable: drops its version lines
 * (they name the server's minor version), the `\restrict`/`\unrestrict`
 * lines with their random keys (pg_dump 15.14 and later), and the SET and
 * set_config lines (session settings for a restore, the same every time),
 * then squeezes runs of blank lines.
 */
export function normalizeDump(dump: string): string {
  const lines = dump
    .replace(/\r\n/g, '\n')
    .split('\n')
    .filter(
      (line) =>
        !/^-- Dumped (from database|by pg_dump) version /.test(line) &&
        !/^\\(un)?restrict\b/.test(line) &&
        !/^SET [a-z_]+ = .*;$/.test(line) &&
        !/^SELECT pg_catalog\.set_config\('search_path', '', false\);$/.test(line),
    );
  return `${lines.join('\n').replace(/\n{3,}/g, '\n\n').trim()}\n`;
}

/** The contents db/schema.sql should have: migrates a throwaway PostgreSQL 15 database and dumps it. */
export async function generateSchemaDump(): Promise<string> {
  return withPostgres15(async ({ bindir, port, password }) => {
    const serverUrl = `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
    const databaseUrl = `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`;
    await ensureDatabaseExists(serverUrl, DATABASE);
    try {
      await prepareDatabase({ databaseUrl, rootUrl: databaseUrl });
    } catch (error) {
      throw new SchemaDumpError(`The committed migrations do not apply on PostgreSQL ${DUMP_MAJOR_VERSION}: ${(error as Error).message}`);
    }
    const { stdout } = await run(
      path.join(bindir, 'pg_dump'),
      [
        '--schema-only',
        '--no-owner',
        '--no-tablespaces',
        ...EXCLUDED_SCHEMAS.map((schema) => `--exclude-schema=${schema}`),
        '-h', '127.0.0.1',
        '-p', String(port),
        '-U', SUPERUSER,
        '-d', DATABASE,
      ],
      { env: { PGPASSWORD: password, PGCONNECT_TIMEOUT: '10' } },
    );
    return `${HEADER}\n${normalizeDump(stdout)}`;
  });
}

/** Regenerates db/schema.sql (or `file`); says whether its contents changed. */
export async function writeSchemaDump(file = SCHEMA_FILE): Promise<{ file: string; changed: boolean; bytes: number }> {
  const dump = await generateSchemaDump();
  const previous = existsSync(file) ? await readFile(file, 'utf8') : undefined;
  await mkdir(path.dirname(file), { recursive: true });
  if (previous !== dump) await writeFile(file, dump);
  return { file, changed: previous !== dump, bytes: Buffer.byteLength(dump) };
}

/**
 * Where `actual` first differs from `expected`, as a few numbered lines of
 * each, or undefined when they are equal.
 */
export function firstDifference(expected: string, actual: string, context = 3): string | undefined {
  if (expected === actual) return undefined;
  const a = expected.split('\n');
  const b = actual.split('\n');
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const from = Math.max(0, i - context);
  const show = (lines: string[]) =>
    lines
      .slice(from, i + context + 1)
      .map((line, k) => `${String(from + k + 1).padStart(6)}${from + k === i ? ' >' : '  '} ${line}`)
      .join('\n') || '        (end of file)';
  return `first difference at line ${i + 1}:\n--- db/schema.sql (checked in)\n${show(a)}\n--- dump of the committed migrations\n${show(b)}`;
}

async function main(argv: string[]): Promise<number> {
  const check = argv.includes('--check');
  const outputAt = argv.indexOf('--output');
  const output = outputAt >= 0 ? argv[outputAt + 1] : undefined;
  if ((outputAt >= 0 && !output) || argv.some((arg, i) => !['--check', '--output'].includes(arg) && i !== outputAt + 1)) {
    process.stderr.write('usage: tsx tools/db/dump-schema.ts [--check | --output FILE]\n');
    return 2;
  }
  const started = Date.now();
  if (check) {
    const dump = await generateSchemaDump();
    const current = existsSync(SCHEMA_FILE) ? await readFile(SCHEMA_FILE, 'utf8') : '';
    const difference = firstDifference(current, dump);
    if (difference) {
      process.stderr.write(`db/schema.sql is stale: run \`npm run db:schema\` and commit it.\n${difference}\n`);
      return 1;
    }
    process.stdout.write(`db/schema.sql is up to date (${Date.now() - started} ms)\n`);
    return 0;
  }
  const result = await writeSchemaDump(output ? path.resolve(output) : SCHEMA_FILE);
  process.stdout.write(
    `${path.relative(process.cwd(), result.file) || result.file}: ${result.changed ? 'written' : 'unchanged'} (${result.bytes} bytes, ${Date.now() - started} ms)\n`,
  );
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`dump-schema: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
