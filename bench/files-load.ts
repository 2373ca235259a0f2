/**
 * Files source load benchmark (issue: large files): a generated export of
 * N opportunities (default 1,000,000 CSV rows, tools/generator/files.ts)
 * loaded by the real pipeline (runPull with a FilesSource, a full pull of the
 * wallet app's opportunities mapping: staging with checksums, the merge with
 * conversions, validation and the id map, the sweep, the validation report)
 * into wallet_app.opportunities of a fresh database, against a baseline
 * measured in the same run: a raw `COPY ... FROM STDIN (format csv, header)`
 * of the same file into a copy of the target table.
 *
 * The baseline table is `create table bench.opportunities_copy (like
 * wallet_app.opportunities including all)` (same columns, defaults, CHECKs,
 * primary key and unique index on source_id) with owner_id and tags kept as
 * text (the CSV's wallet address and ';'-separated tags: COPY cannot convert
 * them), loaded through the column list source_id, title, owner_id, amount,
 * currency, status, opens_on, closes_on, tags. It has no triggers (baseline
 * A, the ratio that counts); baseline B is the same COPY with the target's
 * statement-level audit triggers attached (audit.enable_for), for reference.
 * Each baseline is measured before and after the pull, on a fresh table;
 * the ratio uses their mean.
 *
 * The owners of the rows exist: the mapping also reads a users export
 * holding every owner (written by the generator, pulled before the timed
 * load), so owner links resolve. With --dangling there is none, and every
 * row lands with a dangling_link field problem on owner_id.
 *
 * The pull runs in a child process (bench/pull-run.ts), so its peak
 * RSS is its own; the server's processes are sampled every 200 ms (the sum
 * of their private memory, RssAnon, and the largest single backend).
 *
 *   npm run bench:files
 *   npx tsx bench/files-load.ts --rows 100000 [--seed 7] [--dangling]
 */
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { watch as applyCurrentMigration } from 'graphile-migrate';
import { connect, ensureDatabaseExists, migrationSettings, prepareDatabase, PROJECT_ROOT, releaseMigrationPools } from '../src/db/database.ts';
import { startThrowawayCluster, urlWithDatabase } from '../src/db/embedded.ts';
import { generateOpportunitiesFile, writeOwnersUsersFile } from '../tools/generator/files.ts';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: '7' },
    dangling: { type: 'boolean', default: false },
  },
});
const ROWS = Number(args.rows);
const SEED = Number(args.seed);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const progress = (line: string) => process.stderr.write(`[bench:files] ${line}\n`);

/** Samples the private memory of the server's processes (postmaster and its children). */
function sampleServer(dataDir: string) {
  let peakSum = 0;
  let peakOne = 0;
  let postmaster = 0;
  const kb = (status: string, key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
  const tick = async () => {
    if (!postmaster) postmaster = Number((await readFile(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8')).split('\n')[0]);
    let sum = 0;
    for (const pid of await readdir('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const status = await readFile(`/proc/${pid}/status`, 'utf8');
        const ppid = Number(/PPid:\s+(\d+)/.exec(status)?.[1]);
        if (Number(pid) !== postmaster && ppid !== postmaster) continue;
        const anon = kb(status, 'RssAnon');
        sum += anon;
        peakOne = Math.max(peakOne, anon);
      } catch {
        // gone meanwhile
      }
    }
    peakSum = Math.max(peakSum, sum);
  };
  let running = true;
  const loop = (async () => {
    while (running) {
      await tick().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { peakSumMb: peakSum / 1024, peakOneMb: peakOne / 1024 };
    },
  };
}

interface RunResult {
  wallMs: number;
  maxRssKb: number;
  run: Record<string, string>;
  tables: Array<Record<string, number | string>>;
  timings: Array<Record<string, number | string>>;
}
async function pullInChild(url: string, mapping: string, tables: string[]): Promise<RunResult> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'bench', 'pull-run.ts'), JSON.stringify({ url, mapping, tables })], {
    cwd: PROJECT_ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as RunResult;
}

const server = await startThrowawayCluster();
const dir = await mkdtemp(path.join(os.tmpdir(), 'airlift-files-load-'));
try {
  progress(`generating ${fmt(ROWS)} rows (seed ${SEED})`);
  const csv = await generateOpportunitiesFile({ rows: ROWS, out: path.join(dir, 'opportunities.csv'), seed: SEED });
  const users = args.dangling ? 0 : await writeOwnersUsersFile(path.join(dir, 'users.json'), SEED);
  const example = JSON.parse(await readFile(path.join(PROJECT_ROOT, 'examples', 'wallet-app', 'mapping.json'), 'utf8'));
  const pick = (entity: string) => example.tables.find((t: { entity: string }) => t.entity === entity);
  const mappingFile = path.join(dir, 'mapping.json');
  await writeFile(mappingFile, JSON.stringify({
    version: 1,
    description: 'bench:files: the wallet example\'s users and opportunities mappings over generated exports',
    source: { kind: 'files', path: '.' },
    tables: [...(users ? [pick('wallet_users')] : []), pick('wallet_opportunities')],
  }, null, 2));

  progress('migrating a fresh database');
  await ensureDatabaseExists(server.rootUrl, 'bench_files');
  const url = urlWithDatabase(server.rootUrl, 'bench_files');
  const target = { databaseUrl: url, rootUrl: url };
  await prepareDatabase(target);
  try {
    // work in progress: migrations/current.sql on top (a no-op once committed)
    await applyCurrentMigration(await migrationSettings(target), true);
  } finally {
    await releaseMigrationPools();
  }
  const root = connect(url, { max: 1 });
  const [settings] = await root<{ version: string; shared_buffers: string }[]>`
    select current_setting('server_version') as version, current_setting('shared_buffers') as shared_buffers`;

  if (users) {
    progress(`pulling the ${fmt(users)} owners (users.json), not timed`);
    await pullInChild(url, mappingFile, ['wallet_users']);
  }

  // ---- baselines ---------------------------------------------------------
  await root.unsafe(`create schema bench`);
  const baseline = async (label: string, audited: boolean): Promise<number> => {
    await root.unsafe(`drop table if exists bench.opportunities_copy`);
    await root.unsafe(`create table bench.opportunities_copy (like wallet_app.opportunities including all)`);
    await root.unsafe(`alter table bench.opportunities_copy alter owner_id type text, alter tags drop default, alter tags type text`);
    if (audited) await root.unsafe(`select audit.enable_for('bench.opportunities_copy')`);
    await root.unsafe(`checkpoint`);
    const started = performance.now();
    const writable = await root.unsafe(
      `copy bench.opportunities_copy (source_id, title, owner_id, amount, currency, status, opens_on, closes_on, tags) from stdin (format csv, header, force_not_null (tags))`,
    ).writable();
    await pipeline(createReadStream(csv.path, { highWaterMark: 1024 * 1024 }), writable);
    const ms = performance.now() - started;
    const [{ n }] = await root<{ n: string }[]>`select count(*)::text as n from bench.opportunities_copy`;
    if (Number(n) !== ROWS) throw new Error(`baseline ${label} copied ${n} rows, expected ${ROWS}`);
    progress(`baseline ${label}: ${secs(ms)}`);
    return ms;
  };
  const copyA1 = await baseline('A (plain COPY)', false);
  const copyB1 = await baseline('B (COPY + audit triggers)', true);
  await root.unsafe(`drop table bench.opportunities_copy`);
  await root.unsafe(`delete from audit.changes where table_name = 'opportunities_copy'`).catch(() => undefined);
  await root.unsafe(`checkpoint`);

  // ---- the pipeline --------------------------------------------------------
  progress('the pull of the opportunities (child process)');
  const sampler = sampleServer(server.dataDir);
  const pulled = await pullInChild(url, mappingFile, ['wallet_opportunities']);
  const serverMem = await sampler.stop();
  await root.unsafe(`checkpoint`);

  const copyA2 = await baseline('A again (plain COPY)', false);
  const copyB2 = await baseline('B again (COPY + audit triggers)', true);
  const copyA = (copyA1 + copyA2) / 2;
  const copyB = (copyB1 + copyB2) / 2;

  const [landed] = await root<{ rows: string; linked: string; problems: string; id_map: string }[]>`
    select (select count(*) from wallet_app.opportunities where deleted_at is null)::text as rows,
           (select count(*) from wallet_app.opportunities where owner_id is not null)::text as linked,
           (select count(*) from sync.field_problems where entity = 'wallet_opportunities' and resolved_at is null)::text as problems,
           (select count(*) from sync.id_map where entity_type = 'wallet_opportunities')::text as id_map`;
  // what the run wrote to the audit trail, per table: the cost the audit adds
  const audited = await root<{ table_name: string; n: string }[]>`
    select table_name, count(*)::text as n from audit.changes where run_id = ${pulled.run.id} group by table_name order by count(*) desc, table_name`;
  await root.end();

  const t = pulled.tables[0]!;
  const timing = pulled.timings.find((x) => x.entity === 'wallet_opportunities') ?? {};
  const out = [
    ``,
    `bench:files: load of ${fmt(ROWS)} opportunities (CSV, ${(csv.bytes / 1048576).toFixed(0)} MB) into wallet_app.opportunities, PostgreSQL ${settings!.version}, shared_buffers ${settings!.shared_buffers}, ${os.cpus().length} cores`,
    `  owners: ${users ? `${fmt(users)} users pulled first (users.json), so owner links resolve` : 'none exist (--dangling): every owner is a dangling_link field problem'}`,
    `  pipeline (runPull, FilesSource, full pull, child process): ${secs(pulled.wallMs)}`,
    `    fetched ${fmt(Number(t.fetched))}, inserted ${fmt(Number(t.inserted))}, updated ${fmt(Number(t.updated))}, unchanged ${fmt(Number(t.unchanged))}, quarantined ${fmt(Number(t.quarantined))}, landed with problems ${fmt(Number(t.withProblems))}`,
    `    in the target: ${fmt(Number(landed!.rows))} rows, ${fmt(Number(landed!.linked))} with their owner linked, ${fmt(Number(landed!.id_map))} in the id map, ${fmt(Number(landed!.problems))} open field problems`,
    `    audit rows written by the run: ${audited.map((a) => `${a.table_name} ${fmt(Number(a.n))}`).join(', ')}`,
    `    phases: ${Object.entries(timing).filter(([k]) => k.endsWith('_ms')).map(([k, v]) => `${k.replace(/_ms$/, '')} ${secs(Number(v))}`).join(', ')}`,
    `  baseline A: COPY ... FROM STDIN (format csv, header, force_not_null (tags)) into bench.opportunities_copy (like wallet_app.opportunities including all; owner_id, tags as text; no triggers): ${secs(copyA1)} before, ${secs(copyA2)} after, mean ${secs(copyA)}`,
    `  baseline B: the same with the target's statement-level audit triggers: ${secs(copyB1)} before, ${secs(copyB2)} after, mean ${secs(copyB)}`,
    `  => ratio COPY / pipeline: ${((100 * copyA) / pulled.wallMs).toFixed(1)}% against A (target: at least 50%), ${((100 * copyB) / pulled.wallMs).toFixed(1)}% against B`,
    `  peak RSS of the pulling process: ${(pulled.maxRssKb / 1024).toFixed(0)} MB (target: under 200 MB)`,
    `  server, private memory (RssAnon) sampled every 200 ms: peak sum over its processes ${serverMem.peakSumMb.toFixed(0)} MB, largest single process ${serverMem.peakOneMb.toFixed(0)} MB (shared_buffers ${settings!.shared_buffers} not included)`,
  ];
  process.stdout.write(out.join('\n') + '\n');
} finally {
  await rm(dir, { recursive: true, force: true });
  await server.stop();
}
