/**
 * Legacy PostgreSQL differential benchmark (issue 17): a generated legacy
 * database (tools/generator/legacy-pg.ts, default 1,200,000 rows over six
 * tables) migrated once into legacy_app by a full pull, then edited (about
 * 1% of the rows updated, inserted, deleted), then:
 *
 *   - baseline, in the same run: `count(*)` of both sides' key columns
 *     (each source table's id, each target table's id), median of 3;
 *   - finding the differences: the source's plan for every table (one
 *     checksum pass per table on the source side, summed per range of 16
 *     keys, compared with the ranges kept by the full pull), median of 3;
 *     and, to the row, the incremental pull's reading of the changed ranges
 *     (with staging, which compares each row's content with staging's);
 *   - applying them: the incremental pull (child process: its peak RSS is
 *     its own), its merge's rows per second, +N ~N -N checked against the
 *     edits.
 *
 * The two databases are on one server (a throwaway cluster, or
 * BENCH_DATABASE_URL, a superuser URL): bench_legacy_source and
 * bench_legacy_target, dropped and created again.
 *
 *   npm run bench:legacy
 *   npx tsx bench/legacy-diff.ts --rows 100000 [--seed 1]
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { watch as applyCurrentMigration } from 'graphile-migrate';
import { connect, migrationSettings, prepareDatabase, PROJECT_ROOT, quoteIdent, releaseMigrationPools } from '../src/db/database.ts';
import { startThrowawayCluster, urlWithDatabase } from '../src/db/embedded.ts';
import { loadMapping } from '../src/mapping.ts';
import { PostgresSource } from '../src/sources/postgres/source.ts';
import { applyLegacyEdits, countLegacyRows, generateLegacyDatabase, LEGACY_TABLES } from '../tools/generator/legacy-pg.ts';
import { createLogger } from '../src/log.ts';

const { values: args } = parseArgs({ options: { rows: { type: 'string', default: '1200000' }, seed: { type: 'string', default: '1' } } });
const ROWS = Number(args.rows);
const SEED = Number(args.seed);
const MAPPING = path.join(PROJECT_ROOT, 'examples', 'legacy-pg', 'mapping.json');
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => `${fmt(n)} ms`;
const progress = (line: string) => process.stderr.write(`[bench:legacy] ${line}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface RunResult {
  wallMs: number;
  maxRssKb: number;
  run: Record<string, string>;
  tables: Array<{ entity: string; fetched: number; inserted: number; updated: number; unchanged: number; deleted: number }>;
  timings: Array<Record<string, number | string>>;
}
async function pullInChild(url: string, sourceUrl: string, mode: 'full' | 'incremental'): Promise<RunResult> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'bench', 'legacy-diff-run.ts'), JSON.stringify({ url, mapping: MAPPING, mode })], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, LEGACY_DATABASE_URL: sourceUrl },
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as RunResult;
}

const server = process.env.BENCH_DATABASE_URL ? null : await startThrowawayCluster();
const rootUrl = process.env.BENCH_DATABASE_URL ?? server!.rootUrl;
try {
  const admin = connect(urlWithDatabase(rootUrl, 'postgres'), { max: 1 });
  for (const name of ['bench_legacy_source', 'bench_legacy_target']) {
    await admin.unsafe(`drop database if exists ${quoteIdent(name)} with (force)`);
    await admin.unsafe(`create database ${quoteIdent(name)}`);
  }
  await admin.end();
  const sourceUrl = urlWithDatabase(rootUrl, 'bench_legacy_source');
  const url = urlWithDatabase(rootUrl, 'bench_legacy_target');

  const source = connect(sourceUrl, { max: 1 });
  let started = performance.now();
  const sizes = await generateLegacyDatabase(source, { rows: ROWS, seed: SEED });
  progress(`generated ${fmt(ROWS)} rows in ${ms(performance.now() - started)}: ${JSON.stringify(sizes)}`);

  progress('migrating the target');
  const target = { databaseUrl: url, rootUrl: url };
  await prepareDatabase(target);
  try {
    await applyCurrentMigration(await migrationSettings(target), true);
  } finally {
    await releaseMigrationPools();
  }
  const root = connect(url, { max: 1 });

  progress('the full pull (the first migration), child process');
  const full = await pullInChild(url, sourceUrl, 'full');
  progress(`full pull: ${ms(full.wallMs)}, fetched ${full.run.fetched}, peak RSS ${fmt(full.maxRssKb / 1024)} MB`);
  await root.unsafe('vacuum analyze');

  const edits = await applyLegacyEdits(source);
  const planted = (part: Record<string, string[] | undefined>) => Object.values(part).reduce((n, k) => n + (k?.length ?? 0), 0);
  const changed = { updated: planted(edits.updated), inserted: planted(edits.inserted), deleted: planted(edits.deleted) };
  const counts = await countLegacyRows(source);
  const sourceRows = Object.values(counts).reduce((a, b) => a + b, 0);
  progress(`edited: ${JSON.stringify(changed)} of ${fmt(sourceRows)} rows`);
  await source.unsafe('analyze');

  // ---- the baseline: count(*) of both sides' key columns ----------------
  const countBoth = async () => {
    const t0 = performance.now();
    await source.unsafe(LEGACY_TABLES.map((t) => `select count(id) from ${t}`).join(' union all '));
    await root.unsafe(LEGACY_TABLES.map((t) => `select count(id) from legacy_app.${t}`).join(' union all '));
    return performance.now() - t0;
  };
  await countBoth();
  const baselines = [await countBoth(), await countBoth(), await countBoth()];
  const baseline = median(baselines);

  // ---- finding the differences: the checksum pass of every table --------------
  const mapping = await loadMapping(MAPPING);
  const previous = new Map(
    (await root<{ entity: string; state: Record<string, unknown> }[]>`
      select c.entity_type as entity, c.metadata -> 'source_state' as state from sync.checkpoints c
      where c.run_id = ${full.run.id} and c.operation_type = 'sync_operation'`).map((r) => [r.entity, r.state]),
  );
  const legacy = await PostgresSource.open('LEGACY_DATABASE_URL', { env: { LEGACY_DATABASE_URL: sourceUrl } });
  const log = createLogger('silent');
  const find = async () => {
    const t0 = performance.now();
    let ranges = 0;
    let toRead = 0;
    for (const table of mapping.mergeOrder) {
      const plan = await legacy.plan({
        runId: '0', table, since: null, resume: { cursor: null, state: {}, attempt: 1 }, previous: previous.get(table.entity) ?? null,
        mode: 'incremental', log, restart: async () => undefined,
      });
      ranges += plan.completeWithin?.ranges.length ?? 0;
      toRead += plan.unchanged ? 0 : (plan.expected ?? 0);
    }
    return { ms: performance.now() - t0, ranges, toRead };
  };
  await find();
  const finds = [await find(), await find(), await find()];
  const found = finds.sort((a, b) => a.ms - b.ms)[1]!;
  await legacy.close();

  // ---- applying them: the incremental pull -----------------------------------
  progress('the incremental pull, child process');
  const incremental = await pullInChild(url, sourceUrl, 'incremental');
  const sum = (key: string) => incremental.timings.reduce((n, t) => n + Number(t[key] ?? 0), 0);
  const totals = incremental.tables.reduce(
    (acc, t) => ({ fetched: acc.fetched + t.fetched, inserted: acc.inserted + t.inserted, updated: acc.updated + t.updated, deleted: acc.deleted + t.deleted }),
    { fetched: 0, inserted: 0, updated: 0, deleted: 0 },
  );
  const exact = totals.inserted === changed.inserted && totals.updated === changed.updated && totals.deleted === changed.deleted;
  const [version] = await root<{ v: string }[]>`select current_setting('server_version') as v`;
  await root.end();
  await source.end();

  const lines = [
    `legacy PostgreSQL differential, ${fmt(sourceRows)} source rows, PostgreSQL ${version!.v}, 2 cores`,
    `| what | measured | ratio |`,
    `| --- | --- | --- |`,
    `| baseline: count(id) of the six tables on both sides (median of 3: ${baselines.map((b) => fmt(b)).join(', ')} ms) | ${ms(baseline)} | 1.00x |`,
    `| finding the differences: the checksum pass of every table, compared with the full pull's ranges (median of 3) | ${ms(found.ms)} | ${(found.ms / baseline).toFixed(2)}x |`,
    `| ... found: key ranges of 16 keys changed, rows in them to read again | ${fmt(found.ranges)} ranges, ${fmt(found.toRead)} rows (${((found.toRead / sourceRows) * 100).toFixed(1)}% of the rows) | |`,
    `| to the row: the pull's checksum pass plus reading and staging the changed ranges | ${ms(sum('plan_ms') + sum('stage_ms'))} | ${((sum('plan_ms') + sum('stage_ms')) / baseline).toFixed(2)}x |`,
    `| the incremental pull, wall clock (plan, read, stage, merge, sweep, validate) | ${ms(incremental.wallMs)} | ${(incremental.wallMs / baseline).toFixed(2)}x |`,
    `| its merges | ${ms(sum('merge_ms'))}: ${fmt((totals.fetched / Math.max(1, sum('merge_ms'))) * 1000)} rows/s of the ${fmt(totals.fetched)} read, ${fmt(((totals.inserted + totals.updated) / Math.max(1, sum('merge_ms'))) * 1000)} changes/s | |`,
    `| applied | +${totals.inserted} ~${totals.updated} -${totals.deleted} (planted +${changed.inserted} ~${changed.updated} -${changed.deleted}: ${exact ? 'exactly' : 'NOT the same'}) | |`,
    `| peak RSS of the pulling process: incremental, full | ${fmt(incremental.maxRssKb / 1024)} MB, ${fmt(full.maxRssKb / 1024)} MB | |`,
    `| the first migration (full pull of every row) | ${ms(full.wallMs)}: ${fmt((Number(full.run.fetched) / full.wallMs) * 1000)} rows/s | |`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (!exact) process.exitCode = 1;
} finally {
  await server?.stop();
}
