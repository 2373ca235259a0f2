/**
 * SQLite load benchmark (issue 17): the example application's database
 * (tools/generator/sqlite.ts; default 1,000,000 pfa_records plus the small
 * tables) migrated by airlift and by pgloader into the same server, side by
 * side, in the same run.
 *
 * - airlift: a full pull of examples/pfa-app/mapping.json (the real
 *   pipeline in a child process, bench/pull-run.ts, so that its peak RSS is
 *   its own: casts, staging with checksums, the set-based merge with
 *   conversions and links, field problems, the id map, audit, the sweep and
 *   the validation report) into schema pfa_app of a freshly migrated
 *   database; then `airlift verify` (source and target compared record by
 *   record) through the CLI.
 * - pgloader (the Debian package), from a load file: it creates the tables
 *   from SQLite's schema and loads them with COPY into a database of its
 *   own. Its default casts refuse whole batches of this file (a Prisma
 *   DateTime is epoch milliseconds in a DATETIME column, a boolean 2, text
 *   in an INTEGER column) and a foreign key is planted dangling, so the
 *   load file keeps DATETIME as bigint, booleans as smallint and that
 *   column as text, and creates no foreign keys: every row lands, with no
 *   conversion and no problem flagged, which is less work than airlift's.
 *   The bench refuses a baseline that did not load every row.
 *
 * Prints both times, rows per second, the ratio of airlift's speed to
 * pgloader's with airlift's verification counted and not counted (target:
 * at least 50%), and airlift's peak RSS (target: under 250 MB).
 *
 *   npm run bench:sqlite
 *   npx tsx bench/sqlite-load.ts --records 100000 [--seed 7]
 */
import { execFile, spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { watch as applyCurrentMigration } from 'graphile-migrate';
import { connect, ensureDatabaseExists, migrationSettings, prepareDatabase, PROJECT_ROOT, releaseMigrationPools } from '../src/db/database.ts';
import { startThrowawayCluster, urlWithDatabase } from '../src/db/embedded.ts';
import { generateSqliteApp } from '../tools/generator/sqlite.ts';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: '7' },
  },
});
const RECORDS = Number(args.records);
if (!Number.isInteger(RECORDS) || RECORDS < 30) throw new Error(`--records must be a whole number of at least 30, got ${args.records}`);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const progress = (line: string) => process.stderr.write(`[bench:sqlite] ${line}\n`);
const run = promisify(execFile);

const pgloaderVersion = spawnSync('pgloader', ['--version'], { encoding: 'utf8' });
if (pgloaderVersion.error || pgloaderVersion.status !== 0) {
  throw new Error('pgloader is needed for the baseline: install it from your operating system (Debian: apt-get install pgloader)');
}

const server = await startThrowawayCluster();
const dir = await mkdtemp(path.join(os.tmpdir(), 'airlift-sqlite-load-'));
try {
  const file = path.join(dir, 'pfa.db');
  progress(`generating the SQLite file with ${fmt(RECORDS)} pfa_records`);
  generateSqliteApp({ file, records: RECORDS, seed: Number(args.seed) });
  const mappingFile = path.join(dir, 'mapping.json');
  await copyFile(path.join(PROJECT_ROOT, 'examples', 'pfa-app', 'mapping.json'), mappingFile);
  const sqliteRows = spawnSync('sqlite3', [file, "select sum(n) from (select count(*) n from users union all select count(*) from organizations union all select count(*) from user_organizations union all select count(*) from ai_providers union all select count(*) from organization_configs union all select count(*) from api_configurations union all select count(*) from data_source_mappings union all select count(*) from field_configurations union all select count(*) from pfa_records)"], { encoding: 'utf8' });
  const totalRows = Number(sqliteRows.stdout.trim());

  // ---- pgloader ---------------------------------------------------------
  await ensureDatabaseExists(server.rootUrl, 'bench_pgloader');
  const pgloaderUrl = urlWithDatabase(server.rootUrl, 'bench_pgloader');
  const loadFile = path.join(dir, 'pfa.load');
  await writeFile(loadFile, [
    'LOAD DATABASE',
    `  FROM sqlite://${file}`,
    `  INTO ${pgloaderUrl.replace(/^postgres:/, 'postgresql:')}`,
    'WITH include drop, create tables, create indexes, reset sequences, no foreign keys',
    'CAST type datetime to bigint drop typemod,',
    '     type boolean to smallint drop typemod,',
    '     column field_configurations.position to text drop typemod;',
    '',
  ].join('\n'));
  progress('pgloader');
  const pgStarted = performance.now();
  await run('pgloader', ['--quiet', loadFile], { maxBuffer: 64 * 1024 * 1024 });
  const pgloaderMs = performance.now() - pgStarted;
  const loaded = connect(pgloaderUrl, { max: 1 });
  const [pgloaded] = await loaded<{ n: string }[]>`
    select sum((xpath('/row/c/text()', query_to_xml(format('select count(*) as c from %I.%I', table_schema, table_name), false, true, '')))[1]::text::bigint)::text as n
    from information_schema.tables where table_schema not in ('pg_catalog', 'information_schema') and table_type = 'BASE TABLE'`;
  await loaded.end();
  if (Number(pgloaded!.n) !== totalRows) throw new Error(`pgloader loaded ${pgloaded!.n} of ${totalRows} rows: the baseline is not a whole load (run ${loadFile} by hand to see its errors)`);

  // ---- airlift ----------------------------------------------------------
  progress('migrating a fresh database');
  await ensureDatabaseExists(server.rootUrl, 'bench_airlift');
  const url = urlWithDatabase(server.rootUrl, 'bench_airlift');
  const target = { databaseUrl: url, rootUrl: url };
  await prepareDatabase(target);
  try {
    // work in progress: migrations/current.sql on top (a no-op once committed)
    await applyCurrentMigration(await migrationSettings(target), true);
  } finally {
    await releaseMigrationPools();
  }
  const root = connect(url, { max: 1 });
  await root.unsafe('checkpoint');
  progress('the airlift pull (child process)');
  const { stdout } = await run(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'bench', 'pull-run.ts'), JSON.stringify({ url, mapping: mappingFile })], {
    cwd: PROJECT_ROOT,
    maxBuffer: 64 * 1024 * 1024,
  });
  const pulled = JSON.parse(stdout.trim().split('\n').at(-1)!) as { wallMs: number; maxRssKb: number; run: Record<string, string> };
  progress('airlift verify');
  const verifyStarted = performance.now();
  const verified = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'airlift.js'), 'verify', '--json'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, DATABASE_URL: url, AIRLIFT_MAPPING: mappingFile },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const verifyMs = performance.now() - verifyStarted;
  const verdict = JSON.parse(verified.stdout || '{}') as { passed?: boolean; discrepancies?: number };

  const [landed] = await root<{ rows: string; id_map: string; problems: string }[]>`
    select (select sum(n) from (select count(*) as n from pfa_app.users union all select count(*) from pfa_app.organizations
              union all select count(*) from pfa_app.user_organizations union all select count(*) from pfa_app.ai_providers
              union all select count(*) from pfa_app.organization_configs union all select count(*) from pfa_app.api_configurations
              union all select count(*) from pfa_app.data_source_mappings union all select count(*) from pfa_app.field_configurations
              union all select count(*) from pfa_app.pfa_records) t)::text as rows,
           (select count(*) from sync.id_map where entity_type like 'pfa\\_%')::text as id_map,
           (select count(*) from sync.field_problems where entity like 'pfa\\_%' and resolved_at is null)::text as problems`;
  const [settings] = await root<{ version: string; shared_buffers: string }[]>`
    select current_setting('server_version') as version, current_setting('shared_buffers') as shared_buffers`;
  await root.end();

  const rate = (ms: number) => `${fmt(totalRows / (ms / 1000))} rows/s`;
  const out = [
    ``,
    `bench:sqlite: the example SQLite application, ${fmt(RECORDS)} pfa_records, ${fmt(totalRows)} rows in 9 tables; PostgreSQL ${settings!.version}, shared_buffers ${settings!.shared_buffers}, ${os.cpus().length} cores`,
    `  pgloader ${pgloaderVersion.stdout.split('\n')[0]!.trim()}: ${secs(pgloaderMs)} (${rate(pgloaderMs)}), ${fmt(Number(pgloaded!.n))} rows loaded`,
    `  airlift pull --full (child process): ${secs(pulled.wallMs)} (${rate(pulled.wallMs)}); run ${pulled.run.id}: fetched ${fmt(Number(pulled.run.fetched))}, inserted ${fmt(Number(pulled.run.inserted))}, quarantined ${fmt(Number(pulled.run.quarantined))}`,
    `    in the target: ${fmt(Number(landed!.rows))} rows, ${fmt(Number(landed!.id_map))} in the id map, ${fmt(Number(landed!.problems))} open field problems (the planted mess)`,
    `  airlift verify: ${secs(verifyMs)}, ${verdict.passed ? 'PASSED' : `FAILED (${verdict.discrepancies ?? '?'} discrepancies; exit ${verified.status})`}`,
    `  => airlift's speed against pgloader's: ${((100 * pgloaderMs) / pulled.wallMs).toFixed(1)}% without verification, ${((100 * pgloaderMs) / (pulled.wallMs + verifyMs)).toFixed(1)}% with it (target: at least 50%)`,
    `  peak RSS of the pulling process: ${(pulled.maxRssKb / 1024).toFixed(0)} MB (target: under 250 MB)`,
  ];
  process.stdout.write(out.join('\n') + '\n');
} finally {
  await rm(dir, { recursive: true, force: true });
  await server.stop();
}
