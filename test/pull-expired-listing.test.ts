/**
 * Expired listings (422 LIST_RECORDS_ITERATOR_NOT_AVAILABLE) against the
 * emulator and a real PostgreSQL: the run's counts stay exact, and a pull
 * whose retries outlive Airtable's iterators still finishes, reading each
 * page about once.
 */
import { describe, expect, it } from 'vitest';
import { AirtableClient } from '../src/sources/airtable/client.ts';
import { syncBed, type SyncBed } from './support/sync.ts';

const pagesOf = (bed: SyncBed) => bed.base.tables.reduce((sum, t) => sum + Math.max(1, Math.ceil(t.records.length / 100)), 0);
const totalOf = (bed: SyncBed) => bed.base.tables.reduce((sum, t) => sum + t.records.length, 0);

/** Records with an open quarantine entry (each counted once), and the run's counts. */
async function truth(bed: SyncBed, runId: string) {
  const [{ quarantined }] = await bed.admin<{ quarantined: number }[]>`
    select count(distinct (source_table, source_key))::int as quarantined from sync.record_errors where resolved_at is null`;
  const [run] = await bed.admin<{ fetched: number; inserted: number; updated: number; unchanged: number; quarantined: number }[]>`
    select fetched::int, inserted::int, updated::int, unchanged::int, quarantined::int from sync.runs where id = ${runId}`;
  return { quarantined, run };
}

describe('an expired listing', () => {
  it('does not count records twice: quarantined records staged before the expiry are merged and counted once', async () => {
    const bed = await syncBed({ seed: 61, registrations: 1_200, messiness: 0.04, emulator: { latencyMs: 15 } });
    try {
      // a blocking rule many registrations break, so that the merge batches quarantine records
      // (every other problem lands the record, flagged, and is not staged again)
      await bed.admin`
        insert into sync.validation_rules (rule_id, entity, column_name, rule_kind, parameters, severity, validation_type, origin, description)
        values ('registrations.priority.urgent_only', 'registrations', 'priority', 'range', '{"max": 2}', 'blocking', 'data_integrity', 'sql', 'must be at most 2')`;
      let pages = 0;
      const summary = await bed.pull('full', {
        mergeBatchRecords: 100, // batches merge (and quarantine) while the listing goes on
        progress: {
          tableStarted: () => undefined,
          pageStaged: (entity) => {
            // the server forgets every iterator twice while registrations are listed
            if (entity === 'registrations' && (++pages === 5 || pages === 9)) bed.emulator.restart();
          },
          tableFinished: () => undefined,
        },
      });
      const { quarantined, run } = await truth(bed, summary.run.id);
      expect(quarantined).toBeGreaterThan(20);
      expect(run.fetched).toBe(totalOf(bed));
      expect(run.quarantined).toBe(quarantined);
      expect(run.inserted + run.updated + run.unchanged + run.quarantined).toBe(run.fetched);
      const registrations = summary.tables.find((t) => t.entity === 'registrations')!;
      expect(registrations.fetched).toBe(1_200);
      const [checkpoint] = await bed.admin<{ resumes: number; batches: number }[]>`
        select (metadata ->> 'resumes')::int as resumes, (metadata ->> 'merge_batches')::int as batches
        from sync.checkpoints where run_id = ${summary.run.id} and entity_type = 'registrations'`;
      expect(checkpoint.resumes).toBe(2);
      expect(checkpoint.batches).toBeGreaterThanOrEqual(2); // at least one batch merged while the listing went on, then the final one
      // each registration landed or is quarantined, once
      const [{ rows }] = await bed.admin<{ rows: number }[]>`select count(*)::int as rows from app.registrations`;
      const [{ held }] = await bed.admin<{ held: number }[]>`
        select count(distinct source_key)::int as held from sync.record_errors where resolved_at is null and source_table = 'tblmNqfo6lv6OCavM'`;
      expect(rows + held).toBe(1_200);
    } finally {
      await bed.close();
    }
  });

  it('with 10% of the pages answered 503 and retries that outlive the iterator, the pull finishes, reading each page about once, with exact counts', async () => {
    const bed = await syncBed({
      seed: 62,
      registrations: 3_000,
      messiness: 0.02,
      // iterators expire after 1 s without use; every retry waits longer than that
      emulator: { offsetTtlMs: 1_000 },
    });
    try {
      const client = new AirtableClient({ ...bed.client.options, backoffMs: 2_000, maxAttempts: 3 });
      let staged = 0;
      let injected = 0;
      const started = Date.now();
      const summary = await bed.pull('full', {
        client,
        signal: AbortSignal.timeout(50_000), // before the fix, it restarts without end
        progress: {
          tableStarted: () => undefined,
          pageStaged: () => {
            // one page request in ten answers 503 (the next but one: the next is already out)
            if (++staged % 10 === 0) {
              injected++;
              bed.emulator.injectFailure({ method: 'GET', path: new RegExp(`^/v0/${bed.baseId}/tbl`), status: 503, count: 1 });
            }
          },
          tableFinished: () => undefined,
        },
      });
      const elapsed = Date.now() - started;
      expect(injected).toBeGreaterThanOrEqual(3);
      const { quarantined, run } = await truth(bed, summary.run.id);
      expect(run.fetched).toBe(totalOf(bed));
      expect(run.quarantined).toBe(quarantined);
      // each failure costs its retry and at most one resumed listing (and a
      // loaded machine may let an iterator idle past its life once or twice)
      const resumes = await bed.admin<{ entity_type: string; resumes: number | null; attempt: number }[]>`
        select entity_type, (metadata ->> 'resumes')::int as resumes, (metadata ->> 'listing_attempt')::int as attempt
        from sync.checkpoints where run_id = ${summary.run.id}`;
      expect(resumes.reduce((n, r) => n + (r.resumes ?? 0), 0)).toBeLessThanOrEqual(injected + 2);
      expect(resumes.every((r) => r.attempt === 1)).toBe(true);
      expect(bed.emulator.stats.byRoute.list).toBeLessThanOrEqual(pagesOf(bed) + 2 * (injected + 2) + 2);
      expect(elapsed).toBeLessThan(40_000);
      const [{ rows }] = await bed.admin<{ rows: number }[]>`select count(*)::int as rows from app.registrations`;
      expect(rows).toBeGreaterThan(2_500);
    } finally {
      await bed.close();
    }
  });
});
