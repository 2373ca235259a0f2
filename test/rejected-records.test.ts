/**
 * Records the runner cannot stage (a cell PostgreSQL cannot store, a record
 * whose envelope is not a record) end to end against the emulator: they are
 * quarantined when read, stay quarantined through the run's final merge
 * (which retries the older version staging still holds) and through later
 * runs that read them broken again, are listed by `airlift verify` with
 * table, record and reason, and leave quarantine only when a run stages
 * them cleanly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatVerify, runVerify, type CheckReport } from '../src/integrity/verify.ts';
import { syncBed, type SyncBed } from './support/sync.ts';

interface QuarantineEntry {
  source_key: string;
  field: string | null;
  value: unknown;
  reason: string;
  run_id: string;
  resolved_by_run_id: string | null;
}

describe('records rejected before staging', () => {
  let bed: SyncBed;
  beforeAll(async () => {
    bed = await syncBed({ seed: 97, registrations: 120, messiness: 0 });
    await bed.pull('full');
  });
  afterAll(async () => bed?.close());

  const entriesFor = (airtableId: string) =>
    bed.admin<QuarantineEntry[]>`
      select source_key, field, value, reason, run_id::text, resolved_by_run_id::text
      from sync.record_errors where source_key = ${airtableId} order by created_at, reason`;
  const completeness = (result: Awaited<ReturnType<typeof runVerify>>, entity: string): CheckReport =>
    result.entities.find((e) => e.entity === entity)!.checks.find((c) => c.validation_type === 'completeness_check')!;

  it('stay quarantined, listed by verify, until a run stages them cleanly', async () => {
    const clients = bed.emulator.base(bed.baseId).table('Clients');
    const victim = clients.list()[0]!;
    clients.update(victim.id, { Notes: 'call back\u0000later' });
    // the products listing of the next pull answers with a record whose envelope is broken
    const productsTable = bed.mapping.tables.find((t) => t.entity === 'products')!.tableId;
    const broken = { id: 'recBROKENENVELOP1', fields: 'not an object' };
    bed.emulator.injectFailure({ method: 'GET', path: new RegExp(productsTable), status: 200, body: { records: [broken] } });

    const rejecting = await bed.pull('incremental');
    const rejectingRun = String(rejecting.run.id);
    // read, and counted as quarantined (fetched = inserted + updated + unchanged + quarantined)
    expect(Number(rejecting.run.quarantined)).toBeGreaterThanOrEqual(2);
    expect(await entriesFor(victim.id)).toEqual([
      { source_key: victim.id, field: 'Notes', value: null, reason: 'Notes contains a NUL character (\\u0000), which PostgreSQL cannot store', run_id: rejectingRun, resolved_by_run_id: null },
    ]);
    const [envelope] = await entriesFor(broken.id);
    expect(envelope).toMatchObject({ field: null, value: broken, run_id: rejectingRun, resolved_by_run_id: null });
    expect(envelope!.reason).toMatch(/^not a valid record envelope: /);
    // the run's final merge retried the version staged before and merged nothing over the quarantine
    const [staged] = await bed.admin<{ run_id: string; notes: string | null }[]>`
      select s.run_id::text, c.notes from staging.source_records s join app.clients c on c.airtable_id = s.source_key
      where s.source_key = ${victim.id}`;
    expect(staged!.run_id).not.toBe(rejectingRun);
    expect(staged!.notes).not.toContain('later');

    const afterIncremental = await runVerify(bed.sql, { actor: 'test', entities: ['clients', 'products'] });
    expect(completeness(afterIncremental, 'clients').validation_criteria.quarantined_records).toContain(victim.id);
    expect(completeness(afterIncremental, 'products').validation_criteria.rejected_before_staging).toEqual([
      { record: broken.id, field: null, value: broken, reason: envelope!.reason },
    ]);
    expect(formatVerify(afterIncremental)).toContain(`  rejected before staging: ${broken.id}: ${envelope!.reason}`);

    // a full pull reads the client broken again: still one open entry, now
    // outside the snapshot (staging's version is older), listed with its reason
    const again = await bed.pull('full');
    expect(await entriesFor(victim.id)).toEqual([
      { source_key: victim.id, field: 'Notes', value: null, reason: 'Notes contains a NUL character (\\u0000), which PostgreSQL cannot store', run_id: rejectingRun, resolved_by_run_id: null },
    ]);
    expect(Number(again.run.quarantined)).toBeGreaterThanOrEqual(1);
    const afterFull = await runVerify(bed.sql, { actor: 'test', entities: ['clients', 'products'] });
    const clientsCompleteness = completeness(afterFull, 'clients');
    expect(clientsCompleteness.validation_criteria.rejected_before_staging).toEqual([
      { record: victim.id, field: 'Notes', value: null, reason: 'Notes contains a NUL character (\\u0000), which PostgreSQL cannot store' },
    ]);
    expect(clientsCompleteness.validation_criteria.quarantined_records).toContain(victim.id);
    expect(completeness(afterFull, 'products').validation_criteria.rejected_before_staging).toEqual([
      { record: broken.id, field: null, value: broken, reason: envelope!.reason },
    ]);

    // fixed in Airtable: the next pull stages it cleanly and releases it
    clients.update(victim.id, { Notes: 'call back later' });
    const fixing = await bed.pull('incremental');
    expect((await entriesFor(victim.id)).map((e) => e.resolved_by_run_id)).toEqual([String(fixing.run.id)]);
    const [merged] = await bed.admin<{ notes: string; deleted: boolean }[]>`
      select notes, deleted_at is not null as deleted from app.clients where airtable_id = ${victim.id}`;
    expect(merged).toEqual({ notes: 'call back later', deleted: false });
    const afterFix = await runVerify(bed.sql, { actor: 'test', entities: ['clients'] });
    expect(completeness(afterFix, 'clients').validation_criteria.rejected_before_staging).toEqual([]);
    expect(completeness(afterFix, 'clients').validation_criteria.quarantined_records).not.toContain(victim.id);
  });
});
