/**
 * Links resolved once their target appears (issue 15): 200,000
 * registrations merged while 1% of the products they link to are not merged
 * yet (those registrations land with the product empty and a dangling_link
 * problem); then a later run merges the missing products, and the final
 * merge of registrations resolves the links, set-based, in one statement for
 * the table (sync.resolve_dangling_links), without a registration being
 * staged again. Prints the resolution's time against a baseline measured in
 * the same run on the same data: a plain UPDATE that sets the same foreign
 * keys by a join on the Airtable id (no problems closed, no counts, no
 * audit), and the cost of a final merge with no dangling link left.
 *
 *   npm run bench:links
 *   npx tsx bench/link-resolution.ts --records 200000 --missing 0.01 --reps 3
 *
 * The data is made set-based in SQL (bench/generators.ts), staged with the
 * real sync.stage_page and merged with the real sync.merge_entity; the
 * uncommitted migrations/current.sql is applied on top of the committed
 * migrations (a no-op once committed). Figures are printed, not asserted.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { watch as applyCurrentMigration } from 'graphile-migrate';
import { connect, ensureDatabaseExists, MIGRATIONS_FOLDER, migrationSettings, prepareDatabase, releaseMigrationPools } from '../src/db/database.ts';
import { startThrowawayCluster, urlWithDatabase } from '../src/db/embedded.ts';
import { loadMapping } from '../src/mapping.ts';
import { urlWithSession } from '../src/pipeline/context.ts';
import { GENERATORS, writeMapping } from './generators.ts';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '200000' },
    missing: { type: 'string', default: '0.01' },
    reps: { type: 'string', default: '3' },
  },
});
const RECORDS = Number(args.records);
const MISSING = Number(args.missing);
const REPS = Number(args.reps);
if (!Number.isInteger(RECORDS) || RECORDS < 1000) throw new Error(`--records must be a whole number of at least 1,000, got ${args.records}`);
if (!(MISSING > 0 && MISSING < 0.5)) throw new Error(`--missing must be a share between 0 and 0.5, got ${args.missing}`);
if (!Number.isInteger(REPS) || REPS < 1) throw new Error(`--reps must be a positive whole number, got ${args.reps}`);
const CLIENTS = Math.max(20, Math.round(RECORDS / 150));
const PRODUCTS = Math.max(20, Math.round(RECORDS / 15));
// the products left out of the first run: every k-th, about MISSING of them
const EVERY = Math.max(2, Math.round(1 / MISSING));
const PAGE = 10_000;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const timed = async <T>(fn: () => Promise<T>): Promise<[number, T]> => {
  const t = performance.now();
  const result = await fn();
  return [performance.now() - t, result];
};

const server = await startThrowawayCluster();
const pools: Array<ReturnType<typeof connect>> = [];
try {
  const template = urlWithDatabase(server.rootUrl, 'bench_links_template');
  await ensureDatabaseExists(server.rootUrl, 'bench_links_template');
  await prepareDatabase({ databaseUrl: template, rootUrl: template });
  const current = await readFile(path.join(MIGRATIONS_FOLDER, 'current.sql'), 'utf8');
  if (current.replace(/\/\*[\s\S]*?\*\//g, '').replace(/--.*$/gm, '').trim() !== '') {
    try {
      await applyCurrentMigration(await migrationSettings({ databaseUrl: template, rootUrl: template }), true);
    } finally {
      await releaseMigrationPools();
    }
  }
  const mapping = await loadMapping();

  // One database with the first run merged (1% of the products missing),
  // cloned for each repetition so that every one resolves the same links.
  {
    const root = connect(template, { max: 2 });
    const sync = connect(urlWithSession(template, 'airlift_sync', { 'airlift.actor': 'bench' }), { max: 2 });
    try {
      await root.unsafe(GENERATORS);
      await writeMapping(sync, mapping, 'appBenchLinks00001');
      const [run] = await sync<{ id: string }[]>`insert into sync.runs (run_type, status, actor) values ('full', 'running', 'bench') returning id`;
      const sources: Record<string, string> = {
        clients: `bench.clients(1, ${CLIENTS}) p`,
        state_regulators: 'bench.regulators(1, 51) p',
        products: `bench.products(1, ${PRODUCTS}, ${CLIENTS}) p where (p ->> 'id') not in (select bench.rid('product', i) from generate_series(${EVERY}, ${PRODUCTS}, ${EVERY}) i)`,
      };
      const started = performance.now();
      for (const t of mapping.mergeOrder) {
        await sync`insert into sync.checkpoints (run_id, operation_type, entity_type, status) values (${run.id}, 'sync_operation', ${t.entity}, 'in_progress')`;
        if (t.entity === 'registrations') {
          for (let from = 1; from <= RECORDS; from += PAGE) {
            const to = Math.min(RECORDS, from + PAGE - 1);
            await root.unsafe(`select sync.stage_page(${run.id}, 'registrations', (select jsonb_agg(r) from bench.registrations(${from}, ${to}, ${PRODUCTS}, ${CLIENTS}) r), '[]', true, null)`);
            if (to % 100_000 === 0 && to < RECORDS) await sync`select sync.merge_entity(${run.id}, 'registrations', false)`;
          }
        } else {
          await root.unsafe(`select sync.stage_page(${run.id}, '${t.entity}', (select jsonb_agg(p) from ${sources[t.entity]}), '[]', true, null)`);
        }
        await sync`select sync.merge_entity(${run.id}, ${t.entity}, true)`;
        await sync`update sync.checkpoints set status = 'completed', completed_at = now() where run_id = ${run.id} and entity_type = ${t.entity}`;
      }
      await sync`select sync.finish_run(${run.id})`;
      await root`vacuum (analyze) app.registrations, app.products, sync.field_problems, staging.source_records, sync.target_checksums`;
      const [{ dangling, registrations }] = await root<{ dangling: number; registrations: number }[]>`
        select (select count(*)::int from sync.field_problems where rule = 'dangling_link' and resolved_at is null) as dangling,
               (select count(*)::int from app.registrations) as registrations`;
      console.log(`Set up in ${((performance.now() - started) / 1000).toFixed(0)} s: ${fmt(registrations)} registrations merged, ${fmt(dangling)} of them (${(100 * dangling / registrations).toFixed(2)}%) `
        + `with a dangling product link (1 in ${EVERY} of the ${fmt(PRODUCTS)} products left out of the first run)`);
    } finally {
      await sync.end();
      await root.end();
    }
  }

  const resolution: number[] = [];
  const baseline: number[] = [];
  const idle: number[] = [];
  let resolved = 0;
  for (let rep = 1; rep <= REPS; rep++) {
    for (const [name, kind] of [[`bench_links_${rep}`, 'resolve'], [`bench_links_${rep}_baseline`, 'baseline']] as const) {
      const admin = connect(server.rootUrl, { max: 1 });
      await admin.unsafe(`create database ${name} template bench_links_template`);
      await admin.end();
      const url = urlWithDatabase(server.rootUrl, name);
      const root = connect(url, { max: 1 });
      const sync = connect(urlWithSession(url, 'airlift_sync', { 'airlift.actor': 'bench' }), { max: 1 });
      pools.push(root, sync);
      // the second run: the missing products arrive and are merged
      const [run] = await sync<{ id: string }[]>`insert into sync.runs (run_type, status, actor) values ('incremental', 'running', 'bench') returning id`;
      await sync`insert into sync.checkpoints (run_id, operation_type, entity_type, status) values (${run.id}, 'sync_operation', 'products', 'in_progress'), (${run.id}, 'sync_operation', 'registrations', 'in_progress')`;
      await root.unsafe(`select sync.stage_page(${run.id}, 'products', (select jsonb_agg(p) from bench.products(1, ${PRODUCTS}, ${CLIENTS}) p
                           where (p ->> 'id') in (select bench.rid('product', i) from generate_series(${EVERY}, ${PRODUCTS}, ${EVERY}) i)), '[]', false, null)`);
      await sync`select sync.merge_entity(${run.id}, 'products', true)`;
      await root`analyze app.products`;
      if (kind === 'resolve') {
        // the registrations' final merge: nothing staged for them, the links resolved
        const [ms, [{ relinked }]] = await timed(() => sync<{ relinked: number }[]>`
          select sync.resolve_dangling_links(${run.id}, 'registrations')::int as relinked`);
        resolution.push(ms);
        resolved = relinked;
        const [idleMs] = await timed(() => sync`select sync.merge_entity(${run.id}, 'registrations', true)`);
        idle.push(idleMs);
        const [{ open }] = await root<{ open: number }[]>`select count(*)::int as open from sync.field_problems where rule = 'dangling_link' and resolved_at is null`;
        if (open !== 0) throw new Error(`${open} dangling links left open after the resolution`);
      } else {
        // baseline: the same foreign keys set by a plain join, as a sync
        // write (the run set, so the row triggers are those of the sync:
        // audit and target checksums, no change capture); nothing else
        const [ms] = await timed(() => root.begin(async (tx) => {
          await tx`select set_config('airlift.run_id', ${run.id}::text, true)`;
          await tx`
            update app.registrations r set product_id = p.id
            from sync.field_problems fp join app.products p on p.airtable_id = fp.link_key
            where fp.rule = 'dangling_link' and fp.resolved_at is null and fp.column_name = 'product_id' and r.airtable_id = fp.source_key`;
        }));
        baseline.push(ms);
      }
    }
  }
  const r = median(resolution);
  const b = median(baseline);
  console.log(`\n| ${fmt(RECORDS)} registrations, ${fmt(resolved)} links resolved | median of ${REPS} | ratio |`);
  console.log('|---|---|---|');
  console.log(`| baseline: a plain UPDATE of the same foreign keys by a join on the Airtable id (as a sync write: audit and checksum triggers, no capture) | ${fmt(b)} ms | 1.00x |`);
  console.log(`| sync.resolve_dangling_links: problems closed, foreign keys and counts set, audited, target checksums rebuilt, one statement | ${fmt(r)} ms | ${(r / b).toFixed(2)}x |`);
  console.log(`| the registrations' final merge after that (nothing staged, nothing left to resolve) | ${fmt(median(idle))} ms | |`);
  console.log(`\nall repetitions: resolution ${resolution.map(fmt).join(', ')} ms; baseline ${baseline.map(fmt).join(', ')} ms`);
} finally {
  for (const pool of pools) await pool.end();
  await server.stop();
}
