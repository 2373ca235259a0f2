/**
 * Differentials end to end, through the CLI against the emulator: after a
 * faithful pull nothing differs; edits, creates and deletes made in Airtable
 * and in PostgreSQL are reported exactly (missing, conflicted, deleted, with
 * the differing fields); --resolve with source_wins brings the target to the
 * source, audited, and a new diff finds nothing; a differential killed
 * between key ranges resumes from its checkpoint and finds the same.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDiff } from '../src/integrity/diff.ts';
import { runAirlift } from './support/cli.ts';
import { syncBed, type SyncBed } from './support/sync.ts';

interface DiffJson {
  runId: string;
  differences: number;
  unresolved: number;
  entities: Array<{ entity: string; batches: number; differences: Record<string, string[]>; fields: Record<string, Record<string, { source: unknown; target: unknown }>> }>;
}

describe('airlift diff', () => {
  let bed: SyncBed;
  let env: NodeJS.ProcessEnv;
  const table = (name: string) => bed.emulator.base(bed.baseId).table(bed.base.tables.find((t) => t.name === name)!.id);
  const diff = async (...args: string[]) => {
    const result = await runAirlift(['diff', '--json', ...args], env);
    expect(result.stderr).not.toMatch(/failed/i);
    return { code: result.code, json: JSON.parse(result.stdout) as DiffJson };
  };
  const ids = (d: DiffJson, entity: string, type: string) => d.entities.find((e) => e.entity === entity)!.differences[type];

  beforeAll(async () => {
    bed = await syncBed({ seed: 29, registrations: 400, messiness: 0.03 });
    env = { DATABASE_URL: bed.db.url, AIRTABLE_TOKEN: bed.emulator.token, AIRTABLE_BASE_ID: bed.baseId, AIRTABLE_ENDPOINT_URL: bed.emulator.url, AIRTABLE_RPS: '100' };
    await bed.pull('full');
  });
  afterAll(async () => bed?.close());

  it('finds nothing after a faithful pull, quarantine left out', async () => {
    const { code, json } = await diff();
    expect(json.differences).toBe(0);
    expect(code).toBe(0);
  });

  it('counts what the source snapshot read: every record staged, none merged', async () => {
    const counts = bed.tableCounts();
    const records = Object.values(counts).reduce((n, c) => n + c, 0);
    const [snapshot] = await bed.admin<{ id: string; fetched: number; staged: number; merged: number; quarantined: number }[]>`
      select id::text, fetched::int, staged::int, (inserted + updated + unchanged)::int as merged, quarantined::int
      from sync.runs where metadata ->> 'stage_only' = 'true' and status = 'completed' order by id desc limit 1`;
    expect(snapshot).toEqual({ id: expect.any(String), fetched: records, staged: records, merged: 0, quarantined: 0 });
    const perTable = await bed.admin<{ table_name: string; staged: number }[]>`
      select m.table_name, (c.metadata ->> 'staged')::int as staged
      from sync.checkpoints c join sync.entity_mappings m on m.entity = c.entity_type
      where c.run_id = ${snapshot!.id} and c.operation_type = 'sync_operation' order by m.table_name`;
    expect(Object.fromEntries(perTable.map((t) => [t.table_name, t.staged]))).toEqual(counts);

    const status = await runAirlift(['status'], env);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain(`#${snapshot!.id} full completed`);
    expect(status.stdout).toMatch(new RegExp(`#${snapshot!.id} full completed \\S+ fetched ${records} \\(\\+0 ~0 =0 -0 !0 \\^${records} staged, not merged\\)`));
  });

  it('reports exactly the edits, creates and deletes made on both sides', async () => {
    const live = (t: string) => bed.admin<{ airtable_id: string }[]>`
      select t.airtable_id from ${bed.admin(t)} t
      where t.deleted_at is null and not exists (select from sync.record_errors e where e.source_key = t.airtable_id and e.resolved_at is null)
      order by t.airtable_id`;
    const [p1, p3, p4] = (await live('app.products')).map((r) => r.airtable_id);
    const [rA, rB] = (await live('app.registrations')).map((r) => r.airtable_id);
    // Airtable: a product renamed, a product created, a registration deleted
    table('Products').update(p1!, { 'Product Name': 'Renamed In Airtable' });
    const created = table('Products').create({ 'Product Name': 'Created In Airtable' });
    table('Registrations').delete(rA!);
    // PostgreSQL: a product renamed, a product soft-deleted, a registration deleted outright
    await bed.admin`update app.products set name = 'Renamed In PostgreSQL' where airtable_id = ${p3!}`;
    await bed.admin`update app.products set deleted_at = now() where airtable_id = ${p4!}`;
    await bed.admin`delete from app.attachments where registration_id = (select id from app.registrations where airtable_id = ${rB!})`;
    await bed.admin`delete from app.registrations where airtable_id = ${rB!}`;

    const { code, json } = await diff('--table', 'products', 'registrations');
    expect(code).toBe(1);
    expect(ids(json, 'products', 'conflicted_records')).toEqual([p1, p3].sort());
    expect(ids(json, 'products', 'missing_records')).toEqual([created.id, p4].sort());
    expect(ids(json, 'products', 'deleted_records')).toEqual([]);
    expect(ids(json, 'registrations', 'conflicted_records')).toEqual([]);
    expect(ids(json, 'registrations', 'missing_records')).toEqual([rB]);
    expect(ids(json, 'registrations', 'deleted_records')).toEqual([rA]);
    const fields = json.entities.find((e) => e.entity === 'products')!.fields;
    // Airtable's Last Modified moved with the rename
    expect(Object.keys(fields[p1!]!).sort()).toEqual(['airtable_modified_at', 'name']);
    expect(fields[p1!]!.name!.source).toBe('Renamed In Airtable');
    expect(fields[p3!]).toEqual({ name: { source: expect.any(String), target: 'Renamed In PostgreSQL' } });
    // each type found is stored in sync.data_differentials under the run
    const stored = await bed.admin<{ target_table: string; comparison_type: string; record_count: number; resolved: boolean }[]>`
      select target_table, comparison_type, record_count, resolved from sync.data_differentials where run_id = ${json.runId}
      order by target_table, comparison_type`;
    expect(stored).toEqual([
      { target_table: 'app.products', comparison_type: 'conflicted_records', record_count: 2, resolved: false },
      { target_table: 'app.products', comparison_type: 'missing_records', record_count: 2, resolved: false },
      { target_table: 'app.registrations', comparison_type: 'deleted_records', record_count: 1, resolved: false },
      { target_table: 'app.registrations', comparison_type: 'missing_records', record_count: 1, resolved: false },
    ]);

    // a snapshot merges nothing: the target is as it was
    const [{ name }] = await bed.admin<{ name: string }[]>`select name from app.products where airtable_id = ${p1!}`;
    expect(name).not.toBe('Renamed In Airtable');
  });

  it('--resolve with source_wins brings the target to the source, audited, and a new diff finds nothing', async () => {
    const { code, json } = await diff('--table', 'products', 'registrations', '--offline', '--resolve');
    expect(code).toBe(0);
    expect(json.unresolved).toBe(0);
    const resolved = await bed.admin<{ n: number }[]>`
      select count(*)::int as n from sync.data_differentials where run_id = ${json.runId} and resolved and resolution_strategy = 'source_wins'`;
    expect(resolved[0]!.n).toBe(4);
    const audited = await bed.admin<{ table_name: string; op: string; n: number }[]>`
      select table_name, op, count(*)::int as n from audit.changes
      where run_id = ${json.runId} and table_name in ('app.products', 'app.registrations') group by 1, 2 order by 1, 2`;
    // products: the created one inserted; two renames and a soft delete undone. registrations: one re-inserted, one soft-deleted
    expect(audited).toEqual([
      { table_name: 'app.products', op: 'INSERT', n: 1 },
      { table_name: 'app.products', op: 'UPDATE', n: 3 },
      { table_name: 'app.registrations', op: 'INSERT', n: 1 },
      { table_name: 'app.registrations', op: 'UPDATE', n: 1 },
    ]);
    expect(await bed.admin`select 1 from app.products where name = 'Renamed In Airtable'`).toHaveLength(1);

    const again = await diff('--table', 'products', 'registrations', '--offline');
    expect(again.json.entities.map((e) => e.differences)).toEqual([{ missing_records: [], conflicted_records: [], deleted_records: [] }, { missing_records: [], conflicted_records: [], deleted_records: [] }]);
    expect(again.json.differences).toBe(0);
    expect(again.code).toBe(0);
    const verify = await runAirlift(['verify', '--json', '--table', 'products', 'registrations'], env);
    // the target holds the source again, record by record (the base's planted client mismatch stays a relationship finding)
    const verified = JSON.parse(verify.stdout) as { entities: Array<{ source_checksum: string; target_checksum: string; checks: Array<{ validation_type: string; discrepancies_found: number }> }> };
    for (const e of verified.entities) {
      expect(e.target_checksum).toBe(e.source_checksum);
      for (const c of e.checks.filter((c) => c.validation_type !== 'relationship_integrity')) expect(c.discrepancies_found).toBe(0);
    }
  });

  it('an incremental pull after a snapshot merges what the snapshot staged', async () => {
    const [reg] = await bed.admin<{ airtable_id: string }[]>`
      select airtable_id from app.registrations where deleted_at is null order by airtable_id limit 1`;
    table('Registrations').update(reg!.airtable_id, { Notes: 'edited before a snapshot' });
    await diff('--table', 'registrations'); // stages the edit, merges nothing
    await bed.pull('incremental');
    const [row] = await bed.admin<{ notes: string }[]>`select notes from app.registrations where airtable_id = ${reg!.airtable_id}`;
    expect(row!.notes).toBe('edited before a snapshot');
  });

  it('a differential killed between key ranges resumes from its checkpoint and finds the same', async () => {
    const registrations = await bed.admin<{ airtable_id: string }[]>`
      select airtable_id from app.registrations where deleted_at is null order by airtable_id`;
    const edited = [registrations[10]!, registrations[150]!, registrations[300]!].map((r) => r.airtable_id);
    await bed.admin`update app.registrations set notes = 'changed here' where airtable_id in ${bed.admin(edited)}`;

    const sql = bed.sql; // airlift_sync
    await expect(runDiff(sql, { actor: 'test', entities: ['registrations'], batchSize: 100, stopAfterBatches: 2 })).rejects.toThrow(/stopped before it finished/);
    const [interrupted] = await bed.admin<{ id: string; status: string; last: string; processed: number }[]>`
      select r.id, r.status, c.last_processed_id as last, c.records_processed::int as processed
      from sync.runs r join sync.checkpoints c on c.run_id = r.id and c.operation_type = 'differential_migration'
      where r.run_type = 'differential' order by r.id desc limit 1`;
    expect(interrupted!.status).toBe('running');
    expect(interrupted!.processed).toBe(200);

    const resumed = await runDiff(sql, { actor: 'test', entities: ['registrations'], batchSize: 100 });
    expect(resumed.runId).toBe(interrupted!.id);
    expect(resumed.resumed).toBe(true);
    const found = resumed.entities[0]!;
    expect(found.batches).toBeGreaterThan(3);
    expect(found.differences.conflicted_records).toEqual([...edited].sort());
    expect(found.differences.missing_records).toEqual([]);
    expect(found.differences.deleted_records).toEqual([]);
    const [checkpoint] = await bed.admin<{ status: string; batches: number }[]>`
      select status, (metadata ->> 'batches')::int as batches from sync.checkpoints
      where run_id = ${resumed.runId} and operation_type = 'differential_migration' and entity_type = 'registrations'`;
    expect(checkpoint).toEqual({ status: 'completed', batches: found.batches });
  });
});
