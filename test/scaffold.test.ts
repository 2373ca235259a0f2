/**
 * `airlift scaffold` end to end, through the CLI, on real files and real
 * databases.
 *
 * SQLite: the example application's file (tools/generator/sqlite.ts, written
 * into a temporary folder) is drafted into schema pfa_draft (not the
 * committed pfa_app); the draft migration applies, twice (it is
 * idempotent), to a fresh clone as airlift_owner, every object it makes is
 * commented and every foreign key says on delete and has an index; the
 * drafted mapping pulls every row with no problem but the planted mess,
 * each flagged on its field (which the draft's REVIEW notes announced);
 * verify passes. Bad input (an unknown kind, a missing or non-SQLite file,
 * an output directory that cannot be written, a taken or malformed schema
 * name, a draft that would be overwritten) exits 2 naming it. A hand-made
 * file with what a draft cannot take as it is (a composite key, a table
 * that is only its key, no primary key but a unique column, a cycle of
 * foreign keys, a keyword for a table and a column, camelCase, a REAL of
 * three decimals, a large INTEGER, 0/1 integers, an untyped column of mixed
 * storage classes) is drafted with a note for each, applies, pulls and
 * verifies.
 *
 * Files: the wallet example's exports (examples/wallet-app/data) drafted
 * into wallet_draft: formats, keys (a keyed object, hex keys lowercased),
 * nested paths, types from values, links from values; the draft applies and
 * its mapping pulls every record, only the planted mess flagged; verify
 * passes.
 *
 * PostgreSQL: a second database on the test server, a legacy chain of
 * integer-keyed tables, drafted from its catalog into legacy_draft; the
 * draft applies twice. (No pull: the postgres source is built elsewhere.)
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Sql } from 'postgres';
import { connect, quoteIdent } from '../src/db/database.ts';
import { urlWithDatabase } from '../src/db/embedded.ts';
import { countRows, generateSqliteApp, PLANTED } from '../tools/generator/sqlite.ts';
import { PROJECT_DIR, runAirlift } from './support/cli.ts';
import { cloneTestDatabase, type TestDatabase } from './support/db.ts';

const RECORDS = 300;
const SCHEMA = 'pfa_draft';

interface MappingJson {
  source: { kind: string; path: string };
  tables: Array<{ entity: string; table?: string; file?: string; key: string; keyCase?: string; recordsPath?: string; target: string; fields: Array<Record<string, unknown>> }>;
}

describe('airlift scaffold: a SQLite file', () => {
  let db: TestDatabase;
  let sql: Sql;
  let dir: string;
  let file: string;
  let out: string;
  let env: NodeJS.ProcessEnv;
  let migration: string;
  let mapping: MappingJson;
  const airlift = async (...args: string[]) => {
    const result = await runAirlift(args, env);
    expect(result.code, `${args.join(' ')}\n${result.stdout}\n${result.stderr}`).toBe(0);
    return result.stdout;
  };
  const field = (table: string, from: string) => mapping.tables.find((t) => t.table === table)!.fields.find((f) => f.from === from);
  const sqliteValue = <T>(query: string): T => {
    const handle = new Database(file, { readonly: true });
    try {
      return handle.prepare(query).pluck().get() as T;
    } finally {
      handle.close();
    }
  };
  const apply = async () => {
    await sql.begin(async (tx) => {
      await tx.unsafe('set local role airlift_owner');
      await tx.unsafe(migration);
    });
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'airlift-scaffold-'));
    file = path.join(dir, 'pfa.db');
    out = path.join(dir, 'draft');
    generateSqliteApp({ file, records: RECORDS, seed: 11 });
    db = await cloneTestDatabase();
    sql = connect(db.url, { max: 2, onnotice: () => {} });
    env = { DATABASE_URL: db.url, AIRLIFT_MAPPING: path.join(out, 'mapping.json') };
  });
  afterAll(async () => {
    await sql?.end();
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('refuses what it cannot read or write, exit 2, naming it', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--source', 'oracle:whatever', '--out', out], /unknown source kind "oracle"/],
      [['--source', 'sqlite:', '--out', out], /say where the source is/],
      [['--source', `sqlite:${path.join(dir, 'missing.db')}`, '--out', out], /the SQLite source .*missing\.db cannot be opened/],
      [['--source', `sqlite:${path.join(dir, 'not-sqlite.db')}`, '--out', out], /the SQLite source .*not-sqlite\.db cannot be read: file is not a database/],
      [['--source', `sqlite:${file}`, '--out', path.join(dir, 'not-sqlite.db', 'draft')], /--out .*not-sqlite\.db\/draft cannot be written: ENOTDIR/],
      [['--source', `sqlite:${file}`, '--out', out, '--schema', 'sync'], /--schema "sync" is taken/],
      [['--source', `sqlite:${file}`, '--out', out, '--schema', 'Bad-Name'], /--schema "Bad-Name" is not a schema name/],
      [['--out', out], /required option '--source <spec>' not specified/],
    ];
    await writeFile(path.join(dir, 'not-sqlite.db'), 'this is a text file, not a database\n'.repeat(200));
    for (const [args, message] of cases) {
      const result = await runAirlift(['scaffold', ...args], env);
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr).toMatch(message);
    }
  });

  it('drafts a migration and a mapping, the undecidable written as REVIEW notes', async () => {
    const stdout = await airlift('scaffold', '--source', `sqlite:${file}`, '--out', out, '--schema', SCHEMA);
    expect(stdout).toMatch(/^drafted schema pfa_draft: 9 table\(s\)\n/);
    migration = await readFile(path.join(out, 'migration.sql'), 'utf8');
    mapping = JSON.parse(await readFile(path.join(out, 'mapping.json'), 'utf8')) as MappingJson;

    // the mapping: the SQLite source, relative to the mapping, the tables in merge order with their keys
    expect(mapping.source).toEqual({ kind: 'sqlite', path: '../pfa.db' });
    expect(mapping.tables.map((t) => [t.table, t.entity, t.key, t.target])).toEqual([
      ['ai_providers', 'pfa_draft_ai_providers', 'id', 'pfa_draft.ai_providers'],
      ['organizations', 'pfa_draft_organizations', 'id', 'pfa_draft.organizations'],
      ['users', 'pfa_draft_users', 'id', 'pfa_draft.users'],
      ['api_configurations', 'pfa_draft_api_configurations', 'id', 'pfa_draft.api_configurations'],
      ['organization_configs', 'pfa_draft_organization_configs', 'id', 'pfa_draft.organization_configs'],
      ['user_organizations', 'pfa_draft_user_organizations', 'id', 'pfa_draft.user_organizations'],
      ['data_source_mappings', 'pfa_draft_data_source_mappings', 'id', 'pfa_draft.data_source_mappings'],
      ['field_configurations', 'pfa_draft_field_configurations', 'id', 'pfa_draft.field_configurations'],
      ['pfa_records', 'pfa_draft_pfa_records', 'id', 'pfa_draft.pfa_records'],
    ]);
    // the cast rules, decided from declared types and values (as the hand-written examples/pfa-app/mapping.json has them)
    expect(field('users', 'created_at')).toEqual({ from: 'created_at', column: 'app_created_at', cast: 'epoch_milliseconds' });
    expect(field('users', 'is_active')).toEqual({ from: 'is_active', column: 'is_active', cast: 'boolean' });
    expect(field('users', 'avatar_sha256')).toEqual({ from: 'avatar_sha256', column: 'avatar_sha256', cast: 'blob', encoding: 'hex' });
    expect(field('organizations', 'settings')).toEqual({ from: 'settings', column: 'settings', cast: 'json' });
    expect(field('ai_providers', 'created_at')).toEqual({ from: 'created_at', column: 'app_created_at', cast: 'timestamp' });
    expect(field('ai_providers', 'temperature')).toEqual({ from: 'temperature', column: 'temperature', cast: 'real' });
    expect(field('ai_providers', 'max_tokens')).toEqual({ from: 'max_tokens', column: 'max_tokens', cast: 'integer' });
    expect(field('organization_configs', 'default_ai_provider_id')).toEqual({ from: 'default_ai_provider_id', column: 'default_ai_provider_id', cast: 'key', linkedEntity: 'pfa_draft_ai_providers' });
    expect(field('organization_configs', 'fiscal_year_start')).toEqual({ from: 'fiscal_year_start', column: 'fiscal_year_start', cast: 'date' });
    expect(field('organization_configs', 'features')).toEqual({ from: 'features', column: 'features', cast: 'json', convert: 'multi_select' });
    expect(field('data_source_mappings', 'last_synced_at')).toEqual({ from: 'last_synced_at', column: 'last_synced_at', cast: 'epoch_seconds' });
    expect(field('field_configurations', 'position')).toEqual({ from: 'position', column: 'position_value', cast: 'integer' });
    expect(field('pfa_records', 'record_date')).toEqual({ from: 'record_date', column: 'record_date', cast: 'date' });
    expect(field('pfa_records', 'checksum')).toEqual({ from: 'checksum', column: 'checksum_value', cast: 'blob', encoding: 'hex' });
    expect(field('pfa_records', 'created_by_id')).toEqual({ from: 'created_by_id', column: 'created_by_id', cast: 'key', linkedEntity: 'pfa_draft_users' });

    // the planted mess, and what the draft could not decide by itself, are REVIEW notes next to their columns
    const reviews = migration.split('\n').filter((line) => line.startsWith('-- REVIEW: '));
    const about = (object: string) => reviews.filter((line) => line.startsWith(`-- REVIEW: ${SCHEMA}.${object}: `)).map((line) => line.slice(`-- REVIEW: ${SCHEMA}.${object}: `.length));
    const users = countRows(file).users!;
    expect(about('users.is_active')).toEqual([`1 of ${users} values are not 0 or 1 (or true/false text) (e.g. 2): each lands as a field problem (the column empty)`]);
    expect(about('organizations.settings')).toEqual([expect.stringMatching(/^1 of \d+ values do not parse as JSON \(e\.g\. "\{\\"theme\\": \\"dark\\","\): each lands as a field problem/)]);
    expect(about('pfa_records.record_date')).toEqual([
      `1 of ${RECORDS} values are not ISO dates (YYYY-MM-DD) (e.g. "15/03/2024"): each lands as a field problem (the column empty)`,
      `TEXT holding ISO dates (${RECORDS - 1} of ${RECORDS}): read as a date; cast text to keep them as written`,
    ]);
    expect(about('field_configurations.position_value')).toEqual([expect.stringMatching(/^1 of \d+ values are not whole numbers \(e\.g\. "third"\)/)]);
    expect(about('ai_providers.app_created_at')).toEqual([expect.stringMatching(/^TEXT holding date-times/)]);
    expect(about('data_source_mappings.last_synced_at')).toEqual([expect.stringMatching(/^an INTEGER named like a time, values \d+ to \d+: read as epoch seconds/)]);
    expect(about('users')).toEqual([expect.stringMatching(/^a UNIQUE constraint over \(email\) is unique in SQLite; drafted as a plain index/)]);
    // each note of the list at the top is also written where its object is drafted
    const listed = reviews.filter((line) => line.startsWith(`-- REVIEW: ${SCHEMA}.`)).map((line) => line.replace(/^-- REVIEW: [a-z_.]+: /, '')).sort();
    const inline = migration.split('\n').filter((line) => /^\s*-- REVIEW: /.test(line) && !line.startsWith(`-- REVIEW: ${SCHEMA}.`)).map((line) => line.trim().slice('-- REVIEW: '.length)).sort();
    expect(inline).toEqual(listed);
    expect(migration).toContain(`-- ${listed.length} REVIEW note(s), each repeated next to its object:`);
    // the renames are said in the column's comment
    expect(migration).toContain("comment on column pfa_draft.field_configurations.position_value is E'From SQLite field_configurations.position: an INTEGER in SQLite (declared INTEGER); the merge takes whole numbers from -32,768 to 32,767 (renamed from position: a merged column may not be named position,");
    expect(migration).toContain('comment on column pfa_draft.users.app_created_at is E\'From SQLite users.created_at: epoch milliseconds in SQLite (declared datetime: Prisma\'\'s DateTime) (renamed from created_at: the draft keeps a column of that name of its own).\';');

    // a draft is not overwritten unless asked
    const again = await runAirlift(['scaffold', '--source', `sqlite:${file}`, '--out', out, '--schema', SCHEMA], env);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/migration\.sql exists: scaffold does not overwrite a draft .*--force/);
    await airlift('scaffold', '--source', `sqlite:${file}`, '--out', out, '--schema', SCHEMA, '--force');
    expect((await readFile(path.join(out, 'migration.sql'), 'utf8')).replace(/on \S+Z\./, '')).toBe(migration.replace(/on \S+Z\./, ''));
  });

  it('--sample counts the first rows of each table only, and says so', async () => {
    const sampled = path.join(dir, 'sampled');
    await airlift('scaffold', '--source', `sqlite:${file}`, '--out', sampled, '--schema', SCHEMA, '--sample', '100');
    const draft = await readFile(path.join(sampled, 'migration.sql'), 'utf8');
    expect(draft).toContain(`-- REVIEW: ${SCHEMA}.pfa_records: values counted over the first 100 of ${RECORDS} rows (--sample): a value further down may not fit its column; draft without --sample before committing`);
    expect(draft).not.toContain(`-- REVIEW: ${SCHEMA}.users: values counted`); // 30 users: all counted
  });

  it('the draft applies as airlift_owner, twice (idempotent), every object commented and every foreign key with on delete', async () => {
    await apply();
    await apply();
    const uncommented = await sql`
      select c.relname || coalesce('.' || a.attname, '') as object
      from pg_class c left join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and c.relkind = 'r'
      where c.relnamespace = ${SCHEMA}::regnamespace and c.relkind in ('r', 'i') and c.relname not like '%_pkey' and c.relname not like '%_key'
        and coalesce(btrim(case when a.attname is null then obj_description(c.oid, 'pg_class') else col_description(c.oid, a.attnum) end), '') = ''
      union all
      select conname from pg_constraint where connamespace = ${SCHEMA}::regnamespace and contype = 'f' and obj_description(oid, 'pg_constraint') is null
      union all
      select tgname from pg_trigger where tgrelid in (select oid from pg_class where relnamespace = ${SCHEMA}::regnamespace) and not tgisinternal
        and tgname = '_100_set_updated_at' and obj_description(oid, 'pg_trigger') is null`;
    expect(uncommented).toEqual([]);
    const [fks] = await sql<{ n: number; with_action: number; indexed: number }[]>`
      select count(*)::int as n, count(*) filter (where confdeltype in ('c', 'n', 'r'))::int as with_action,
             count(*) filter (where exists (select 1 from pg_index i where i.indrelid = f.conrelid and i.indkey[0] = f.conkey[1]))::int as indexed
      from pg_constraint f where contype = 'f' and connamespace = ${SCHEMA}::regnamespace`;
    expect(fks).toEqual({ n: 12, with_action: 12, indexed: 12 });
    // SQLite's own on delete, carried over
    const actions = await sql<{ link: string; action: string }[]>`
      select conrelid::regclass::text || '.' || (select attname from pg_attribute where attrelid = conrelid and attnum = conkey[1]) as link, confdeltype::text as action
      from pg_constraint where contype = 'f' and connamespace = ${SCHEMA}::regnamespace order by 1`;
    expect(Object.fromEntries(actions.map((a) => [a.link, a.action]))).toMatchObject({
      'pfa_draft.api_configurations.ai_provider_id': 'r', 'pfa_draft.pfa_records.created_by_id': 'n', 'pfa_draft.pfa_records.organization_id': 'c',
    });
    const [catalogue] = await sql<{ entities: number; columns: number; triggers: number }[]>`
      select (select count(*)::int from sync.entities where entity like 'pfa\_draft\_%') as entities,
             (select count(*)::int from sync.entity_columns where entity like 'pfa\_draft\_%') as columns,
             (select count(distinct tgrelid)::int from pg_trigger where tgrelid in (select oid from pg_class where relnamespace = ${SCHEMA}::regnamespace) and tgname like '%audit%') as triggers`;
    expect(catalogue).toEqual({ entities: 9, columns: mapping.tables.reduce((n, t) => n + t.fields.length, 0), triggers: 9 });
  });

  it('the drafted mapping pulls every row, only the planted mess flagged on its fields, and verify passes', async () => {
    const stdout = await airlift('pull', '--full');
    const source = countRows(file);
    const total = Object.values(source).reduce((a, b) => a + b, 0);
    expect(stdout).toContain(`fetched ${total} = ${total} inserted + 0 updated + 0 unchanged + 0 quarantined; 0 soft-deleted`);
    for (const [table, rows] of Object.entries(source)) {
      const [row] = await sql.unsafe<{ n: number }[]>(`select count(*)::int as n from ${SCHEMA}.${table} where deleted_at is null`);
      expect({ table, rows: row!.n }).toEqual({ table, rows });
    }
    expect(await sql`select source_key, reason from sync.record_errors where resolved_at is null`).toEqual([]);
    const thirdUser = sqliteValue<string>('select id from users where is_active = 2');
    const secondOrganization = sqliteValue<string>('select id from organizations order by id limit 1 offset 1');
    const problems = await sql<{ entity: string; source_key: string; field: string; rule: string; value: unknown }[]>`
      select entity, source_key, field, rule, value from sync.field_problems where resolved_at is null order by entity, source_key, field`;
    expect(problems.map((p) => ({ ...p }))).toEqual([
      { entity: 'pfa_draft_field_configurations', source_key: '4', field: 'position', rule: 'cell_conversion', value: PLANTED.textInteger.value },
      { entity: 'pfa_draft_organizations', source_key: secondOrganization, field: 'settings', rule: 'cell_conversion', value: { refused: expect.stringMatching(/^not valid JSON: /), value: PLANTED.brokenJson.value } },
      { entity: 'pfa_draft_pfa_records', source_key: '13', field: 'created_by_id', rule: 'dangling_link', value: [PLANTED.danglingUser.value] },
      { entity: 'pfa_draft_pfa_records', source_key: '7', field: 'record_date', rule: 'cell_conversion', value: PLANTED.badDate.value },
      { entity: 'pfa_draft_users', source_key: thirdUser, field: 'is_active', rule: 'cell_conversion', value: 2 },
    ]);
    // values landed typed: a record as SQLite holds it
    const [record] = await sql`
      select r.amount::text, r.quantity, r.checksum_value, r.app_created_at, r.record_date::text, o.sqlite_id as organization
      from pfa_draft.pfa_records r join pfa_draft.organizations o on o.id = r.organization_id where r.sqlite_id = '1'`;
    const handle = new Database(file, { readonly: true });
    const row = handle.prepare('select * from pfa_records where id = 1').get() as Record<string, unknown>;
    handle.close();
    expect(record).toEqual({
      amount: (row.amount as number).toFixed(2), quantity: row.quantity, checksum_value: (row.checksum as Buffer).toString('hex'),
      app_created_at: new Date(row.created_at as number), record_date: row.record_date, organization: row.organization_id,
    });
    const verify = await runAirlift(['verify'], env);
    expect(verify.code, `${verify.stdout}\n${verify.stderr}`).toBe(0);
    expect(verify.stdout).toContain('PASSED');
  });
});

describe('airlift scaffold: a SQLite file with what a draft cannot take as it is', () => {
  const EDGE_SCHEMA = 'edge_draft';
  let db: TestDatabase;
  let sql: Sql;
  let dir: string;
  let file: string;
  let out: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'airlift-scaffold-edge-'));
    file = path.join(dir, 'edge.db');
    out = path.join(dir, 'draft');
    const handle = new Database(file);
    handle.pragma('foreign_keys = off'); // the rows link both ways
    handle.exec(`
      create table customer (id text primary key, name text, "bestOrderId" integer references "Order" (id));
      create table "Order" (id integer primary key, "customerId" text references customer (id) on delete cascade, "createdAt" datetime,
                            total real, big integer, flag integer, position integer, note, "select" text);
      create table order_tags (order_id integer references "Order" (id), tag text, primary key (order_id, tag));
      create table legacy (code text not null unique, label text);
      create table only_key (id integer primary key);
      insert into customer values ('c1', 'Ada', 2), ('c2', 'Grace', null);
      insert into "Order" values (1, 'c1', 1700000000000, 1.234, 100000, 0, 1, 5, 'a'), (2, 'c1', 1700000001000, 2.5, 7, 1, 2, 6, 'b'),
                                 (3, 'c2', 1700000002000, 3, 8, 1, 3, 'abc', 'c');
      insert into order_tags values (1, 'x'), (1, 'y');
      insert into legacy values ('L-1', 'one'), ('L-2', 'two');
      insert into only_key values (1);
    `);
    handle.close();
    db = await cloneTestDatabase();
    sql = connect(db.url, { max: 2, onnotice: () => {} });
    env = { DATABASE_URL: db.url, AIRLIFT_MAPPING: path.join(out, 'mapping.json') };
  });
  afterAll(async () => {
    await sql?.end();
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('refuses what has no single key, renames what would clash, breaks a cycle of links, and says so; the draft applies and pulls', async () => {
    const result = await runAirlift(['scaffold', '--source', `sqlite:${file}`, '--out', out, '--schema', EDGE_SCHEMA], env);
    expect(result.code, result.stderr).toBe(0);
    const migration = await readFile(path.join(out, 'migration.sql'), 'utf8');
    const mapping = JSON.parse(await readFile(path.join(out, 'mapping.json'), 'utf8')) as MappingJson;
    const notes = migration.split('\n').filter((line) => /^-- REVIEW: (edge_draft\.|order_tags|only_key)/.test(line)).map((line) => line.slice('-- REVIEW: '.length));
    expect(notes).toEqual(expect.arrayContaining([
      expect.stringMatching(/^only_key: not drafted: only its key column id/),
      expect.stringMatching(/^order_tags: not drafted: a composite primary key \(order_id, tag\)/),
      expect.stringMatching(/^edge_draft\.legacy: no primary key: keyed by code, the column of a unique index/),
      expect.stringMatching(/^edge_draft\.orders\.customer_id: a foreign key to customer that closes a cycle of links/),
      expect.stringMatching(/^edge_draft\.orders\.total: 1 values have more than two decimals \(e\.g\. 1\.234\): money .* kept as their decimal text/),
      expect.stringMatching(/^edge_draft\.orders\.big: values from 7 to 100000: beyond the merge's whole numbers/),
      expect.stringMatching(/^edge_draft\.orders\.flag: an INTEGER holding only 0 and 1: a boolean\?/),
      expect.stringMatching(/^edge_draft\.orders\.note: no declared type: its values are 2 INTEGER, 1 TEXT; read as INTEGER/),
      expect.stringMatching(/^edge_draft\.orders\.note: 1 of 3 values are not whole numbers \(e\.g\. "abc"\)/),
    ]));
    expect(mapping.tables.map((t) => [t.table, t.entity, t.key, t.target])).toEqual([
      ['legacy', 'edge_draft_legacy', 'code', 'edge_draft.legacy'],
      ['Order', 'edge_draft_orders', 'id', 'edge_draft.orders'],
      ['customer', 'edge_draft_customer', 'id', 'edge_draft.customer'],
    ]);
    const orderFields = mapping.tables.find((t) => t.table === 'Order')!.fields;
    expect(orderFields).toEqual([
      { from: 'customerId', column: 'customer_id', cast: 'text' },
      { from: 'createdAt', column: 'app_created_at', cast: 'epoch_milliseconds' },
      { from: 'total', column: 'total', cast: 'real', convert: 'text' },
      { from: 'big', column: 'big', cast: 'integer', convert: 'text' },
      { from: 'flag', column: 'flag', cast: 'integer' },
      { from: 'position', column: 'position_value', cast: 'integer' },
      { from: 'note', column: 'note', cast: 'integer' },
      { from: 'select', column: 'select', cast: 'text' },
    ]);
    expect(migration).toContain('create table edge_draft.orders (');
    expect(migration).toContain('  "select" text,');
    await sql.begin(async (tx) => {
      await tx.unsafe('set local role airlift_owner');
      await tx.unsafe(migration);
    });
    const pulled = await runAirlift(['pull', '--full'], env);
    expect(pulled.code, `${pulled.stdout}\n${pulled.stderr}`).toBe(0);
    expect(pulled.stdout).toContain('fetched 7 = 7 inserted + 0 updated + 0 unchanged + 0 quarantined; 0 soft-deleted');
    const problems = await sql`select entity, source_key, field, rule from sync.field_problems where resolved_at is null order by 1, 2, 3`;
    expect(problems.map((p) => ({ ...p }))).toEqual([{ entity: 'edge_draft_orders', source_key: '3', field: 'note', rule: 'cell_conversion' }]);
    const rows = await sql`
      select o.sqlite_id, o.customer_id, o.total, o.big, o."select", c.sqlite_id as best_of
      from edge_draft.orders o left join edge_draft.customer c on c.best_order_id = o.id order by o.sqlite_id`;
    expect(rows.map((r) => ({ ...r }))).toEqual([
      { sqlite_id: '1', customer_id: 'c1', total: '1.234', big: '100000', select: 'a', best_of: null },
      { sqlite_id: '2', customer_id: 'c1', total: '2.5', big: '7', select: 'b', best_of: 'c1' },
      { sqlite_id: '3', customer_id: 'c2', total: '3', big: '8', select: 'c', best_of: null },
    ]);
    const verify = await runAirlift(['verify'], env);
    expect(verify.code, `${verify.stdout}\n${verify.stderr}`).toBe(0);
  });
});

describe('airlift scaffold: a directory of exports (the wallet app example)', () => {
  const WALLET_SCHEMA = 'wallet_draft';
  let db: TestDatabase;
  let sql: Sql;
  let dir: string;
  let out: string;
  let env: NodeJS.ProcessEnv;
  let migration: string;
  let mapping: MappingJson;
  const exportsDir = path.join(PROJECT_DIR, 'examples', 'wallet-app', 'data');
  const airlift = async (...args: string[]) => {
    const result = await runAirlift(args, env);
    expect(result.code, `${args.join(' ')}\n${result.stdout}\n${result.stderr}`).toBe(0);
    return result.stdout;
  };
  const table = (file: string) => mapping.tables.find((t) => t.file === file)!;
  const field = (file: string, p: string) => table(file).fields.find((f) => f.path === p);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'airlift-scaffold-files-'));
    out = path.join(dir, 'draft');
    db = await cloneTestDatabase();
    sql = connect(db.url, { max: 2, onnotice: () => {} });
    env = { DATABASE_URL: db.url, AIRLIFT_MAPPING: path.join(out, 'mapping.json') };
  });
  afterAll(async () => {
    await sql?.end();
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('refuses a directory it cannot read, exit 2', async () => {
    const result = await runAirlift(['scaffold', '--source', `files:${path.join(dir, 'nowhere')}`, '--out', out], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/the files source .*nowhere cannot be read: ENOENT/);
    const sampled = await runAirlift(['scaffold', '--source', `files:${exportsDir}`, '--out', out, '--sample', '10'], env);
    expect(sampled.code).toBe(2);
    expect(sampled.stderr).toMatch(/--sample applies to a SQLite source only, not files/);
  });

  it('infers tables, keys, fields, types and links from the exports', async () => {
    await airlift('scaffold', '--source', `files:${exportsDir}`, '--out', out, '--schema', WALLET_SCHEMA);
    migration = await readFile(path.join(out, 'migration.sql'), 'utf8');
    mapping = JSON.parse(await readFile(path.join(out, 'mapping.json'), 'utf8')) as MappingJson;
    expect(mapping.source).toEqual({ kind: 'files', path: path.relative(out, exportsDir) });
    expect(mapping.tables.map((t) => [t.file, t.entity, t.key, t.keyCase ?? null, t.recordsPath ?? null, t.target])).toEqual([
      ['users.json', 'wallet_draft_users', '$key', 'lower', null, 'wallet_draft.users'],
      ['kyc_documents.json', 'wallet_draft_kyc_documents', 'id', null, 'documents', 'wallet_draft.kyc_documents'],
      ['opportunities.csv', 'wallet_draft_opportunities', 'id', null, null, 'wallet_draft.opportunities'],
      // after the documents: its details.document names one
      ['admin_logs.jsonl', 'wallet_draft_admin_logs', 'id', null, null, 'wallet_draft.admin_logs'],
    ]);
    expect(field('users.json', 'phone.mobile')).toEqual({ path: 'phone.mobile', column: 'phone_mobile', convert: 'text' });
    expect(field('users.json', 'phone.verified')).toEqual({ path: 'phone.verified', column: 'phone_verified', convert: 'checkbox' });
    expect(field('users.json', 'createdAt')).toEqual({ path: 'createdAt', column: 'app_created_at', convert: 'timestamp' });
    expect(field('users.json', 'referrer')).toEqual({ path: 'referrer', column: 'referrer_id', convert: 'link', linkedEntity: 'wallet_draft_users', keyCase: 'lower' });
    expect(field('opportunities.csv', 'owner')).toEqual({ path: 'owner', column: 'owner_id', convert: 'link', linkedEntity: 'wallet_draft_users', keyCase: 'lower' });
    expect(field('opportunities.csv', 'amount')).toEqual({ path: 'amount', column: 'amount', convert: 'money' });
    expect(field('opportunities.csv', 'closes_on')).toEqual({ path: 'closes_on', column: 'closes_on', convert: 'date' });
    expect(field('opportunities.csv', 'tags')).toEqual({ path: 'tags', column: 'tags', convert: 'multi_select', split: ';' });
    expect(field('kyc_documents.json', 'checks.face_match')).toEqual({ path: 'checks.face_match', column: 'checks_face_match', convert: 'checkbox' });
    expect(field('admin_logs.jsonl', 'at')).toEqual({ path: 'at', column: 'at', convert: 'timestamp' });

    const reviews = migration.split('\n').filter((line) => line.startsWith(`-- REVIEW: ${WALLET_SCHEMA}.`));
    expect(reviews).toEqual(expect.arrayContaining([
      '-- REVIEW: wallet_draft.opportunities.amount: 1 of 30 values are not numbers (e.g. "TBD"): each lands as a field problem (the column empty)',
      expect.stringMatching(/^-- REVIEW: wallet_draft\.opportunities\.closes_on: 1 of \d+ values are not valid ISO dates \(YYYY-MM-DD\) \(e\.g\. "2025-02-30"\)/),
      expect.stringMatching(/^-- REVIEW: wallet_draft\.admin_logs: 1 line does not parse as a JSON object \(first: line 18\): the pull quarantines them/),
      expect.stringMatching(/^-- REVIEW: wallet_draft\.users\.referrer_id: no foreign key in the exports: \d+ of \d+ distinct values are keys of users\.json, so a link to users .*; 1 name no record/),
      expect.stringMatching(/^-- REVIEW: wallet_draft\.users: keys are hex \("0x[0-9a-f]+(\.\.\.)?"\), whose case means nothing: lowercased \(keyCase lower\).*; 1 are written in upper case$/),
    ]));
  });

  it('the draft applies twice as airlift_owner, and its mapping pulls every record, only the planted mess flagged; verify passes', async () => {
    for (let i = 0; i < 2; i++) {
      await sql.begin(async (tx) => {
        await tx.unsafe('set local role airlift_owner');
        await tx.unsafe(migration);
      });
    }
    const stdout = await airlift('pull', '--full');
    expect(stdout).toContain('fetched 133 = 132 inserted + 0 updated + 0 unchanged + 1 quarantined; 0 soft-deleted');
    const [counts] = await sql`
      select (select count(*)::int from wallet_draft.users) as users, (select count(*)::int from wallet_draft.opportunities) as opportunities,
             (select count(*)::int from wallet_draft.admin_logs) as actions, (select count(*)::int from wallet_draft.kyc_documents) as documents`;
    expect(counts).toEqual({ users: 40, opportunities: 30, actions: 28, documents: 34 });
    const problems = await sql<{ entity: string; source_key: string; field: string; rule: string; value: unknown }[]>`
      select entity, source_key, field, rule, value from sync.field_problems where resolved_at is null order by entity, source_key, field`;
    expect(problems.map((p) => ({ ...p }))).toEqual([
      { entity: 'wallet_draft_opportunities', source_key: 'opp-1008', field: 'amount', rule: 'cell_conversion', value: 'TBD' },
      { entity: 'wallet_draft_opportunities', source_key: 'opp-1013', field: 'closes_on', rule: 'cell_conversion', value: '2025-02-30' },
      { entity: 'wallet_draft_users', source_key: '0x27f067f635f5950a5fc5498709c4be92aa72cc60', field: 'referrer', rule: 'dangling_link', value: ['0x9f3c5a7e21d04b6c8e13f7a90d5b2c4e6a8f1d03'] },
    ]);
    const quarantined = await sql`select source_key from sync.record_errors where resolved_at is null`;
    expect(quarantined).toEqual([{ source_key: '(admin_logs.jsonl line 18)' }]);
    // the uppercase wallet landed lowercase, and the documents naming it in lowercase link to it
    const [ravi] = await sql`
      select count(*)::int as documents from wallet_draft.kyc_documents d join wallet_draft.users u on u.id = d.user_id
      where u.source_id = '0x82e891dad532c63de88ade9a2c502b0a8261dc2d'`;
    expect(ravi!.documents).toBeGreaterThan(0);
    const [opp] = await sql`
      select o.amount::text, o.opens_on::text, o.tags, u.source_id as owner
      from wallet_draft.opportunities o left join wallet_draft.users u on u.id = o.owner_id where o.source_id = 'opp-1001'`;
    expect(opp).toEqual({ amount: '1140.00', opens_on: '2024-08-27', tags: ['dao', 'mobile'], owner: '0x3b981936fcbde949b15f813a6eca688c8079db39' });
    const verify = await runAirlift(['verify'], env);
    expect(verify.code, `${verify.stdout}\n${verify.stderr}`).toBe(0);
  });
});

describe('airlift scaffold: a legacy PostgreSQL catalog', () => {
  const LEGACY_SCHEMA = 'legacy_draft';
  let db: TestDatabase;
  let sql: Sql;
  let legacyName: string;
  let legacyUrl: string;
  let dir: string;
  let out: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'airlift-scaffold-pg-'));
    out = path.join(dir, 'draft');
    db = await cloneTestDatabase();
    sql = connect(db.url, { max: 2, onnotice: () => {} });
    // a second database on the test server: the legacy application's
    legacyName = `${inject('clonePrefix')}legacy_${randomBytes(4).toString('hex')}`;
    const admin = connect(inject('serverUrl'), { max: 1 });
    try {
      await admin.unsafe(`create database ${quoteIdent(legacyName)}`);
    } finally {
      await admin.end();
    }
    legacyUrl = urlWithDatabase(inject('serverUrl'), legacyName);
    const legacy = connect(legacyUrl, { max: 1, onnotice: () => {} });
    try {
      await legacy.unsafe(`
        create table offices (id serial primary key, name text not null, opened_on text, budget numeric(12,2), created_at timestamptz not null default now());
        comment on table offices is 'Branch offices.';
        create table doctors (id serial primary key, office_id integer not null references offices (id) on delete cascade, full_name varchar(200), active boolean not null default true, position integer);
        create table patients (id bigserial primary key, doctor_id integer references doctors (id) on delete set null, email text unique, born date, weight_kg double precision, notes jsonb);
        create table orders (id integer primary key, patient_id bigint not null references patients (id), placed_at timestamp, total numeric(14,4), big_counter bigint);
        create table order_lines (order_id integer references orders (id), line_no integer, qty integer, primary key (order_id, line_no));
        insert into offices (name, opened_on, budget) select 'Office ' || g, '2020-01-0' || (g % 9 + 1), g * 1000.5 from generate_series(1, 5) g;
        insert into doctors (office_id, full_name, position) select g % 5 + 1, 'Dr ' || g, g from generate_series(1, 10) g;
        insert into patients (doctor_id, email, born, weight_kg) select g % 10 + 1, 'p' || g || '@example.org', date '1980-01-01' + g, 70.25 from generate_series(1, 20) g;
        insert into orders (id, patient_id, placed_at, total, big_counter) select g, g % 20 + 1, now(), g * 1.2345, 100000 * g from generate_series(1, 30) g;
      `);
    } finally {
      await legacy.end();
    }
    env = { DATABASE_URL: db.url, LEGACY_URL: legacyUrl };
  });
  afterAll(async () => {
    await sql?.end();
    await db?.drop();
    if (legacyName) {
      const admin = connect(inject('serverUrl'), { max: 1 });
      await admin.unsafe(`drop database if exists ${quoteIdent(legacyName)} with (force)`).finally(() => admin.end());
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('refuses an unset variable or an unreachable database, exit 2, without printing the URL', async () => {
    const unset = await runAirlift(['scaffold', '--source', 'postgres:NOT_SET_ANYWHERE', '--out', out], env);
    expect(unset.code).toBe(2);
    expect(unset.stderr).toMatch(/the environment variable NOT_SET_ANYWHERE is not set/);
    const wrong = await runAirlift(['scaffold', '--source', 'postgres:LEGACY_URL', '--out', out], { ...env, LEGACY_URL: urlWithDatabase(inject('serverUrl'), `${legacyName}_missing`) });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/the PostgreSQL source in LEGACY_URL cannot be read: .*does not exist/);
  });

  it('drafts tables, typed columns, links and indexes from the catalog; the draft applies twice as airlift_owner', async () => {
    const result = await runAirlift(['scaffold', '--source', 'postgres:LEGACY_URL', '--out', out, '--schema', LEGACY_SCHEMA], env);
    expect(result.code, result.stderr).toBe(0);
    const migration = await readFile(path.join(out, 'migration.sql'), 'utf8');
    const mappingText = await readFile(path.join(out, 'mapping.json'), 'utf8');
    expect(mappingText).not.toContain(legacyUrl);
    expect(migration).not.toContain(legacyUrl);
    const mapping = JSON.parse(mappingText) as MappingJson;
    expect(mapping.source).toEqual({ kind: 'postgres', urlEnv: 'LEGACY_URL' });
    expect(mapping.tables.map((t) => [t.table, t.entity, t.key, t.target])).toEqual([
      ['public.offices', 'legacy_draft_offices', 'id', 'legacy_draft.offices'],
      ['public.doctors', 'legacy_draft_doctors', 'id', 'legacy_draft.doctors'],
      ['public.patients', 'legacy_draft_patients', 'id', 'legacy_draft.patients'],
      ['public.orders', 'legacy_draft_orders', 'id', 'legacy_draft.orders'],
    ]);
    const fields = Object.fromEntries(mapping.tables.flatMap((t) => t.fields.map((f) => [`${t.table}.${f.from}`, f])));
    expect(fields).toMatchObject({
      'public.patients.weight_kg': { column: 'weight_kg', convert: 'money' },
      'public.offices.name': { column: 'name', convert: 'text' },
      'public.offices.budget': { column: 'budget', convert: 'money' },
      'public.offices.created_at': { column: 'app_created_at', convert: 'timestamp' },
      'public.doctors.office_id': { column: 'office_id', convert: 'link', linkedEntity: 'legacy_draft_offices' },
      'public.doctors.active': { column: 'active', convert: 'checkbox' },
      'public.doctors.position': { column: 'position_value', convert: 'integer' },
      'public.patients.born': { column: 'born', convert: 'date' },
      'public.orders.patient_id': { column: 'patient_id', convert: 'link', linkedEntity: 'legacy_draft_patients' },
      'public.orders.total': { column: 'total', convert: 'text' },
      'public.orders.big_counter': { column: 'big_counter', convert: 'text' },
    });
    const reviews = migration.split('\n').filter((line) => line.startsWith('-- REVIEW: '));
    expect(reviews).toEqual(expect.arrayContaining([
      expect.stringMatching(/^-- REVIEW: public\.order_lines: not drafted: a composite primary key \(order_id, line_no\)/),
      expect.stringMatching(/^-- REVIEW: legacy_draft\.offices\.opened_on: text holding ISO dates \(5 of 5\)/),
      expect.stringMatching(/^-- REVIEW: legacy_draft\.patients\.notes: jsonb has no conversion of its own in the merge/),
      expect.stringMatching(/^-- REVIEW: legacy_draft\.orders\.big_counter: bigint with values from 100000 to 3000000: beyond the merge's whole numbers/),
      expect.stringMatching(/^-- REVIEW: legacy_draft\.patients: index patients_email_key over \(email\) is unique in the source/),
    ]));
    expect(migration).toContain("comment on table legacy_draft.offices is E'Drafted from the PostgreSQL table public.offices (keyed by its primary key id). The source says: Branch offices.';");
    for (let i = 0; i < 2; i++) {
      await sql.begin(async (tx) => {
        await tx.unsafe('set local role airlift_owner');
        await tx.unsafe(migration);
      });
    }
    const links = await sql<{ link: string; action: string }[]>`
      select conrelid::regclass::text || '.' || (select attname from pg_attribute where attrelid = conrelid and attnum = conkey[1]) as link, confdeltype::text as action
      from pg_constraint where contype = 'f' and connamespace = ${LEGACY_SCHEMA}::regnamespace order by 1`;
    expect(links.map((l) => ({ ...l }))).toEqual([
      { link: 'legacy_draft.doctors.office_id', action: 'c' },
      { link: 'legacy_draft.orders.patient_id', action: 'r' },
      { link: 'legacy_draft.patients.doctor_id', action: 'n' },
    ]);
    const [registered] = await sql<{ ranks: Record<string, number> }[]>`
      select jsonb_object_agg(entity, merge_rank) as ranks from sync.entities where entity like 'legacy\\_draft\\_%'`;
    expect(registered!.ranks).toEqual({ legacy_draft_offices: 1, legacy_draft_doctors: 2, legacy_draft_patients: 3, legacy_draft_orders: 4 });
  });
});
