/**
 * The SQLite source end to end, through the CLI as a user runs it, against
 * the example application's database written by the generator
 * (tools/generator/sqlite.ts) into a temporary folder, and its target
 * schema (pfa_app, migrations/fixtures/examples/pfa_app.sql, in the
 * committed migrations): a full pull lands every row of the nine
 * tables, the planted mess flagged on its fields by table, key, column and
 * value; verify passes; an incremental pull of the unchanged file reads and
 * writes nothing; the file edited in place (as the application would) is a
 * differential of exactly 2 conflicted, 2 missing and 1 deleted rows; the
 * next pull takes it in, reading only the tables that changed, and its
 * rollback puts every row back. A wrong path, a file that is not SQLite, a
 * table or column the file does not have, are refused naming them.
 */
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sql } from 'postgres';
import { connect } from '../src/db/database.ts';
import { applyEdits, countRows, EDITS, generateSqliteApp, PLANTED } from '../tools/generator/sqlite.ts';
import { PROJECT_DIR, runAirlift } from './support/cli.ts';
import { cloneTestDatabase, type TestDatabase } from './support/db.ts';

const RECORDS = 2_000;

const ENTITY_TABLES: Record<string, string> = {
  pfa_users: 'users', pfa_organizations: 'organizations', pfa_ai_providers: 'ai_providers', pfa_user_organizations: 'user_organizations',
  pfa_organization_configs: 'organization_configs', pfa_api_configurations: 'api_configurations', pfa_data_source_mappings: 'data_source_mappings',
  pfa_field_configurations: 'field_configurations', pfa_records: 'pfa_records',
};

interface DiffJson {
  differences: number;
  entities: Array<{ entity: string; differences: Record<string, string[]>; fields: Record<string, Record<string, { source: unknown; target: unknown }>> }>;
}

describe('SQLite source: the Prisma-style example application', () => {
  let db: TestDatabase;
  let sql: Sql;
  let dir: string;
  let file: string;
  let env: NodeJS.ProcessEnv;
  const airlift = async (...args: string[]) => {
    const result = await runAirlift(args, env);
    expect(result.code, `${args.join(' ')}\n${result.stdout}\n${result.stderr}`).toBe(0);
    return result.stdout;
  };
  const sqlite = <T>(query: string, ...params: unknown[]): T => {
    const file_ = new Database(file, { readonly: true });
    try {
      return file_.prepare(query).pluck().get(...params) as T;
    } finally {
      file_.close();
    }
  };
  const sqliteRow = (query: string): Record<string, unknown> => {
    const file_ = new Database(file, { readonly: true });
    try {
      return file_.prepare(query).get() as Record<string, unknown>;
    } finally {
      file_.close();
    }
  };
  const auditRows = async () => Number((await sql<{ n: string }[]>`select count(*) as n from audit.changes where table_name like 'pfa_app.%'`)[0]!.n);
  const targetCounts = async () =>
    Object.fromEntries(
      await Promise.all(
        Object.values(ENTITY_TABLES).map(async (table) => {
          const [row] = await sql.unsafe<{ n: number }[]>(`select count(*)::int as n from pfa_app.${table} where deleted_at is null`);
          return [table, row!.n] as const;
        }),
      ),
    );

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'airlift-sqlite-'));
    file = path.join(dir, 'pfa.db');
    await copyFile(path.join(PROJECT_DIR, 'examples', 'pfa-app', 'mapping.json'), path.join(dir, 'mapping.json'));
    generateSqliteApp({ file, records: RECORDS, seed: 7 });
    db = await cloneTestDatabase();
    sql = connect(db.url, { max: 2 });
    env = { DATABASE_URL: db.url, AIRLIFT_MAPPING: path.join(dir, 'mapping.json') };
  });
  afterAll(async () => {
    await sql?.end();
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the target schema comments every table, column and index, and every foreign key says on delete', async () => {
    const uncommented = await sql`
      select c.relname || coalesce('.' || a.attname, '') as object
      from pg_class c left join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and c.relkind = 'r'
      where c.relnamespace = 'pfa_app'::regnamespace and c.relkind in ('r', 'i') and c.relname not like '%_pkey' and c.relname not like '%_key'
        and coalesce(btrim(case when a.attname is null then obj_description(c.oid, 'pg_class') else col_description(c.oid, a.attnum) end), '') = ''`;
    expect(uncommented).toEqual([]);
    const [fks] = await sql<{ n: number; with_action: number }[]>`
      select count(*)::int as n, count(*) filter (where confdeltype in ('c', 'n', 'r'))::int as with_action
      from pg_constraint where contype = 'f' and connamespace = 'pfa_app'::regnamespace`;
    expect(fks).toEqual({ n: 12, with_action: 12 });
  });

  it('a full pull lands every row of the nine tables, the planted mess flagged by table, key, column and value', async () => {
    const out = await airlift('pull', '--full');
    const source = countRows(file);
    const total = Object.values(source).reduce((a, b) => a + b, 0);
    expect(out).toContain(`fetched ${total} = ${total} inserted + 0 updated + 0 unchanged + 0 quarantined; 0 soft-deleted`);
    expect(await targetCounts()).toEqual(source);
    expect(await sql`select source_key, reason from sync.record_errors where resolved_at is null`).toEqual([]);

    const thirdUser = sqlite<string>('select id from users where is_active = 2');
    const secondOrganization = sqlite<string>('select id from organizations order by id limit 1 offset 1');
    const problems = await sql<{ entity: string; source_table: string; source_key: string; field: string; rule: string; landed: string; value: unknown }[]>`
      select entity, source_table, source_key, field, rule, landed, value from sync.field_problems
      where resolved_at is null and origin = 'merge' order by entity, source_key, field`;
    expect(problems.map((p) => ({ ...p }))).toEqual([
      { entity: 'pfa_field_configurations', source_table: 'field_configurations', source_key: '4', field: 'position', rule: 'cell_conversion', landed: 'empty', value: PLANTED.textInteger.value },
      {
        entity: 'pfa_organizations', source_table: 'organizations', source_key: secondOrganization, field: 'settings', rule: 'cell_conversion', landed: 'empty',
        value: { refused: expect.stringMatching(/^not valid JSON: /), value: PLANTED.brokenJson.value },
      },
      { entity: 'pfa_records', source_table: 'pfa_records', source_key: '13', field: 'created_by_id', rule: 'dangling_link', landed: 'empty', value: [PLANTED.danglingUser.value] },
      { entity: 'pfa_records', source_table: 'pfa_records', source_key: '7', field: 'record_date', rule: 'cell_conversion', landed: 'empty', value: PLANTED.badDate.value },
      { entity: 'pfa_users', source_table: 'users', source_key: thirdUser, field: 'is_active', rule: 'cell_conversion', landed: 'empty', value: 2 },
    ]);
    const reasons = await sql<{ reason: string }[]>`select reason from sync.field_problems where resolved_at is null and origin = 'merge' and rule = 'cell_conversion' order by entity, source_key`;
    expect(reasons.map((r) => r.reason)).toEqual([
      'expected a whole number, got "third"',
      // the cast's reason travels with the value: a JSON text that does not parse would pass as text
      // (the parser's own words after "not valid JSON:" are Node's, and vary with its version)
      expect.stringContaining('expected text, got {"value": "{\\"theme\\": \\"dark\\",", "refused": "not valid JSON: '),
      'not a valid date: "15/03/2024"',
      'expected a checkbox (true), got 2',
    ]);
    // the records landed, the column empty
    const [bad] = await sql`select record_date, open_problem_count from pfa_app.pfa_records where sqlite_id = '7'`;
    expect(bad).toEqual({ record_date: null, open_problem_count: 1 });

    // every cast as it landed: keys as text, epoch milliseconds and seconds, SQLite's datetime text, blobs as hex, JSON lists, links
    const [record] = await sql`
      select r.amount::text, r.quantity, r.checksum_hex, r.app_created_at, o.sqlite_id as organization, u.sqlite_id as created_by, r.payload
      from pfa_app.pfa_records r join pfa_app.organizations o on o.id = r.organization_id left join pfa_app.users u on u.id = r.created_by_id
      where r.sqlite_id = '1'`;
    const row = sqliteRow('select * from pfa_records where id = 1');
    expect(record).toEqual({
      amount: (row.amount as number).toFixed(2), quantity: row.quantity, checksum_hex: (row.checksum as Buffer).toString('hex'),
      app_created_at: new Date(row.created_at as number), organization: row.organization_id, created_by: row.created_by_id, payload: row.payload,
    });
    const [provider] = await sql`select app_created_at, temperature::text, max_tokens from pfa_app.ai_providers where sqlite_id = '1'`;
    const providerRow = sqliteRow('select * from ai_providers where id = 1');
    expect(provider).toEqual({ app_created_at: new Date(`${String(providerRow.created_at).replace(' ', 'T')}Z`), temperature: '0.70', max_tokens: 16384 });
    const [config] = await sql`select features, p.sqlite_id as provider from pfa_app.organization_configs c left join pfa_app.ai_providers p on p.id = c.default_ai_provider_id order by c.sqlite_id limit 1`;
    const configRow = sqliteRow('select * from organization_configs order by id limit 1');
    expect(config).toEqual({ features: JSON.parse(configRow.features as string), provider: configRow.default_ai_provider_id === null ? null : String(configRow.default_ai_provider_id) });
    const [mapping] = await sql`select last_synced_at from pfa_app.data_source_mappings where last_synced_at is not null order by sqlite_id limit 1`;
    expect((mapping!.last_synced_at as Date).getTime() % 1000).toBe(0);
  });

  it('verify passes: the file and the target agree row by row', async () => {
    const result = JSON.parse(await airlift('verify', '--json')) as { passed: boolean; discrepancies: number };
    expect(result).toMatchObject({ passed: true, discrepancies: 0 });
  });

  it('an incremental pull of the unchanged file lists nothing and writes nothing', async () => {
    const before = await auditRows();
    const out = await airlift('pull');
    expect(out).toContain('fetched 0 = 0 inserted + 0 updated + 0 unchanged + 0 quarantined; 0 soft-deleted');
    const [run] = await sql<{ unchanged: boolean[] }[]>`
      select array_agg((c.metadata ->> 'unchanged')::boolean order by c.entity_type) as unchanged
      from sync.checkpoints c where c.run_id = (select max(id) from sync.runs where run_type = 'incremental')`;
    expect(run!.unchanged).toEqual(Array(9).fill(true));
    expect(await auditRows()).toBe(before);
  });

  let editRun: string;
  let renamedUser: string;
  let addedRecord: string;
  it('the file edited in place is a differential of exactly 2 conflicted, 2 missing, 1 deleted; the next pull reads only the changed tables and takes it in', async () => {
    renamedUser = sqlite<string>('select id from users order by id limit 1 offset 1');
    const oldName = sqlite<string>('select name from users where id = ?', renamedUser);
    applyEdits(file);
    addedRecord = String(sqlite<number>('select max(id) from pfa_records'));

    const differing = await runAirlift(['diff', '--json'], env);
    expect(differing.code, differing.stderr).toBe(1);
    const diff = JSON.parse(differing.stdout) as DiffJson;
    const found = (kind: string) => Object.fromEntries(diff.entities.filter((e) => e.differences[kind]?.length).map((e) => [e.entity, e.differences[kind]]));
    expect(found('conflicted_records')).toEqual({ pfa_users: [renamedUser], pfa_records: [EDITS.changedRecord.key] });
    expect(found('missing_records')).toEqual({ pfa_organizations: ['czadded0000000000000000000'], pfa_records: [addedRecord] });
    expect(found('deleted_records')).toEqual({ pfa_records: [EDITS.deletedRecord.key] });
    expect(diff.differences).toBe(5);
    expect(diff.entities.find((e) => e.entity === 'pfa_users')!.fields[renamedUser]!.name).toEqual({ source: EDITS.renamedUser.value, target: oldName });

    const out = await airlift('pull');
    expect(out).toMatch(/pfa_records +fetched +2000 +\+1 ~1 =1998 -1 !0/);
    expect(out).toMatch(/pfa_organizations +fetched +\d+ +\+1 ~0 /);
    expect(out).toMatch(/pfa_users +fetched +\d+ +\+0 ~1 /);
    editRun = out.match(/^Run #(\d+)/)![1]!;
    // the file changed, so each table's checksum was compared: only the three edited tables were listed
    const unchanged = await sql<{ entity_type: string; unchanged: boolean }[]>`
      select entity_type, (metadata ->> 'unchanged')::boolean as unchanged from sync.checkpoints where run_id = ${editRun} order by entity_type`;
    expect(unchanged.filter((c) => !c.unchanged).map((c) => c.entity_type)).toEqual(['pfa_organizations', 'pfa_records', 'pfa_users']);
    const [rows] = await sql`
      select (select name from pfa_app.users where sqlite_id = ${renamedUser}) as name,
             (select amount::text from pfa_app.pfa_records where sqlite_id = ${EDITS.changedRecord.key}) as amount,
             (select deleted_at is not null from pfa_app.pfa_records where sqlite_id = ${EDITS.deletedRecord.key}) as deleted,
             (select category from pfa_app.pfa_records where sqlite_id = ${addedRecord}) as added`;
    expect(rows).toEqual({ name: EDITS.renamedUser.value, amount: '999.99', deleted: true, added: 'services' });
    expect((JSON.parse(await airlift('verify', '--json')) as { passed: boolean }).passed).toBe(true);
  });

  it('a rollback of that pull puts every row back as it was', async () => {
    const out = await airlift('rollback', '--run', editRun);
    expect(out).toContain(`Run #${editRun} rolled back`);
    const [rows] = await sql`
      select (select name from pfa_app.users where sqlite_id = ${renamedUser}) <> ${EDITS.renamedUser.value} as renamed_back,
             (select deleted_at is null from pfa_app.pfa_records where sqlite_id = ${EDITS.deletedRecord.key}) as live,
             (select count(*)::int from pfa_app.pfa_records where sqlite_id = ${addedRecord}) as added,
             (select count(*)::int from pfa_app.organizations where sqlite_id = 'czadded0000000000000000000') as added_organization`;
    expect(rows).toEqual({ renamed_back: true, live: true, added: 0, added_organization: 0 });
  });

  it('a wrong path and a file that is not SQLite are refused naming the file (exit 2); a missing table or column fails the pull naming it; push refuses a one-way source', async () => {
    const mapping = JSON.parse(await readFile(path.join(dir, 'mapping.json'), 'utf8'));
    const run = async (name: string, change: (m: typeof mapping) => void) => {
      const copy = structuredClone(mapping);
      change(copy);
      await writeFile(path.join(dir, name), JSON.stringify(copy));
      return runAirlift(['pull', '--full'], { ...env, AIRLIFT_MAPPING: path.join(dir, name) });
    };
    const missing = await run('wrong-path.json', (m) => (m.source.path = 'no-such.db'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`the SQLite source ${path.join(dir, 'no-such.db')} cannot be opened`);

    await writeFile(path.join(dir, 'notes.db'), 'these are notes, not a database\n'.repeat(200));
    const notSqlite = await run('not-sqlite.json', (m) => (m.source.path = 'notes.db'));
    expect(notSqlite.code).toBe(2);
    expect(notSqlite.stderr).toContain(`the SQLite source ${path.join(dir, 'notes.db')} cannot be read: file is not a database`);

    const noTable = await run('no-table.json', (m) => (m.tables[8].table = 'pfa_record'));
    expect(noTable.code).toBe(1);
    expect(noTable.stderr).toContain(`the SQLite database ${file} has no table "pfa_record" (table pfa_records; it has ai_providers, api_configurations,`);

    const noColumn = await run('no-column.json', (m) => (m.tables[0].fields[1].from = 'full_name'));
    expect(noColumn.code).toBe(1);
    expect(noColumn.stderr).toContain('table "users" (table pfa_users) has no column "full_name", mapped to name (it has id, email, name,');

    const badCast = await run('bad-cast.json', (m) => (m.tables[0].fields[3].convert = 'date'));
    expect(badCast.code).toBe(2);
    expect(badCast.stderr).toContain('tables.0.fields.3.convert: a boolean cast feeds checkbox, not date');

    // one-way: nothing is pushed to a SQLite file
    const push = await runAirlift(['push'], env);
    expect(push.code).toBe(2);
    expect(push.stderr).toContain('reads sqlite, a one-way source: only an Airtable base is pushed to');
  });
});
