/**
 * Identity lives in the id map only. The wallet example's target tables
 * keep each export's key in a column of their own (wallet_address,
 * source_id); here those columns are dropped and the entities registered
 * with no source-key column, as a legacy application's UUID-keyed target
 * would be. Through the CLI, the whole pipeline works from sync.id_map
 * alone: a full pull lands every record under a uuid entered in the map,
 * links resolve through the linked entity's map, a second full pull
 * writes nothing, verify passes, an edited export is the same differential
 * (conflicted, missing, deleted) by key, the pull that takes it in is +1
 * ~1 -1, and its rollback puts the rows and the map back (the same three
 * differences again).
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sql } from 'postgres';
import { connect } from '../src/db/database.ts';
import { PROJECT_DIR, runAirlift } from './support/cli.ts';
import { cloneTestDatabase, type TestDatabase } from './support/db.ts';

interface DiffJson {
  differences: number;
  entities: Array<{ entity: string; differences: Record<string, string[]>; fields: Record<string, Record<string, { source: unknown; target: unknown }>> }>;
}

const SOFIA = '0x5258365fb17281e9cc6344ecaca41ff826737010';
const OWNER_OF_1001 = '0x3b981936fcbde949b15f813a6eca688c8079db39';

describe('identity from the id map only: targets without a source-key column', () => {
  let db: TestDatabase;
  let sql: Sql;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const airlift = async (...args: string[]) => {
    const result = await runAirlift(args, env);
    expect(result.code, `${args.join(' ')}\n${result.stdout}\n${result.stderr}`).toBe(0);
    return result.stdout;
  };
  /** A row of a wallet table found by its key in the export, through the id map. */
  const byKey = (entity: string, table: string, key: string) => sql`
    select t.* from sync.id_map k join ${sql.unsafe(table)} t on t.id = k.uuid_id where k.entity_type = ${entity} and k.legacy_id = ${key}`;
  const mapCounts = async () =>
    (await sql<{ entity: string; rows: number; mapped: number; unmatched: number }[]>`
      select e.entity,
             (select count(*)::int from sync.id_map k where k.entity_type = e.entity) as mapped,
             x.rows, x.unmatched
      from sync.entities e
      cross join lateral (
        select count(*)::int as rows,
               count(*) filter (where not exists (select from sync.id_map k where k.entity_type = e.entity and k.uuid_id = t.id))::int as unmatched
        from (select id from wallet_app.users where e.entity = 'wallet_users'
              union all select id from wallet_app.opportunities where e.entity = 'wallet_opportunities'
              union all select id from wallet_app.admin_actions where e.entity = 'wallet_admin_actions'
              union all select id from wallet_app.kyc_documents where e.entity = 'wallet_kyc_documents') t
      ) x
      where e.entity like 'wallet\\_%' order by e.entity`).map((r) => ({ ...r }));

  beforeAll(async () => {
    db = await cloneTestDatabase();
    sql = connect(db.url, { max: 2 });
    // The target keeps no source key: the columns go, the catalogue says so.
    await sql.unsafe(`
      alter table wallet_app.users drop column wallet_address;
      alter table wallet_app.opportunities drop column source_id;
      alter table wallet_app.admin_actions drop column source_id;
      alter table wallet_app.kyc_documents drop column source_id;
      update sync.entities set source_key_column = null where entity like 'wallet\\_%';
    `);
    dir = await mkdtemp(path.join(os.tmpdir(), 'airlift-identity-'));
    await cp(path.join(PROJECT_DIR, 'examples', 'wallet-app'), dir, { recursive: true });
    env = { DATABASE_URL: db.url, AIRLIFT_MAPPING: path.join(dir, 'mapping.json') };
  });
  afterAll(async () => {
    await sql?.end();
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a full pull lands every record under a uuid in the id map, links resolved through the linked map; a second full pull writes nothing', async () => {
    const keyColumns = await sql`
      select table_name, column_name from information_schema.columns
      where table_schema = 'wallet_app' and column_name in ('wallet_address', 'source_id')`;
    expect(keyColumns).toEqual([]);

    const out = await airlift('pull', '--full');
    expect(out).toContain('fetched 133 = 132 inserted + 0 updated + 0 unchanged + 1 quarantined; 0 soft-deleted');
    // one id map entry per row, each naming a row of its entity's table
    expect(await mapCounts()).toEqual([
      { entity: 'wallet_admin_actions', rows: 28, mapped: 28, unmatched: 0 },
      { entity: 'wallet_kyc_documents', rows: 34, mapped: 34, unmatched: 0 },
      { entity: 'wallet_opportunities', rows: 30, mapped: 30, unmatched: 0 },
      { entity: 'wallet_users', rows: 40, mapped: 40, unmatched: 0 },
    ]);

    // a link lands as the linked row's uuid, found through the linked entity's map
    const [opp] = await byKey('wallet_opportunities', 'wallet_app.opportunities', 'opp-1001');
    const [owner] = await sql`select k.legacy_id from sync.id_map k where k.entity_type = 'wallet_users' and k.uuid_id = ${opp!.owner_id as string}`;
    expect(owner).toEqual({ legacy_id: OWNER_OF_1001 });
    expect(opp).toMatchObject({ title: 'Solar microgrid for Kisumu clinics', amount: '1140.00' });
    // the planted problems are still on their fields, by key
    const problems = await sql`
      select entity, source_key, field, rule from sync.field_problems where resolved_at is null and origin = 'merge' order by entity, source_key, field`;
    expect(problems).toEqual(
      expect.arrayContaining([
        { entity: 'wallet_opportunities', source_key: 'opp-1008', field: 'amount', rule: 'cell_conversion' },
        { entity: 'wallet_users', source_key: '0x27f067f635f5950a5fc5498709c4be92aa72cc60', field: 'referrer', rule: 'dangling_link' },
      ]),
    );
    // target checksums are filed under the keys the id map gives
    const [checksums] = await sql<{ n: number; unkeyed: number }[]>`
      select count(*)::int as n,
             count(*) filter (where not exists (select from sync.id_map k where k.entity_type = c.entity and k.legacy_id = c.source_key and k.uuid_id = c.row_id))::int as unkeyed
      from sync.target_checksums c where c.entity like 'wallet\\_%'`;
    expect(checksums).toEqual({ n: 132, unkeyed: 0 });

    const again = await airlift('pull', '--full');
    expect(again).toContain('fetched 133 = 0 inserted + 0 updated + 132 unchanged + 1 quarantined; 0 soft-deleted');
  });

  it('verify passes: source and target agree record by record', async () => {
    const result = JSON.parse(await airlift('verify', '--json')) as { passed: boolean; discrepancies: number };
    expect(result).toMatchObject({ passed: true, discrepancies: 0 });
  });

  let editRun: string;
  it('an edited export is the same differential by key; the pull takes it in (+1 ~1 -1) and verify passes again', async () => {
    await cp(path.join(dir, 'data-edited'), path.join(dir, 'data'), { recursive: true });
    const differing = await runAirlift(['diff', '--json'], env);
    expect(differing.code, differing.stderr).toBe(1);
    const diff = JSON.parse(differing.stdout) as DiffJson;
    expect(diff.differences).toBe(3);
    const of = (entity: string) => diff.entities.find((e) => e.entity === entity)!;
    expect(of('wallet_users').differences.conflicted_records).toEqual([SOFIA]);
    expect(of('wallet_users').fields[SOFIA]!.email).toEqual({ source: 'sofia.m@example.org', target: 'sofia.marchetti@mail.example.org' });
    expect(of('wallet_opportunities').differences.missing_records).toEqual(['opp-1031']);
    expect(of('wallet_opportunities').differences.deleted_records).toEqual(['opp-1006']);

    const out = await airlift('pull');
    expect(out).toMatch(/fetched 70 = 1 inserted \+ 1 updated \+ 68 unchanged \+ 0 quarantined; 1 soft-deleted/);
    editRun = out.match(/^Run #(\d+)/)![1]!;
    expect((await byKey('wallet_users', 'wallet_app.users', SOFIA))[0]).toMatchObject({ email: 'sofia.m@example.org' });
    expect((await byKey('wallet_opportunities', 'wallet_app.opportunities', 'opp-1006'))[0]!.deleted_at).not.toBeNull();
    expect((await byKey('wallet_opportunities', 'wallet_app.opportunities', 'opp-1031'))[0]).toMatchObject({ title: 'School garden irrigation', deleted_at: null });
    expect((JSON.parse(await airlift('verify', '--json')) as { passed: boolean }).passed).toBe(true);
  });

  it('a rollback of that pull puts the rows and the id map back as they were', async () => {
    const out = await airlift('rollback', '--run', editRun);
    expect(out).toContain(`Run #${editRun} rolled back`);
    expect((await byKey('wallet_users', 'wallet_app.users', SOFIA))[0]).toMatchObject({ email: 'sofia.marchetti@mail.example.org' });
    expect((await byKey('wallet_opportunities', 'wallet_app.opportunities', 'opp-1006'))[0]).toMatchObject({ deleted_at: null });
    expect(await byKey('wallet_opportunities', 'wallet_app.opportunities', 'opp-1031')).toEqual([]);
    const [added] = await sql`select count(*)::int as n from wallet_app.opportunities o
      where not exists (select from sync.id_map k where k.entity_type = 'wallet_opportunities' and k.uuid_id = o.id)`;
    expect(added).toEqual({ n: 0 });
    expect((await mapCounts()).find((c) => c.entity === 'wallet_opportunities')).toEqual({ entity: 'wallet_opportunities', rows: 30, mapped: 30, unmatched: 0 });
    // the target is as it was before the edited export: the same three differences, by key
    const differing = await runAirlift(['diff', '--json'], env);
    expect(differing.code, differing.stderr).toBe(1);
    const diff = JSON.parse(differing.stdout) as DiffJson;
    const of = (entity: string) => diff.entities.find((e) => e.entity === entity)!;
    expect(diff.differences).toBe(3);
    expect(of('wallet_users').differences.conflicted_records).toEqual([SOFIA]);
    expect(of('wallet_opportunities').differences.missing_records).toEqual(['opp-1031']);
    expect(of('wallet_opportunities').differences.deleted_records).toEqual(['opp-1006']);
  });
});
