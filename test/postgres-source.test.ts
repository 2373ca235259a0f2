/**
 * The PostgreSQL source end to end, through the CLI as a user runs it,
 * against a second real database on the test server: the legacy clinic
 * application written by the generator (tools/generator/legacy-pg.ts,
 * integer serial ids), mapped by examples/legacy-pg/mapping.json into
 * schema legacy_app (uuid keys, no legacy id column: identity is the id
 * map's). A full pull lands every row, links resolved through the id map,
 * the planted mess flagged on its fields; verify passes; an incremental
 * pull of the unchanged database re-reads no key range; after the day's
 * edits (about 1% of the rows updated, inserted, deleted) the differential
 * is exactly the planted one, and the next incremental pull re-reads only
 * the key ranges whose checksums changed and applies +N ~N -N; a rollback
 * puts every row back. A missing variable, a malformed or unreachable URL,
 * a table or column the database does not have, are refused naming them.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Sql } from 'postgres';
import { connect, quoteIdent } from '../src/db/database.ts';
import { urlWithDatabase } from '../src/db/embedded.ts';
import { applyLegacyEdits, countLegacyRows, generateLegacyDatabase, LEGACY_TABLES, PLANTED, type LegacyEdits, type LegacyTable } from '../tools/generator/legacy-pg.ts';
import { PROJECT_DIR, runAirlift } from './support/cli.ts';
import { cloneTestDatabase, type TestDatabase } from './support/db.ts';

const ROWS = 2_000;
const MAPPING = path.join(PROJECT_DIR, 'examples', 'legacy-pg', 'mapping.json');
const WIDTH = 16;

const entityOf = (table: LegacyTable) => `legacy_${table}`;

interface DiffJson {
  differences: number;
  entities: Array<{ entity: string; differences: Record<string, string[]> }>;
}

describe('PostgreSQL source: the legacy clinic database', () => {
  let db: TestDatabase;
  let sql: Sql;
  let legacy: Sql;
  let legacyName: string;
  let legacyUrl: string;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const serverUrl = inject('serverUrl');
  const airlift = async (...args: string[]) => {
    const result = await runAirlift(args, env);
    expect(result.code, `${args.join(' ')}\n${result.stdout}\n${result.stderr}`).toBe(0);
    return result.stdout;
  };
  const auditRows = async () => Number((await sql<{ n: string }[]>`select count(*) as n from audit.changes where table_name like 'legacy_app.%'`)[0]!.n);
  const targetCounts = async () =>
    Object.fromEntries(
      await Promise.all(
        LEGACY_TABLES.map(async (table) => {
          const [row] = await sql.unsafe<{ n: number }[]>(`select count(*)::int as n from legacy_app.${table} where deleted_at is null`);
          return [table, row!.n] as const;
        }),
      ),
    );
  /** The orders' links as legacy ids, read on each side: the target's through the id map. */
  const orderLinks = async () => {
    const source = await legacy<{ id: string; patient: string; doctor: string | null; product: string }[]>`
      select id::text, patient_id::text as patient, doctor_id::text as doctor, product_id::text as product from orders order by orders.id`;
    const target = await sql<{ id: string; patient: string; doctor: string | null; product: string }[]>`
      select o.legacy_id as id, p.legacy_id as patient, d.legacy_id as doctor, r.legacy_id as product
      from legacy_app.orders t
      join sync.id_map o on o.entity_type = 'legacy_orders' and o.uuid_id = t.id
      left join sync.id_map p on p.entity_type = 'legacy_patients' and p.uuid_id = t.patient_id
      left join sync.id_map d on d.entity_type = 'legacy_doctors' and d.uuid_id = t.doctor_id
      left join sync.id_map r on r.entity_type = 'legacy_products' and r.uuid_id = t.product_id
      where t.deleted_at is null order by o.legacy_id::int`;
    return { source: source.map((r) => ({ ...r })), target: target.map((r) => ({ ...r })) };
  };

  beforeAll(async () => {
    legacyName = `airlift_legacy_${randomBytes(4).toString('hex')}`;
    const admin = connect(serverUrl, { max: 1 });
    try {
      await admin.unsafe(`create database ${quoteIdent(legacyName)}`);
    } finally {
      await admin.end();
    }
    legacyUrl = urlWithDatabase(serverUrl, legacyName);
    legacy = connect(legacyUrl, { max: 2 });
    await generateLegacyDatabase(legacy, { rows: ROWS });
    db = await cloneTestDatabase();
    sql = connect(db.url, { max: 2 });
    dir = await mkdtemp(path.join(os.tmpdir(), 'airlift-legacy-'));
    env = { DATABASE_URL: db.url, AIRLIFT_MAPPING: MAPPING, LEGACY_DATABASE_URL: legacyUrl };
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

  it('the target is keyed by uuid with no legacy id column, every object commented, every foreign key with on delete', async () => {
    const entities = await sql`select entity, source_key_column from sync.entities where entity like 'legacy\\_%' order by entity`;
    expect(entities.map((e) => ({ ...e }))).toEqual(LEGACY_TABLES.map((t) => ({ entity: entityOf(t), source_key_column: null })).sort((a, b) => a.entity.localeCompare(b.entity)));
    const keys = await sql`
      select c.relname as table, format_type(a.atttypid, a.atttypmod) as type
      from pg_constraint k join pg_class c on c.oid = k.conrelid join pg_attribute a on a.attrelid = c.oid and a.attnum = k.conkey[1]
      where k.contype = 'p' and k.connamespace = 'legacy_app'::regnamespace order by 1`;
    expect(keys.map((k) => k.type)).toEqual(Array(6).fill('uuid'));
    const integerColumns = await sql`
      select c.relname || '.' || a.attname as column from pg_attribute a join pg_class c on c.oid = a.attrelid
      where c.relnamespace = 'legacy_app'::regnamespace and c.relkind = 'r' and a.attnum > 0 and not a.attisdropped
        and (a.attname like '%legacy%' or (format_type(a.atttypid, a.atttypmod) in ('integer', 'bigint') and a.attname <> 'quantity' and a.attname <> 'open_problem_count'))`;
    expect(integerColumns).toEqual([]);
    const uncommented = await sql`
      select c.relname || coalesce('.' || a.attname, '') as object
      from pg_class c left join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and c.relkind = 'r'
      where c.relnamespace = 'legacy_app'::regnamespace and c.relkind in ('r', 'i') and c.relname not like '%_pkey'
        and coalesce(btrim(case when a.attname is null then obj_description(c.oid, 'pg_class') else col_description(c.oid, a.attnum) end), '') = ''`;
    expect(uncommented).toEqual([]);
    const [fks] = await sql<{ n: number; with_action: number; indexed: number }[]>`
      select count(*)::int as n, count(*) filter (where confdeltype in ('c', 'n', 'r'))::int as with_action,
             count(*) filter (where exists (select from pg_index i where i.indrelid = k.conrelid and i.indkey[0] = k.conkey[1]))::int as indexed
      from pg_constraint k where contype = 'f' and connamespace = 'legacy_app'::regnamespace`;
    expect(fks).toEqual({ n: 7, with_action: 7, indexed: 7 });
  });

  it('a full pull lands every row, links resolved through the id map, the planted mess flagged on its fields', async () => {
    const out = await airlift('pull', '--full');
    const source = await countLegacyRows(legacy);
    const total = Object.values(source).reduce((a, b) => a + b, 0);
    expect(total).toBe(ROWS);
    expect(out).toContain(`fetched ${total} = ${total} inserted + 0 updated + 0 unchanged + 0 quarantined; 0 soft-deleted`);
    expect(await targetCounts()).toEqual(source);
    const [{ mapped }] = await sql<{ mapped: number }[]>`select count(*)::int as mapped from sync.id_map where entity_type like 'legacy\\_%'`;
    expect(mapped).toBe(total);
    const links = await orderLinks();
    expect(links.target).toEqual(links.source);
    // a doctor's profile and office, through the map
    const [doctor] = await sql`
      select p.legacy_id as profile, o.legacy_id as office, t.specialty from legacy_app.doctors t
      join sync.id_map k on k.entity_type = 'legacy_doctors' and k.uuid_id = t.id
      join sync.id_map p on p.entity_type = 'legacy_profiles' and p.uuid_id = t.profile_id
      join sync.id_map o on o.entity_type = 'legacy_offices' and o.uuid_id = t.office_id
      where k.legacy_id = '2'`;
    const [sourceDoctor] = await legacy`select profile_id::text as profile, office_id::text as office, specialty from doctors where id = 2`;
    expect({ ...doctor }).toEqual({ ...sourceDoctor });
    // values as typed: a timestamp without time zone as UTC, money to the cent, a date, a boolean
    const [order] = await sql`
      select t.ordered_at, t.total::text, t.status from legacy_app.orders t join sync.id_map k on k.entity_type = 'legacy_orders' and k.uuid_id = t.id where k.legacy_id = '1'`;
    const [sourceOrder] = await legacy`select to_char(ordered_at, 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as at, total::text, status from orders where id = 1`;
    expect({ ...order }).toEqual({ ordered_at: new Date(sourceOrder!.at as string), total: sourceOrder!.total, status: sourceOrder!.status });

    const problems = await sql`
      select entity, source_key, field, rule, origin, value from sync.field_problems where resolved_at is null order by entity, source_key::int, field`;
    expect(problems.map((p) => ({ ...p }))).toEqual([
      { entity: 'legacy_orders', source_key: PLANTED.hugeQuantity.key, field: 'quantity', rule: 'cell_conversion', origin: 'merge', value: PLANTED.hugeQuantity.value },
      { entity: 'legacy_orders', source_key: PLANTED.negativeQuantity.key, field: 'quantity', rule: 'legacy_orders.quantity.range', origin: 'rule', value: PLANTED.negativeQuantity.value },
      { entity: 'legacy_profiles', source_key: PLANTED.badBirthDate.key, field: 'birth_date', rule: 'cell_conversion', origin: 'merge', value: PLANTED.badBirthDate.value },
    ]);
    const [badDate] = await sql`
      select t.birth_date, t.open_problem_count from legacy_app.profiles t join sync.id_map k on k.entity_type = 'legacy_profiles' and k.uuid_id = t.id
      where k.legacy_id = ${PLANTED.badBirthDate.key}`;
    expect({ ...badDate }).toEqual({ birth_date: null, open_problem_count: 1 });
  });

  it('verify passes: the legacy database and the target agree row by row', async () => {
    const result = JSON.parse(await airlift('verify', '--json')) as { passed: boolean; discrepancies: number };
    expect(result).toMatchObject({ passed: true, discrepancies: 0 });
  });

  it('an incremental pull of the unchanged database re-reads no key range and writes nothing', async () => {
    const before = await auditRows();
    const out = await airlift('pull');
    expect(out).toContain('fetched 0 = 0 inserted + 0 updated + 0 unchanged + 0 quarantined; 0 soft-deleted');
    const checkpoints = await sql<{ unchanged: boolean }[]>`
      select (c.metadata ->> 'unchanged')::boolean as unchanged
      from sync.checkpoints c where c.run_id = (select max(id) from sync.runs where run_type = 'incremental')`;
    expect(checkpoints.map((c) => c.unchanged)).toEqual(Array(6).fill(true));
    expect(await auditRows()).toBe(before);
  });

  let edits: LegacyEdits;
  let editRun: string;
  it('after the day\'s edits the differential is exactly the planted one; the next pull re-reads only the changed key ranges and applies +N ~N -N', async () => {
    edits = await applyLegacyEdits(legacy);
    const count = (part: Partial<Record<LegacyTable, string[]>>) => Object.values(part).reduce((m, keys) => m + (keys?.length ?? 0), 0);
    const changed = count(edits.updated) + count(edits.inserted) + count(edits.deleted);
    expect(changed).toBeGreaterThan(ROWS * 0.008);

    const differing = await runAirlift(['diff', '--json'], env);
    expect(differing.code, differing.stderr).toBe(1);
    const diff = JSON.parse(differing.stdout) as DiffJson;
    const found = (kind: string) => Object.fromEntries(diff.entities.filter((e) => e.differences[kind]?.length).map((e) => [e.entity, [...e.differences[kind]!].sort((a, b) => Number(a) - Number(b))]));
    const planted = (part: Partial<Record<LegacyTable, string[]>>) => Object.fromEntries(Object.entries(part).map(([t, keys]) => [entityOf(t as LegacyTable), keys]));
    expect(found('conflicted_records')).toEqual(planted(edits.updated));
    expect(found('missing_records')).toEqual(planted(edits.inserted));
    expect(found('deleted_records')).toEqual(planted(edits.deleted));
    expect(diff.differences).toBe(changed);

    const out = await airlift('pull');
    editRun = out.match(/^Run #(\d+)/)![1]!;
    const n = (part: Partial<Record<LegacyTable, string[]>>, table: LegacyTable) => part[table]?.length ?? 0;
    // each table re-read only the ranges whose checksums changed, and took in exactly the edits
    const checkpoints = await sql<{ entity: string; unchanged: boolean; ranges: number[] | null; width: number | null; fetched: number }[]>`
      select entity_type as entity, (metadata ->> 'unchanged')::boolean as unchanged, metadata -> 'complete_within' -> 'ranges' as ranges,
             (metadata -> 'complete_within' ->> 'width')::int as width, records_processed::int as fetched
      from sync.checkpoints where run_id = ${editRun} and operation_type = 'sync_operation'`;
    const total = await countLegacyRows(legacy);
    for (const table of LEGACY_TABLES) {
      const checkpoint = checkpoints.find((c) => c.entity === entityOf(table))!;
      const edited = [...(edits.updated[table] ?? []), ...(edits.inserted[table] ?? []), ...(edits.deleted[table] ?? [])];
      if (!edited.length) {
        expect(checkpoint.unchanged, table).toBe(true);
        expect(out).toMatch(new RegExp(`${entityOf(table)} +fetched +0 +\\+0 ~0 =0 -0 !0`));
        continue;
      }
      expect(checkpoint.unchanged, table).toBe(false);
      expect(checkpoint.width).toBe(WIDTH);
      // exactly the ranges holding an edited key
      expect(checkpoint.ranges).toEqual([...new Set(edited.map((k) => Math.floor(Number(k) / WIDTH)))].sort((a, b) => a - b));
      const [{ inRanges }] = await legacy<{ inRanges: number }[]>`
        select count(*)::int as "inRanges" from ${legacy(table)} where id / ${WIDTH} = any(${checkpoint.ranges!})`;
      expect(checkpoint.fetched, table).toBe(inRanges);
      // a table of more than two ranges is not read whole
      if (total[table] > 2 * WIDTH) expect(checkpoint.fetched, table).toBeLessThan(total[table]);
      const unchangedInRanges = inRanges - n(edits.updated, table) - n(edits.inserted, table);
      expect(out).toMatch(new RegExp(`${entityOf(table)} +fetched +${inRanges} +\\+${n(edits.inserted, table)} ~${n(edits.updated, table)} =${unchangedInRanges} -${n(edits.deleted, table)} !0`));
    }
    expect(await targetCounts()).toEqual(total);
    const links = await orderLinks();
    expect(links.target).toEqual(links.source);
    expect((JSON.parse(await airlift('verify', '--json')) as { passed: boolean }).passed).toBe(true);
    // and nothing is left to find
    expect((await runAirlift(['diff'], env)).code).toBe(0);
  });

  it('a rollback of that pull puts every row back as it was', async () => {
    const out = await airlift('rollback', '--run', editRun);
    expect(out).toContain(`Run #${editRun} rolled back`);
    const [row] = await sql<{ deleted_live: number; inserted_left: number; full_name: string }[]>`
      select (select count(*)::int from legacy_app.orders t join sync.id_map k on k.entity_type = 'legacy_orders' and k.uuid_id = t.id
              where k.legacy_id = any(${edits.deleted.orders!}) and t.deleted_at is null) as deleted_live,
             (select count(*)::int from legacy_app.orders t join sync.id_map k on k.entity_type = 'legacy_orders' and k.uuid_id = t.id
              where k.legacy_id = any(${edits.inserted.orders!})) as inserted_left,
             (select t.full_name from legacy_app.profiles t join sync.id_map k on k.entity_type = 'legacy_profiles' and k.uuid_id = t.id
              where k.legacy_id = ${edits.updated.profiles![0]!}) as full_name`;
    expect(row).toEqual({ deleted_live: edits.deleted.orders!.length, inserted_left: 0, full_name: expect.not.stringMatching(/ Jr\.$/) });
  });

  it('a missing variable, a malformed or unreachable URL (exit 2), a missing table, column or key (exit 1) are refused naming them; push refuses a one-way source', async () => {
    // refused before the run starts: side by side
    const refused = new URL(legacyUrl);
    refused.port = '1';
    refused.password = 'hunter2';
    const [unset, malformed, otherKind, unreachable, push] = await Promise.all([
      runAirlift(['pull', '--full'], { ...env, LEGACY_DATABASE_URL: '' }),
      // a libpq key=value string is not a URL; the value (it may hold a password) is never printed
      runAirlift(['pull', '--full'], { ...env, LEGACY_DATABASE_URL: 'host=legacy-db password=secret' }),
      runAirlift(['pull', '--full'], { ...env, LEGACY_DATABASE_URL: 'mysql://legacy:secret@legacy-db/clinic' }),
      runAirlift(['pull', '--full'], { ...env, LEGACY_DATABASE_URL: refused.toString() }),
      // one-way: nothing is pushed to a legacy database
      runAirlift(['push'], env),
    ]);
    expect(unset.code).toBe(2);
    expect(unset.stderr).toContain("the PostgreSQL source's connection string is read from LEGACY_DATABASE_URL (the mapping's source.urlEnv), which is not set");

    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('LEGACY_DATABASE_URL is not a URL: expected postgres://user:password@host:port/database');
    expect(malformed.stderr).not.toContain('secret');
    expect(otherKind.code).toBe(2);
    expect(otherKind.stderr).toContain('LEGACY_DATABASE_URL is not a PostgreSQL URL (mysql://...)');
    expect(otherKind.stderr).not.toContain('secret');

    expect(unreachable.code).toBe(2);
    expect(unreachable.stderr).toContain(`the PostgreSQL source in LEGACY_DATABASE_URL (postgres://${refused.username}:***@${refused.hostname}:1/${legacyName}) cannot be reached`);
    expect(unreachable.stderr).not.toContain('hunter2');

    // the catalog against the mapping: every mismatch named in one refusal, with what exists
    const mapping = JSON.parse(await readFile(MAPPING, 'utf8'));
    mapping.tables[5].table = 'public.order';
    mapping.tables[1].fields[1].from = 'name';
    mapping.tables[0].key = 'office_id';
    mapping.tables[3].key = 'office_id';
    await writeFile(path.join(dir, 'drifted.json'), JSON.stringify(mapping));
    const drifted = await runAirlift(['pull', '--full'], { ...env, AIRLIFT_MAPPING: path.join(dir, 'drifted.json') });
    expect(drifted.code).toBe(1);
    expect(drifted.stderr).toContain('the PostgreSQL source has no table "public.order" (table legacy_orders; schema public has doctors, offices, orders, patients, products, profiles)');
    expect(drifted.stderr).toContain('table "public.profiles" (table legacy_profiles) has no column "name", mapped to full_name (it has id, email, full_name, birth_date, created_at)');
    expect(drifted.stderr).toContain('table "public.offices" (table legacy_offices) has no key column "office_id" (it has id, name, city, phone, opened_on)');
    expect(drifted.stderr).toContain('the key column "office_id" of table "public.doctors" (table legacy_doctors) is neither its primary key nor unique by an index of its own');

    expect(push.code).toBe(2);
    expect(push.stderr).toContain('reads postgres, a one-way source: only an Airtable base is pushed to');
  });
});
