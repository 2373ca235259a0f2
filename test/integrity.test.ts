/**
 * Proof of integrity end to end, as a user runs it: a messy base pulled
 * from the emulator verifies with exactly its quarantine listed; changes
 * planted in PostgreSQL are reported exactly (record, field, both values),
 * in JSON and in Markdown and HTML reports, with exit code 1; a run rolled
 * back brings the table checksums back to those from before it, and a
 * rollback over later changes is refused naming the row unless forced.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVerify, type VerifyResult } from '../src/integrity/verify.ts';
import { runAirlift } from './support/cli.ts';
import { syncBed, type SyncBed } from './support/sync.ts';

/** A verification's entities without what differs between runs of the same data: timings and the number of key ranges. */
const strip = (r: VerifyResult) => r.entities.map((e) => ({
  ...e,
  checks: e.checks.map(({ execution_time_ms: _t, validation_criteria: { key_ranges: _k, ...criteria }, ...c }) => ({ ...c, criteria })),
  validation: e.validation.map(({ execution_time_ms: _t, ...c }) => c),
}));

describe('verify and rollback', () => {
  let bed: SyncBed;
  let env: NodeJS.ProcessEnv;
  let reportDir: string;
  beforeAll(async () => {
    bed = await syncBed({ seed: 83, registrations: 300, messiness: 0.04 });
    env = { DATABASE_URL: bed.db.url };
    reportDir = await mkdtemp(path.join(os.tmpdir(), 'airlift-report-'));
    await bed.pull('full');
  });
  afterAll(async () => bed?.close());

  const tableChecksums = async () =>
    bed.admin<{ entity: string; target_checksum: string }[]>`
      select m.entity, c.target_checksum from sync.entity_mappings m cross join lateral sync.entity_checksums(m.entity) c order by m.entity`;

  // the source's own disagreements that the relationship check reports on the
  // app rows (a registration's client that is not its product's: planted)
  let sourceMismatches = 0;

  it('a faithful pull verifies clean, records with problems landed and equal to their source, listing exactly the quarantined records', async () => {
    const result = await runAirlift(['verify', '--json'], env);
    const report = JSON.parse(result.stdout);
    const relationship = report.entities.flatMap((e: { checks: Array<{ validation_type: string; discrepancy_details: Array<{ record: string; rule_id?: string }> }> }) =>
      e.checks.filter((c) => c.validation_type === 'relationship_integrity').flatMap((c) => c.discrepancy_details));
    const planted = new Set(bed.base.planted.filter((p) => p.kind === 'client-mismatch').map((p) => p.recordId));
    for (const d of relationship) {
      expect(d.rule_id).toBe('registrations.client_id.matches_product_client');
      expect(planted.has(d.record), `${d.record} is a planted client mismatch`).toBe(true);
    }
    sourceMismatches = relationship.length;
    expect(report.discrepancies).toBe(sourceMismatches);
    expect(result.code, result.stderr).toBe(sourceMismatches ? 1 : 0);
    // records that landed with problems are no discrepancy: they are reported as landed with problems
    const [{ flagged }] = await bed.admin<{ flagged: number }[]>`
      select count(distinct source_key)::int as flagged from sync.field_problems where resolved_at is null`;
    expect(flagged).toBeGreaterThan(0);
    expect(report.landedWithProblems.records).toBe(flagged);
    expect(report.landedWithProblems.groups.reduce((sum: number, g: { count: number }) => sum + g.count, 0)).toBeGreaterThanOrEqual(flagged);
    const text = await runAirlift(['verify'], env);
    expect(text.stdout).toContain(`Landed with problems (not discrepancies: each flagged on its field, the source value kept in sync.field_problems): ${flagged} records`);
    expect(text.stdout).toMatch(/^  [a-z_]+\.[^ ]+ [a-z_.]+: \d+ records?, (landed empty|first link kept|value kept)$/m);
    const listed = report.entities.flatMap((e: { checks: Array<{ validation_type: string; validation_criteria: { quarantined_records: string[] } }> }) =>
      e.checks.find((c) => c.validation_type === 'completeness_check')!.validation_criteria.quarantined_records);
    const quarantined = await bed.admin<{ source_key: string }[]>`
      select distinct e.source_key from sync.record_errors e join staging.source_records s on s.source_key = e.source_key
      where e.resolved_at is null order by 1`;
    expect([...listed].sort()).toEqual(quarantined.map((q) => q.source_key));
    for (const e of report.entities) expect(e.source_checksum, e.entity).toBe(e.target_checksum);
    const [{ n }] = await bed.admin<{ n: number }[]>`select count(*)::int as n from sync.validation_reports where run_id = ${report.runId}`;
    expect(n).toBe(20); // 4 tables x (3 checks + 2 validation reports)
  });

  it('reports exactly the changes planted in PostgreSQL, and exits 1', async () => {
    const [product] = await bed.admin<{ airtable_id: string; name: string }[]>`
      select airtable_id, name from app.products where deleted_at is null order by airtable_id limit 1`;
    const [registration] = await bed.admin<{ airtable_id: string }[]>`
      select airtable_id from app.registrations where deleted_at is null order by airtable_id limit 1`;
    await bed.admin`update app.products set name = 'Renamed Here' where airtable_id = ${product.airtable_id}`;
    await bed.admin`update app.registrations set deleted_at = now() where airtable_id = ${registration.airtable_id}`;
    try {
      const md = path.join(reportDir, 'verify.md');
      const result = await runAirlift(['verify', '--json', '--report', md], env);
      expect(result.code).toBe(1);
      const report = JSON.parse(result.stdout);
      const found = report.entities.flatMap((e: { entity: string; checks: Array<{ validation_type: string; discrepancy_details: Array<Record<string, unknown>> }> }) =>
        e.checks.flatMap((c) => c.discrepancy_details.map((d) => ({ entity: e.entity, check: c.validation_type, ...d }))))
        .filter((d: { check: string; rule_id?: string }) => !(d.check === 'relationship_integrity' && d.rule_id === 'registrations.client_id.matches_product_client'));
      expect(found).toEqual([
        { entity: 'products', check: 'data_integrity', record: product.airtable_id, field: 'name', source_value: product.name, value: 'Renamed Here', rule: 'target differs from source' },
        { entity: 'registrations', check: 'completeness_check', record: registration.airtable_id, field: null, value: null, rule: 'in the source but deleted in the target' },
      ]);
      const markdown = await readFile(md, 'utf8');
      expect(markdown).toContain(`**Result: failed**: ${2 + sourceMismatches} discrepancies`);
      expect(markdown).toContain(`| integrity | ${product.airtable_id} | name | ${JSON.stringify(product.name)} | "Renamed Here" | target differs from source |`);

      const html = path.join(reportDir, 'verify.html');
      const text = await runAirlift(['verify', '--report', html], env);
      expect(text.code).toBe(1);
      expect(text.stdout).toMatch(new RegExp(`Verification run #\\d+: FAILED, ${2 + sourceMismatches} discrepancies`));
      expect(text.stdout).toContain(`${product.airtable_id} [name] target differs from source: source ${JSON.stringify(product.name)}, target "Renamed Here"`);
      const page = await readFile(html, 'utf8');
      expect(page).toMatch(/^<!doctype html>/);
      expect(page).toContain(`<td>${registration.airtable_id}</td>`);
    } finally {
      await bed.admin`update app.products set name = ${product.name} where airtable_id = ${product.airtable_id}`;
      await bed.admin`update app.registrations set deleted_at = null where airtable_id = ${registration.airtable_id}`;
    }
  });

  it('verifies in key ranges: a killed verification resumes at its checkpoint and reports what one pass reports', async () => {
    const registrations = await bed.admin<{ airtable_id: string }[]>`
      select airtable_id from app.registrations where deleted_at is null order by airtable_id`;
    const edited = [5, Math.floor(registrations.length / 2), registrations.length - 5].map((i) => registrations[i]!.airtable_id);
    await bed.admin`update app.registrations set invoice_number = 'INV-RANGES' where airtable_id in ${bed.admin(edited)}`;
    try {
      const onePass = await runVerify(bed.sql, { actor: 'test', entities: ['registrations'], batchSize: 1_000_000 });
      expect(onePass.resumed).toBe(false);

      await expect(runVerify(bed.sql, { actor: 'test', entities: ['registrations'], batchSize: 100, stopAfterBatches: 2 }))
        .rejects.toThrow(/verification run #\d+ stopped before it finished/);
      const [interrupted] = await bed.admin<{ id: string; status: string; processed: number; reports: number }[]>`
        select r.id, r.status, c.records_processed::int as processed,
               (select count(*)::int from sync.validation_reports v where v.run_id = r.id) as reports
        from sync.runs r join sync.checkpoints c on c.run_id = r.id and c.operation_type = 'validation'
        where r.run_type = 'verify' order by r.id desc limit 1`;
      // two ranges, completeness and integrity each, and the relationships
      // (one pass over all keys, run alongside the ranges, finished before the run stops)
      expect(interrupted).toMatchObject({ status: 'running', processed: 200, reports: 5 });

      const resumed = await runVerify(bed.sql, { actor: 'test', entities: ['registrations'], batchSize: 100 });
      expect(resumed.runId).toBe(interrupted!.id);
      expect(resumed.resumed).toBe(true);
      expect(strip(resumed)).toEqual(strip(onePass));
      expect(resumed.discrepancies).toBe(3 + sourceMismatches);
      const integrity = resumed.entities[0]!.checks.find((c) => c.validation_type === 'data_integrity')!;
      expect(integrity.discrepancy_details.map((d) => [d.record, d.field, d.value])).toEqual([...edited].sort().map((id) => [id, 'invoice_number', 'INV-RANGES']));
      const [folded] = await bed.admin<{ ranges: number; reports: number }[]>`
        select (validation_criteria ->> 'key_ranges')::int as ranges,
               (select count(*)::int from sync.validation_reports v where v.run_id = ${resumed.runId}) as reports
        from sync.validation_reports where run_id = ${resumed.runId} and validation_type = 'completeness_check'`;
      expect(folded.ranges).toBeGreaterThan(2);
      expect(folded.reports).toBe(5); // the ranges folded into 3 checks, plus the 2 validation-rule reports
    } finally {
      await bed.admin`update app.registrations set invoice_number = null where airtable_id in ${bed.admin(edited)}`;
    }
  });

  it('plans a large table\'s ranges from statistics: no pass over the keys, each range counts its own, a killed walk resumes and reports what one pass reports', async () => {
    await bed.admin`analyze staging.source_records`;
    const [{ keys }] = await bed.admin<{ keys: number }[]>`
      select count(*)::int as keys from staging.source_records
      where source_table = (select source_table from sync.entity_mappings where entity = 'registrations')
        and run_id >= coalesce(sync.source_snapshot_run('registrations'), 0)`;
    const onePass = await runVerify(bed.sql, { actor: 'test', entities: ['registrations'], batchSize: 1_000_000 });

    // ranges of about 100 keys, planned from the statistics however small the table
    await expect(runVerify(bed.sql, { actor: 'test', entities: ['registrations'], batchSize: 100, planFromStatisticsFrom: 1, stopAfterBatches: 2 }))
      .rejects.toThrow(/verification run #\d+ stopped before it finished/);
    const [interrupted] = await bed.admin<{ id: string; processed: number; total: number; bounds: string[]; estimated: boolean; counted: number }[]>`
      select r.id, c.records_processed::int as processed, c.records_total::int as total, array(select jsonb_array_elements_text(c.metadata -> 'range_bounds')) as bounds,
             (c.metadata ->> 'estimated_total')::boolean as estimated,
             -- the keys of the first two ranges, counted here
             (select count(*)::int from staging.source_records s
              where s.source_table = (select source_table from sync.entity_mappings where entity = 'registrations')
                and s.run_id >= coalesce(sync.source_snapshot_run('registrations'), 0) and s.source_key <= c.last_processed_id) as counted
      from sync.runs r join sync.checkpoints c on c.run_id = r.id and c.operation_type = 'validation'
      where r.run_type = 'verify' order by r.id desc limit 1`;
    expect(interrupted!.estimated).toBe(true);
    expect(interrupted!.bounds.length).toBeGreaterThanOrEqual(2);
    expect(interrupted!.processed).toBe(interrupted!.counted); // the ranges' own counts
    expect(interrupted!.processed).toBeGreaterThan(0);
    expect(interrupted!.total).toBeGreaterThanOrEqual(interrupted!.processed);

    const resumed = await runVerify(bed.sql, { actor: 'test', entities: ['registrations'], batchSize: 100 });
    expect(resumed.runId).toBe(interrupted!.id);
    expect(strip(resumed)).toEqual(strip(onePass));
    const [done] = await bed.admin<{ status: string; processed: number; total: number; batches: number }[]>`
      select status, records_processed::int as processed, records_total::int as total, (metadata ->> 'batches')::int as batches
      from sync.checkpoints where run_id = ${resumed.runId} and operation_type = 'validation'`;
    // the estimate made exact by the last range: every key counted once
    expect(done).toEqual({ status: 'completed', processed: keys, total: keys, batches: interrupted!.bounds.length + 1 });
  });

  it('resumes a verification whose ranges were done out of order (one failed while a later one finished beside it): only the missing range again', async () => {
    const onePass = await runVerify(bed.sql, { actor: 'test', entities: ['registrations'], batchSize: 1_000_000 });
    await expect(runVerify(bed.sql, { actor: 'test', entities: ['registrations'], batchSize: 100, concurrency: 1, stopAfterBatches: 3 }))
      .rejects.toThrow(/verification run #\d+ stopped before it finished/);
    // the state a run leaves when range 1 failed (its transaction rolled
    // back) while range 2 finished beside it: ranges 0 and 2 done
    const [left] = await bed.admin<{ id: string; run: string; bounds: string[] }[]>`
      select id, run_id as run, array(select jsonb_array_elements_text(metadata -> 'range_bounds')) as bounds
      from sync.checkpoints where operation_type = 'validation' order by run_id desc limit 1`;
    expect(left!.bounds.length).toBeGreaterThanOrEqual(3);
    const removed = await bed.admin`delete from sync.validation_reports where run_id = ${left!.run} and validation_criteria ->> 'after_key' = ${left!.bounds[0]!} returning id`;
    expect(removed.length).toBe(2); // range 1's completeness and integrity
    await bed.admin`
      update sync.checkpoints set records_processed = records_processed - 100, last_processed_id = ${left!.bounds[0]!},
                                  metadata = metadata || '{"done_ranges": [0, 2], "batches": 2}'
      where id = ${left!.id}`;

    const ranges: number[] = [];
    const resumed = await runVerify(bed.sql, { actor: 'test', batchSize: 100, concurrency: 2, onBatch: (_entity, processed) => ranges.push(processed) });
    expect(resumed.runId).toBe(left!.run);
    expect(resumed.resumed).toBe(true);
    expect(strip(resumed)).toEqual(strip(onePass));
    expect(ranges.length).toBe(left!.bounds.length + 1 - 2); // ranges 0 and 2 not again
    const [done] = await bed.admin<{ status: string; processed: number; total: number; keys: number; done: number[]; last: string | null }[]>`
      select c.status, c.records_processed::int as processed, c.records_total::int as total, c.last_processed_id as last,
             array(select jsonb_array_elements_text(c.metadata -> 'done_ranges')::int) as done,
             (select count(*)::int from staging.source_records s
              where s.source_table = (select source_table from sync.entity_mappings where entity = 'registrations')
                and s.run_id >= coalesce(sync.source_snapshot_run('registrations'), 0)) as keys
      from sync.checkpoints c where c.id = ${left!.id}`;
    expect(done).toEqual({ status: 'completed', processed: done!.keys, total: done!.keys, keys: done!.keys, last: null,
                           done: Array.from({ length: left!.bounds.length + 1 }, (_, i) => i) });
  });

  it('runs its checks side by side and reports exactly what it reports one check at a time', async () => {
    // planted in PostgreSQL: a registration moved to another client (an
    // integrity and a relationship discrepancy) and a product renamed
    const [registration] = await bed.admin<{ airtable_id: string; client_id: string }[]>`
      select r.airtable_id, r.client_id from app.registrations r where r.deleted_at is null and r.client_id is not null order by r.airtable_id limit 1`;
    const [product] = await bed.admin<{ airtable_id: string; name: string }[]>`
      select airtable_id, name from app.products where deleted_at is null order by airtable_id limit 1`;
    await bed.admin`
      update app.registrations set client_id = (select c.id from app.clients c where c.id <> ${registration!.client_id} order by c.id limit 1)
      where airtable_id = ${registration!.airtable_id}`;
    await bed.admin`update app.products set name = 'Renamed in PostgreSQL' where airtable_id = ${product!.airtable_id}`;
    try {
      const oneAtATime = await runVerify(bed.sql, { actor: 'test', batchSize: 100, concurrency: 1 });
      const sideBySide = await runVerify(bed.sql, { actor: 'test', batchSize: 100, concurrency: 3 });
      expect(sideBySide.entities.map((e) => e.entity)).toEqual(oneAtATime.entities.map((e) => e.entity));
      expect(strip(sideBySide)).toEqual(strip(oneAtATime));
      const findings = (r: VerifyResult) => r.entities.flatMap((e) => e.checks.flatMap((c) => c.discrepancy_details.map((d) => `${c.validation_type} ${d.record} ${d.field ?? ''}`)));
      expect(findings(sideBySide).sort()).toEqual(findings(oneAtATime).sort());
      // several ranges of a table at once, each counted once in its checkpoint
      const checkpoints = await bed.admin<{ entity: string; status: string; processed: number; keys: number; ranges: number; done: number }[]>`
        select c.entity_type as entity, c.status, c.records_processed::int as processed,
               jsonb_array_length(c.metadata -> 'range_bounds') + 1 as ranges, jsonb_array_length(c.metadata -> 'done_ranges') as done,
               (select count(*)::int from staging.source_records s
                where s.source_table = (select m.source_table from sync.entity_mappings m where m.entity = c.entity_type)
                  and s.run_id >= coalesce(sync.source_snapshot_run(c.entity_type), 0)) as keys
        from sync.checkpoints c where c.run_id = ${sideBySide.runId} and c.operation_type = 'validation' order by c.entity_type`;
      expect(checkpoints.map((c) => c.entity)).toEqual([...oneAtATime.entities.map((e) => e.entity)].sort());
      expect(Math.max(...checkpoints.map((c) => c.ranges))).toBeGreaterThan(3);
      for (const c of checkpoints) expect(c).toEqual({ entity: c.entity, status: 'completed', processed: c.keys, keys: c.keys, ranges: c.ranges, done: c.ranges });
      expect(findings(sideBySide)).toEqual(expect.arrayContaining([
        `data_integrity ${registration!.airtable_id} client_id`,
        `relationship_integrity ${registration!.airtable_id} client_id`,
        `data_integrity ${product!.airtable_id} name`,
      ]));
    } finally {
      await bed.admin`update app.registrations set client_id = ${registration!.client_id} where airtable_id = ${registration!.airtable_id}`;
      await bed.admin`update app.products set name = ${product!.name} where airtable_id = ${product!.airtable_id}`;
    }
  });

  it('rolls a run back to the checksums from before it, refusing first when a row changed since', async () => {
    const before = await tableChecksums();
    const regs = bed.emulator.base(bed.baseId).table('Registrations');
    const clients = bed.emulator.base(bed.baseId).table('Clients');
    const all = regs.list();
    for (const r of all.slice(0, 4)) regs.update(r.id, { 'Invoice Number': `INV-RB-${r.id.slice(-4)}` });
    const created = clients.create({ 'Client Name': 'Rollback Test Co' });
    const run = await bed.pull('incremental');
    expect(Number(run.run.updated)).toBe(4);
    expect(Number(run.run.inserted)).toBe(1);
    expect(await tableChecksums()).not.toEqual(before);

    // a user changes one of the rows the run updated
    await bed.admin`update app.registrations set notes = 'checked by hand' where airtable_id = ${all[0].id}`;
    const refused = await runAirlift(['rollback', '--run', String(run.run.id)], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`run ${run.run.id} cannot be rolled back: 1 row(s) it changed were changed again since`);
    expect(refused.stderr).toMatch(/app\.registrations [0-9a-f-]{36} \(changed by /);
    const [still] = await bed.admin<{ status: string }[]>`select status from sync.runs where id = ${run.run.id}`;
    expect(still.status).toBe('completed');

    const forced = await runAirlift(['rollback', '--run', String(run.run.id), '--force'], env);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain('app.registrations: 0 rows removed, 4 rows restored');
    expect(forced.stdout).toContain('app.clients: 1 rows removed, 0 rows restored');
    expect(await tableChecksums()).toEqual(before);
    const [gone] = await bed.admin<{ n: number }[]>`select count(*)::int as n from app.clients where airtable_id = ${created.id}`;
    expect(gone.n).toBe(0);
    const [marked] = await bed.admin<{ status: string; by: string }[]>`
      select status, metadata ->> 'rolled_back_by_run' as by from sync.runs where id = ${run.run.id}`;
    expect(marked.status).toBe('rolled_back');
    const [audited] = await bed.admin<{ n: number }[]>`select count(*)::int as n from audit.changes where run_id = ${marked.by}::bigint and table_name like 'app.%'`;
    expect(audited.n).toBe(5);

    const again = await runAirlift(['rollback', '--run', String(run.run.id)], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`run ${run.run.id} is rolled_back`);
  });

  it('refuses to roll back a run whose new rows later rows link to, naming them; forced, it empties those links and a full pull links them again', async () => {
    const base = bed.emulator.base(bed.baseId);
    const [client] = base.table('Clients').list();
    const [regulator] = base.table('State Regulators').list();
    const product = base.table('Products').create({ 'Product Name': 'Rollback Parent Product', Client: [client!.id] });
    const parentRun = await bed.pull('incremental');
    const registration = base.table('Registrations').create({ Product: [product.id], Client: [client!.id], 'State Regulator': [regulator!.id] });
    const childRun = await bed.pull('incremental');
    const [{ product_row, product_run, registration_run }] = await bed.admin<{ product_row: string; product_run: string; registration_run: string }[]>`
      select p.id::text as product_row,
             (select m.migration_batch::text from sync.id_map m where m.legacy_id = ${product.id}) as product_run,
             (select m.migration_batch::text from sync.id_map m where m.legacy_id = ${registration.id}) as registration_run
      from app.products p where p.airtable_id = ${product.id}`;
    expect([product_run, registration_run]).toEqual([String(parentRun.run.id), String(childRun.run.id)]);

    const refused = await runAirlift(['rollback', '--run', String(parentRun.run.id)], env);
    expect(refused.code).toBe(1);
    // linking the registration also changed the product and client in Airtable (their inverse links), so run B changed them too
    expect(refused.stderr).toMatch(new RegExp(`run ${parentRun.run.id} cannot be rolled back: \\d+ row\\(s\\) it changed were changed again since; 1 link\\(s\\) from rows added or changed since point to rows it inserted`));
    expect(refused.stderr).toContain(`app.products ${product_row} (changed by test in run ${childRun.run.id} at `);
    expect(refused.stderr).toMatch(new RegExp(`app\\.registrations [0-9a-f-]{36} \\(${registration.id}\\) links through product_id to app\\.products ${product_row}, which the rollback removes \\(linked by test in run ${childRun.run.id} at `));
    const [kept] = await bed.admin<{ n: number }[]>`select count(*)::int as n from app.products where airtable_id = ${product.id}`;
    expect(kept.n).toBe(1);

    const forced = await runAirlift(['rollback', '--run', String(parentRun.run.id), '--force'], env);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(/app\.registrations: 0 rows removed, \d+ rows restored, 1 links to removed rows emptied/);
    expect(forced.stdout).toMatch(/app\.products: 1 rows removed, \d+ rows restored\n/);
    const [child] = await bed.admin<{ product_id: string | null; client_id: string | null }[]>`
      select product_id, client_id from app.registrations where airtable_id = ${registration.id}`;
    expect(child).toEqual({ product_id: null, client_id: expect.any(String) });
    const [audited] = await bed.admin<{ op: string; old_product: string; new_product: string | null }[]>`
      select c.op, c.old_values ->> 'product_id' as old_product, c.new_values ->> 'product_id' as new_product
      from audit.changes c join sync.runs r on r.id = c.run_id
      where r.metadata ->> 'rolls_back' = ${String(parentRun.run.id)} and c.table_name = 'app.registrations'`;
    expect(audited).toEqual({ op: 'UPDATE', old_product: product_row, new_product: null });

    // the next full pull merges the product again (still staged) and links the registration to it
    await bed.pull('full');
    const [relinked] = await bed.admin<{ product: string }[]>`
      select p.airtable_id as product from app.registrations r join app.products p on p.id = r.product_id where r.airtable_id = ${registration.id}`;
    expect(relinked?.product).toBe(product.id);
  });
});
