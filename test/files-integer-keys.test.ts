/**
 * Integer legacy keys through the whole pipeline: the wallet example with
 * its admin log keyed by integers (`"id": 5001`, as a legacy application
 * numbers its rows) instead of "log-5001". The key lands as its decimal
 * text in staging, the target's key column and the id map; verify passes;
 * an edited export is a differential of exactly one conflicted, one
 * missing and one deleted record under their integer keys; the pull that
 * takes it in is +1 ~1 -1, and its rollback puts every row back.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sql } from 'postgres';
import { connect } from '../src/db/database.ts';
import { runDiff } from '../src/integrity/diff.ts';
import { runRollback } from '../src/integrity/rollback.ts';
import { runVerify } from '../src/integrity/verify.ts';
import { loadMapping, type Mapping } from '../src/mapping.ts';
import { urlWithSession } from '../src/pipeline/context.ts';
import { formatPreview, previewMigration } from '../src/pipeline/preview.ts';
import { runPull } from '../src/pipeline/pull.ts';
import { FilesSource } from '../src/sources/files/source.ts';
import { PROJECT_DIR } from './support/cli.ts';
import { cloneTestDatabase, type TestDatabase } from './support/db.ts';
import { silentLog } from './support/sync.ts';

describe('files source: integer legacy keys', () => {
  let dir: string;
  let mapping: Mapping;
  let db: TestDatabase;
  let sql: Sql;
  let admin: Sql;
  const logFile = () => path.join(dir, 'data', 'admin_logs.jsonl');
  const pull = (mode: 'full' | 'incremental', stageOnly = false) =>
    runPull({ sql, source: new FilesSource(path.join(dir, 'data')), mapping, mode, stageOnly, actor: 'test', overlapSeconds: 60, log: silentLog });
  const actions = async () =>
    (await admin<{ source_id: string; reason: string | null; live: boolean }[]>`
      select source_id, reason, deleted_at is null as live from wallet_app.admin_actions order by source_id::int`).map((r) => ({ ...r }));

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'airlift-integer-keys-'));
    await cp(path.join(PROJECT_DIR, 'examples', 'wallet-app'), dir, { recursive: true });
    // "id":"log-5001" becomes "id":5001 on every line (the broken line 18 stays broken)
    const lines = (await readFile(logFile(), 'utf8')).split('\n');
    await writeFile(logFile(), lines.map((line) => line.replace(/^\{"id":"log-(\d+)"/, '{"id":$1')).join('\n'));
    mapping = await loadMapping(path.join(dir, 'mapping.json'));
    db = await cloneTestDatabase();
    sql = connect(urlWithSession(db.url, 'airlift_sync', { 'airlift.actor': 'test' }), { max: 4 });
    admin = connect(db.url, { max: 2 });
  });
  afterAll(async () => {
    await sql?.end();
    await admin?.end();
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('lands integer keys as their decimal text in staging, the target and the id map, and verify passes', async () => {
    expect((await readFile(logFile(), 'utf8')).split('\n')[0]).toMatch(/^\{"id":5001,/);
    const first = await pull('full');
    const table = first.tables.find((t) => t.entity === 'wallet_admin_actions')!;
    expect(table).toMatchObject({ fetched: 29, inserted: 28, quarantined: 1 });

    const [keys] = await admin<{ staged: string[]; target: string[]; mapped: string[] }[]>`
      select array(select source_key from staging.source_records where source_table = 'admin_logs.jsonl' order by source_key::int) as staged,
             array(select source_id from wallet_app.admin_actions order by source_id::int) as target,
             array(select m.legacy_id from sync.id_map m where m.entity_type = 'wallet_admin_actions' order by m.legacy_id::int) as mapped`;
    expect(keys!.staged.slice(0, 3)).toEqual(['5001', '5002', '5003']);
    expect(keys!.staged).toHaveLength(28);
    expect(keys!.target).toEqual(keys!.staged);
    expect(keys!.mapped).toEqual(keys!.staged);
    // every id map entry points at the row that holds its key
    const [orphans] = await admin<{ n: number }[]>`
      select count(*)::int as n from sync.id_map m
      left join wallet_app.admin_actions a on a.id = m.uuid_id and a.source_id = m.legacy_id
      where m.entity_type = 'wallet_admin_actions' and a.id is null`;
    expect(orphans!.n).toBe(0);

    const verified = await runVerify(sql, { actor: 'test' });
    expect(verified.discrepancies).toBe(0);
    expect(verified.passed).toBe(true);

    // airlift validate's preview of a source snapshot names the line that is not a record beside the 28 that are
    const snapshot = await pull('full', true);
    const preview = await previewMigration(sql, snapshot.run.id, ['wallet_admin_actions']);
    expect(preview.tables).toEqual([{ entity: 'wallet_admin_actions', records: 28, landing: 28, flagged: 0, quarantined: 0, unreadable: 1 }]);
    expect(formatPreview(preview)).toContain(
      '  wallet_admin_actions       28 records: 28 would land (0 flagged with problems), 0 kept out by a blocking rule; 1 not read as records (quarantined)',
    );
  });

  it('finds an edited export as one conflicted, one missing and one deleted record by integer key; the pull takes it in and its rollback undoes it', async () => {
    const before = await actions();
    const lines = (await readFile(logFile(), 'utf8')).split('\n');
    const edited = lines
      // 5003 is gone from the export
      .filter((line) => !line.startsWith('{"id":5003,'))
      // 5001's reason changed
      .map((line) => (line.startsWith('{"id":5001,') ? line.replace(/"reason":"[^"]*"/, '"reason":"changed in the export"') : line));
    // 5999 is new: a copy of 5001 as it was
    const added = lines.find((line) => line.startsWith('{"id":5001,'))!.replace('{"id":5001,', '{"id":5999,');
    await writeFile(logFile(), [...edited.filter(Boolean), added].join('\n') + '\n');
    expect(before.find((a) => a.source_id === '5001')!.reason).toBe('chargeback');

    await pull('full', true);
    const diff = await runDiff(sql, { actor: 'test', entities: ['wallet_admin_actions'] });
    const differences = diff.entities.find((e) => e.entity === 'wallet_admin_actions')!.differences;
    expect(differences).toEqual({ missing_records: ['5999'], conflicted_records: ['5001'], deleted_records: ['5003'] });

    const taken = await pull('incremental');
    expect(taken.tables.find((t) => t.entity === 'wallet_admin_actions')).toMatchObject({ inserted: 1, updated: 1, deleted: 1 });
    const after = await actions();
    expect(after.find((a) => a.source_id === '5999')).toMatchObject({ live: true });
    expect(after.find((a) => a.source_id === '5001')).toMatchObject({ reason: 'changed in the export', live: true });
    expect(after.find((a) => a.source_id === '5003')).toMatchObject({ live: false });
    expect((await runVerify(sql, { actor: 'test' })).passed).toBe(true);

    const rolledBack = await runRollback(sql, { runId: taken.run.id, force: false, actor: 'test' });
    expect(rolledBack.tables.find((t) => t.table_name === 'wallet_app.admin_actions')).toMatchObject({ removed: 1, restored: 2 });
    expect(await actions()).toEqual(before);
  });
});
