/**
 * The PostgreSQL source with a text key: a table keyed by text cannot be
 * cut into integer key ranges, so it is checksummed whole (one pass on the
 * source side): unchanged, an incremental pull does not read it; changed,
 * it is read whole and the listing is complete, so a deleted row is swept.
 * A second database on the test server holds the legacy table; the target
 * (legacy_app.settings, keyed by uuid) is registered in the test's own
 * clone, as a migration would. The worker serves the source: its pulls
 * only, no push.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Sql } from 'postgres';
import { connect, quoteIdent } from '../src/db/database.ts';
import { urlWithDatabase } from '../src/db/embedded.ts';
import { runAirlift } from './support/cli.ts';
import { cloneTestDatabase, type TestDatabase } from './support/db.ts';

describe('PostgreSQL source: a table keyed by text is checksummed whole', () => {
  let db: TestDatabase;
  let sql: Sql;
  let legacy: Sql;
  let legacyName: string;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const serverUrl = inject('serverUrl');
  const pull = async (...args: string[]) => {
    const result = await runAirlift(['pull', ...args], env);
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    return result.stdout;
  };
  const lastCheckpoint = async () => {
    const [row] = await sql<{ unchanged: boolean; complete: boolean; within: unknown; mode: string }[]>`
      select (metadata ->> 'unchanged')::boolean as unchanged, (metadata ->> 'complete')::boolean as complete,
             metadata -> 'complete_within' as within, metadata -> 'source_state' ->> 'mode' as mode
      from sync.checkpoints where entity_type = 'legacy_settings' and operation_type = 'sync_operation' order by run_id desc limit 1`;
    return { ...row };
  };

  beforeAll(async () => {
    legacyName = `airlift_legacy_${randomBytes(4).toString('hex')}`;
    const admin = connect(serverUrl, { max: 1 });
    try {
      await admin.unsafe(`create database ${quoteIdent(legacyName)}`);
    } finally {
      await admin.end();
    }
    const legacyUrl = urlWithDatabase(serverUrl, legacyName);
    legacy = connect(legacyUrl, { max: 1 });
    await legacy.unsafe(`
      create table settings (code varchar(40) primary key, value text, updated_on date);
      insert into settings select 'setting-' || lpad(i::text, 3, '0'), 'value ' || i, date '2024-01-01' + i from generate_series(1, 30) i;`);
    db = await cloneTestDatabase();
    sql = connect(db.url, { max: 1 });
    // created by the role that owns the schema (the migrations'), as a migration would: the sync's security definer functions run as it
    const [{ owner }] = await sql<{ owner: string }[]>`select nspowner::regrole::text as owner from pg_namespace where nspname = 'legacy_app'`;
    await sql.begin((tx) => tx.unsafe(`
      set local role ${owner};
      create table legacy_app.settings (
        id uuid primary key default gen_random_uuid(), value text, updated_on date,
        open_problem_count integer not null default 0, created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(), deleted_at timestamptz);
      insert into sync.entities (entity, target_table, merge_rank, attachment_owner_column, source_key_column)
        values ('legacy_settings', 'legacy_app.settings', 1, null, null);
      insert into sync.entity_columns (entity, column_name, conversion, required, min_value, max_value, linked_entity)
        values ('legacy_settings', 'value', 'text', false, null, null, null), ('legacy_settings', 'updated_on', 'date', false, null, null, null);
      select sync.attach_target_triggers('legacy_settings');
      grant select, insert, update, delete on legacy_app.settings to airlift_app;
      grant select on legacy_app.settings to airlift_readonly, airlift_sync;`));
    dir = await mkdtemp(path.join(os.tmpdir(), 'airlift-legacy-text-'));
    await writeFile(path.join(dir, 'mapping.json'), JSON.stringify({
      version: 1,
      source: { kind: 'postgres', urlEnv: 'SETTINGS_DATABASE_URL' },
      tables: [{ entity: 'legacy_settings', table: 'settings', key: 'code', target: 'legacy_app.settings',
                 fields: [{ from: 'value', column: 'value' }, { from: 'updated_on', column: 'updated_on', convert: 'date' }] }],
    }));
    env = { DATABASE_URL: db.url, AIRLIFT_MAPPING: path.join(dir, 'mapping.json'), SETTINGS_DATABASE_URL: legacyUrl };
  });
  afterAll(async () => {
    await sql?.end();
    await legacy?.end();
    await db?.drop();
    if (legacyName) {
      const admin = connect(serverUrl, { max: 1 });
      await admin.unsafe(`drop database if exists ${quoteIdent(legacyName)} with (force)`).finally(() => admin.end());
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('lands every row under its text key, reads nothing while unchanged, and reads the table whole once it changed, sweeping the deleted row', async () => {
    expect(await pull('--full')).toContain('fetched 30 = 30 inserted + 0 updated + 0 unchanged + 0 quarantined; 0 soft-deleted');
    expect(await lastCheckpoint()).toEqual({ unchanged: false, complete: true, within: null, mode: 'table' });
    const [row] = await sql`
      select t.value, t.updated_on::text from legacy_app.settings t join sync.id_map k on k.entity_type = 'legacy_settings' and k.uuid_id = t.id
      where k.legacy_id = 'setting-007'`;
    expect({ ...row }).toEqual({ value: 'value 7', updated_on: '2024-01-08' });

    expect(await pull()).toContain('fetched 0 = 0 inserted + 0 updated + 0 unchanged + 0 quarantined; 0 soft-deleted');
    expect((await lastCheckpoint()).unchanged).toBe(true);

    await legacy.unsafe(`
      update settings set value = 'changed' where code = 'setting-002';
      delete from settings where code = 'setting-003';
      insert into settings values ('setting-new', 'new', null);`);
    expect(await pull()).toContain('fetched 30 = 1 inserted + 1 updated + 28 unchanged + 0 quarantined; 1 soft-deleted');
    expect(await lastCheckpoint()).toEqual({ unchanged: false, complete: true, within: null, mode: 'table' });
    const keys = await sql<{ key: string; value: string; deleted: boolean }[]>`
      select k.legacy_id as key, t.value, t.deleted_at is not null as deleted from legacy_app.settings t
      join sync.id_map k on k.entity_type = 'legacy_settings' and k.uuid_id = t.id
      where k.legacy_id in ('setting-002', 'setting-003', 'setting-new') order by 1`;
    expect(keys.map((k) => ({ ...k }))).toEqual([
      { key: 'setting-002', value: 'changed', deleted: false },
      { key: 'setting-003', value: 'value 3', deleted: true },
      { key: 'setting-new', value: 'new', deleted: false },
    ]);
  });

  it('the worker schedules its pulls only (a one-way source): --once runs the incremental pull (nothing read) and the full pull', async () => {
    const result = await runAirlift(['worker', '--once'], { ...env, AIRLIFT_LOG_LEVEL: 'info' });
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stderr).toContain('the PostgreSQL source is a one-way source: its pulls are scheduled, no push');
    const runs = await sql<{ run_type: string; status: string; fetched: number; source_kind: string; job: string | null }[]>`
      select r.run_type, r.status, r.fetched::int, r.metadata ->> 'source_kind' as source_kind, j.job_name as job
      from sync.runs r join sync.jobs j on j.id = r.job_id order by r.id`;
    expect(runs.map((r) => ({ ...r, job: r.job === null ? null : 'scheduled' }))).toEqual([
      { run_type: 'incremental', status: 'completed', fetched: 0, source_kind: 'postgres', job: 'scheduled' },
      { run_type: 'full', status: 'completed', fetched: 30, source_kind: 'postgres', job: 'scheduled' },
    ]);
    const [{ n }] = await sql<{ n: number }[]>`select count(*)::int as n from graphile_worker.jobs where task_identifier like '%push%'`;
    expect(n).toBe(0);
  });
});
