/**
 * The safety snapshot end to end, as a user runs it: a base pulled from the
 * emulator, `airlift snapshot create`, changes in PostgreSQL and in
 * Airtable pulled in, `airlift snapshot restore` brings every table back
 * (entity checksums, source and target, and the content of every copied
 * table as before), audited under its own run, with the pull since undone.
 * `airlift pull --snapshot` records the snapshot against its run; unknown,
 * dropped and malformed ids, and a pull holding the base, are refused with
 * one line and exit code 1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAirlift } from './support/cli.ts';
import { syncBed, type SyncBed } from './support/sync.ts';

describe('airlift snapshot', () => {
  let bed: SyncBed;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    bed = await syncBed({ seed: 97, registrations: 200, messiness: 0.03 });
    env = {
      DATABASE_URL: bed.db.url,
      AIRTABLE_TOKEN: bed.emulator.token,
      AIRTABLE_BASE_ID: bed.baseId,
      AIRTABLE_ENDPOINT_URL: bed.emulator.url,
      AIRTABLE_RPS: '100',
    };
  });
  afterAll(async () => bed?.close());

  const entityChecksums = async () =>
    bed.admin<{ entity: string; source_records: string; source_checksum: string; target_records: string; target_checksum: string }[]>`
      select m.entity, c.* from sync.entity_mappings m cross join lateral sync.entity_checksums(m.entity) c order by m.entity`;
  /** Row count and checksum of every column written (ids, updated_at, staging included) of each table a snapshot copies. */
  const contentChecksums = async () =>
    bed.admin<{ source_table: string; content: { rows: number; checksum: string } }[]>`
      select s.source_table::text, sync.table_content_checksum(s.source_table, sync.stored_columns(s.source_table)) as content
      from sync.snapshot_source_tables() s order by 1`;

  it('restores a snapshot taken before a pull: checksums, rows and content as they were, audited, the pull undone', async () => {
    const first = await runAirlift(['pull', '--full'], env);
    expect(first.code, first.stderr).toBe(0);
    const checksumsBefore = await entityChecksums();
    const contentBefore = await contentChecksums();
    expect(checksumsBefore.map((c) => c.entity)).toEqual(['clients', 'products', 'registrations', 'state_regulators']);

    const created = await runAirlift(['snapshot', 'create', '--label', 'before the second pull', '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    const snapshot = JSON.parse(created.stdout);
    expect(snapshot.label).toBe('before the second pull');
    expect(snapshot.schema_name).toBe(`airlift_snapshot_${snapshot.id}`);
    expect(Object.fromEntries(Object.entries(snapshot.tables as Record<string, { rows: number; checksum: string }>).map(([t, v]) => [t, { rows: v.rows, checksum: v.checksum }])))
      .toEqual(Object.fromEntries(contentBefore.map((c) => [c.source_table, c.content])));
    const [{ n: registrations }] = await bed.admin<{ n: number }[]>`select count(*)::int as n from app.registrations`;
    expect(snapshot.tables['app.registrations'].rows).toBe(registrations);

    // Changes in PostgreSQL: a row made here, a registration hard-deleted
    // (with its attachments; the pull makes it again, under the uuid the id
    // map keeps for its record), a
    // client renamed (the pull puts the name back, with audit rows)
    const [client] = await bed.admin<{ id: string }[]>`select id from app.clients where deleted_at is null order by airtable_id limit 1`;
    const [gone] = await bed.admin<{ id: string; airtable_id: string }[]>`
      select id, airtable_id from app.registrations where deleted_at is null order by airtable_id limit 1`;
    await bed.admin`insert into app.clients (name) values ('Made in PostgreSQL')`;
    await bed.admin`delete from app.registrations where id = ${gone.id}`;
    await bed.admin`update app.clients set name = 'Renamed in PostgreSQL' where id = ${client.id}`;
    // ... and in Airtable: registrations edited, a client created, a registration deleted
    const regs = bed.emulator.base(bed.baseId).table('Registrations');
    const clients = bed.emulator.base(bed.baseId).table('Clients');
    const listed = regs.list();
    for (const r of listed.slice(1, 6)) regs.update(r.id, { 'Invoice Number': `INV-SNAP-${r.id.slice(-4)}` });
    clients.create({ 'Client Name': 'Snapshot Test Co' });
    regs.delete(listed[listed.length - 1].id);

    const second = await runAirlift(['pull', '--full'], env);
    expect(second.code, second.stderr).toBe(0);
    const secondRunId = /^Run #(\d+)/.exec(second.stdout)![1];
    expect(await entityChecksums()).not.toEqual(checksumsBefore);
    const [remade] = await bed.admin<{ id: string }[]>`select id from app.registrations where airtable_id = ${gone.airtable_id}`;
    expect(remade.id).toBe(gone.id);

    const restored = await runAirlift(['snapshot', 'restore', String(snapshot.id), '--json'], env);
    expect(restored.code, restored.stderr).toBe(0);
    const result = JSON.parse(restored.stdout);
    // parents first: of the app tables, products, registrations and attachments come last
    const appTables = result.tables.map((t: { table_name: string }) => t.table_name).filter((name: string) => name.startsWith('app.'));
    expect(appTables.slice(-3)).toEqual(['app.products', 'app.registrations', 'app.attachments']);
    expect(result.undoneRuns).toEqual([{ id: secondRunId, run_type: 'full', status: 'rolled_back' }]);

    // the proof: the checksums and the content are those from before
    expect(await entityChecksums()).toEqual(checksumsBefore);
    expect(await contentChecksums()).toEqual(contentBefore);
    const [back] = await bed.admin<{ id: string }[]>`select id from app.registrations where airtable_id = ${gone.airtable_id}`;
    expect(back.id).toBe(gone.id);
    const [stray] = await bed.admin<{ n: number }[]>`select count(*)::int as n from app.clients where name = 'Made in PostgreSQL'`;
    expect(stray.n).toBe(0);

    // the restore is its own completed rollback run, and every row it wrote is audited under it
    const [run] = await bed.admin<{ run_type: string; status: string; restore_snapshot: number; inserted: string; updated: string; deleted: string }[]>`
      select run_type, status, (metadata ->> 'restore_snapshot')::int as restore_snapshot, inserted, updated, deleted from sync.runs where id = ${result.runId}`;
    expect(run).toMatchObject({ run_type: 'rollback', status: 'completed', restore_snapshot: Number(snapshot.id) });
    const audited = await bed.admin<{ table_name: string; op: string; n: number }[]>`
      select table_name, op, count(*)::int as n from audit.changes where run_id = ${result.runId} and table_name like 'app.%' group by 1, 2`;
    const written = (op: string, table?: string) => audited.filter((a) => a.op === op && (!table || a.table_name === table)).reduce((n, a) => n + a.n, 0);
    const reported = (key: 'removed' | 'inserted' | 'restored') =>
      result.tables.filter((t: { table_name: string }) => t.table_name.startsWith('app.')).reduce((n: number, t: Record<string, number>) => n + t[key], 0);
    expect(written('DELETE')).toBe(reported('removed'));
    expect(written('INSERT')).toBe(reported('inserted'));
    expect(written('UPDATE')).toBe(reported('restored'));
    // the five invoice numbers the pull took in, and the registration it soft-deleted, are put back
    expect(written('UPDATE', 'app.registrations')).toBeGreaterThanOrEqual(6);
    expect([Number(run.inserted), Number(run.updated), Number(run.deleted)]).toEqual([reported('inserted'), reported('restored'), reported('removed')]);

    const list = await runAirlift(['snapshot', 'list'], env);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain(`#${snapshot.id}  `);
    expect(list.stdout).toContain(`"before the second pull" by cli:`);
    expect(list.stdout).toContain(`restored `);
    expect(list.stdout).toContain(` by run #${result.runId}`);
  });

  it('pull --snapshot takes a snapshot right before the pull and records it against the run', async () => {
    const result = await runAirlift(['pull', '--snapshot'], env);
    expect(result.code, result.stderr).toBe(0);
    const runId = /^Run #(\d+)/.exec(result.stdout)![1];
    const id = /Safety snapshot #(\d+) was taken before the pull: `airlift snapshot restore (\d+)`/.exec(result.stdout);
    expect(id?.[1]).toBe(id?.[2]);
    const [snapshot] = await bed.admin<{ label: string; run_id: string; last_run_before_snapshot: string; dropped_at: Date | null }[]>`
      select label, run_id, last_run_before_snapshot, dropped_at from sync.snapshots where id = ${id![1]}`;
    expect(snapshot.label).toBe('before pull');
    expect(snapshot.run_id).toBe(runId);
    expect(Number(snapshot.last_run_before_snapshot)).toBeLessThan(Number(runId));
    expect(snapshot.dropped_at).toBeNull();
  });

  it('refuses unknown, malformed and dropped snapshots with one line and exit code 1, and drops a snapshot once', async () => {
    const unknown = await runAirlift(['snapshot', 'restore', '987654'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('airlift: no snapshot 987654\n');
    const malformed = await runAirlift(['snapshot', 'drop', 'latest'], env);
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toContain('airlift: a snapshot id is a number (see `airlift snapshot list`), got "latest"');

    const created = await runAirlift(['snapshot', 'create', '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    const { id, schema_name: schema, label } = JSON.parse(created.stdout);
    expect(label).toBe('manual');
    const dropped = await runAirlift(['snapshot', 'drop', String(id)], env);
    expect(dropped.code, dropped.stderr).toBe(0);
    expect(dropped.stdout).toBe(`Snapshot #${id} "manual" dropped: schema ${schema} and its copies are gone.\n`);
    const [{ exists }] = await bed.admin<{ exists: boolean }[]>`select to_regnamespace(${schema}) is not null as exists`;
    expect(exists).toBe(false);

    const again = await runAirlift(['snapshot', 'drop', String(id)], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(new RegExp(`^airlift: snapshot ${id} was already dropped at `));
    const restore = await runAirlift(['snapshot', 'restore', String(id)], env);
    expect(restore.code).toBe(1);
    expect(restore.stderr).toMatch(new RegExp(`^airlift: snapshot ${id} was dropped at .*; it cannot be restored\\n$`));
    const [{ n: runs }] = await bed.admin<{ n: number }[]>`
      select count(*)::int as n from sync.runs where metadata ->> 'restore_snapshot' = ${String(id)}`;
    expect(runs).toBe(0); // the refused restore left no run behind

    const listed = JSON.parse((await runAirlift(['snapshot', 'list', '--json'], env)).stdout);
    const entry = listed.find((s: { id: string }) => s.id === String(id));
    expect(entry.dropped_at).not.toBeNull();
    expect(entry.size_bytes).toBe(0);
  });

  it('refuses to take or restore a snapshot while a pull of the base is running', async () => {
    const lock = await bed.admin.reserve();
    try {
      await lock`select pg_advisory_lock(hashtextextended(${`airlift:pull:${bed.baseId}`}, 0))`;
      const refused = await runAirlift(['snapshot', 'create'], env);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toBe(`airlift: cannot take a snapshot while a pull of base ${bed.baseId} is running\nTry again when the pull has ended.\n`);
    } finally {
      await lock`select pg_advisory_unlock_all()`;
      lock.release();
    }
    const taken = await runAirlift(['snapshot', 'create'], env);
    expect(taken.code, taken.stderr).toBe(0);
    // every app table, every example's target table, the id map and staging
    const [{ tables }] = await bed.admin<{ tables: number }[]>`select count(*)::int as tables from sync.snapshot_source_tables()`;
    expect(tables).toBeGreaterThanOrEqual(12);
    expect(taken.stdout).toMatch(new RegExp(`^Snapshot #\\d+ "manual" taken .* in schema airlift_snapshot_\\d+: \\d+ rows in ${tables} tables\n`));
  });
});
