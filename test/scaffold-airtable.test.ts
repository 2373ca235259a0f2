/**
 * `airlift scaffold --source airtable:BASE_ID` against the emulator serving
 * the Delta base (the generator's, from ../shared/airtable-base/schema.json,
 * with planted mess): the draft is written from the Metadata API in the
 * Airtable mapping vocabulary (table and field ids, Airtable types, the Last
 * Modified field), the migration applies twice as airlift_owner, and
 * `airlift pull --full` with the drafted mapping lands every record with
 * its links resolved, flags problems only on the records where mess was
 * planted, and `verify` passes. A wrong token or an unknown base exits 2
 * naming it.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../src/db/database.ts';
import { parseMapping } from '../src/mapping.ts';
import { startEmulator } from '../tools/emulator/emulator.ts';
import { baseIdForSeed, generateDeltaBase, type GeneratedBase } from '../tools/generator/generator.ts';
import { runAirlift } from './support/cli.ts';
import { cloneTestDatabase, type TestDatabase } from './support/db.ts';

const SCHEMA = 'delta_draft';
const SEED = 29;

interface MappingJson {
  source: { kind: string; baseId: string };
  tables: Array<{
    entity: string; tableId: string; tableName: string; target: string; lastModifiedFieldId: string;
    fields: Array<{ fieldId: string; name: string; airtableType: string; column: string; convert: string; linkedEntity?: string; validate?: unknown[] }>;
    unmappedFields?: Array<{ fieldId: string; name: string; why: string }>;
  }>;
}

describe('airlift scaffold: an Airtable base (the Delta base, from the emulator)', () => {
  let base: GeneratedBase;
  const baseId = baseIdForSeed(SEED);
  let emulator: Awaited<ReturnType<typeof startEmulator>>;
  let db: TestDatabase;
  let sql: Sql;
  let dir: string;
  let out: string;
  let env: NodeJS.ProcessEnv;
  let migration: string;
  let mapping: MappingJson;
  const airlift = async (...args: string[]) => {
    const result = await runAirlift(args, env);
    expect(result.code, `${args.join(' ')}\n${result.stdout}\n${result.stderr}`).toBe(0);
    return result.stdout;
  };
  const apply = async () => {
    await sql.begin(async (tx) => {
      await tx.unsafe('set local role airlift_owner');
      await tx.unsafe(migration);
    });
  };
  const table = (name: string) => mapping.tables.find((t) => t.tableName === name)!;
  const field = (tableName: string, name: string) => table(tableName).fields.find((f) => f.name === name);

  beforeAll(async () => {
    base = generateDeltaBase({ seed: SEED, registrations: 150, messiness: 0.04 });
    emulator = await startEmulator({ bases: { [baseId]: base }, rateLimit: false });
    dir = await mkdtemp(path.join(os.tmpdir(), 'airlift-scaffold-airtable-'));
    out = path.join(dir, 'draft');
    db = await cloneTestDatabase();
    sql = connect(db.url, { max: 2, onnotice: () => {} });
    env = {
      DATABASE_URL: db.url,
      AIRTABLE_TOKEN: emulator.token,
      AIRTABLE_BASE_ID: baseId,
      AIRTABLE_ENDPOINT_URL: emulator.url,
      AIRTABLE_RPS: '100',
      AIRLIFT_MAPPING: path.join(out, 'mapping.json'),
    };
  });
  afterAll(async () => {
    await sql?.end();
    await emulator?.stop();
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('refuses a wrong token, an unknown base and a malformed base id, exit 2, naming them', async () => {
    const wrongToken = await runAirlift(['scaffold', '--source', `airtable:${baseId}`, '--out', out], { ...env, AIRTABLE_TOKEN: 'patWRONG.token' });
    expect(wrongToken.code, wrongToken.stderr).toBe(2);
    expect(wrongToken.stderr).toContain(`--source airtable:${baseId}`);
    expect(wrongToken.stderr).toMatch(/refused the token \(401\).*AIRTABLE_TOKEN/);
    const unknown = 'appNOSUCHBASE0000';
    const missing = await runAirlift(['scaffold', '--source', `airtable:${unknown}`, '--out', out], env);
    expect(missing.code, missing.stderr).toBe(2);
    expect(missing.stderr).toContain(`found no base ${unknown}`);
    const malformed = await runAirlift(['scaffold', '--source', 'airtable:Delta', '--out', out], env);
    expect(malformed.code, malformed.stderr).toBe(2);
    expect(malformed.stderr).toContain('expected an Airtable base id like appXXXXXXXXXXXXXX');
    const noToken = await runAirlift(['scaffold', '--source', `airtable:${baseId}`, '--out', out], { ...env, AIRTABLE_TOKEN: '' });
    expect(noToken.code, noToken.stderr).toBe(2);
    expect(noToken.stderr).toContain('AIRTABLE_TOKEN');
    // nothing was written
    await expect(readFile(path.join(out, 'mapping.json'), 'utf8')).rejects.toThrow();
  });

  it('drafts every table and field in the Airtable mapping vocabulary, the undecidable as REVIEW notes', async () => {
    const stdout = await airlift('scaffold', '--source', `airtable:${baseId}`, '--out', out, '--schema', SCHEMA);
    expect(stdout).toContain(`drafted schema ${SCHEMA}: 4 table(s)`);
    migration = await readFile(path.join(out, 'migration.sql'), 'utf8');
    const text = await readFile(path.join(out, 'mapping.json'), 'utf8');
    mapping = JSON.parse(text) as MappingJson;
    // the pipeline's own reader accepts it
    const parsed = parseMapping(mapping, path.join(out, 'mapping.json'));
    expect(parsed.source).toEqual({ kind: 'airtable', baseId });
    expect(parsed.mergeOrder.map((t) => t.tableName)).toEqual(['Clients', 'State Regulators', 'Products', 'Registrations']);
    // every table and every field of the base: mapped or listed as unmapped with why
    for (const t of base.tables) {
      const m = table(t.name);
      expect(m.tableId).toBe(t.id);
      expect(m.target).toBe(`${SCHEMA}.${m.target.split('.')[1]}`);
      expect(m.lastModifiedFieldId).toBe(t.fields.find((f) => f.type === 'lastModifiedTime')!.id);
      const covered = [...m.fields.map((f) => f.fieldId), ...(m.unmappedFields ?? []).map((f) => f.fieldId)].sort();
      expect(covered, t.name).toEqual(t.fields.map((f) => f.id).sort());
      for (const f of m.fields) expect(f.airtableType).toBe(t.fields.find((x) => x.id === f.fieldId)!.type);
    }
    // the conversions, as mappings/delta.json has them
    expect(field('Clients', 'Client Name')).toMatchObject({ column: 'client_name', convert: 'text' });
    expect(field('Clients', 'Status')).toMatchObject({ convert: 'select', validate: [{ rule: 'allowed_values', values: ['Active', 'Prospect', 'On Hold', 'Inactive'], severity: 'warning' }] });
    expect(field('Clients', 'Account Manager')).toMatchObject({ column: 'account_manager_id', convert: 'collaborator' });
    expect(field('Clients', 'Annual Budget')).toMatchObject({ convert: 'money' });
    expect(field('Clients', 'Client Since')).toMatchObject({ convert: 'date' });
    expect(field('Clients', 'Created')).toMatchObject({ column: 'created', convert: 'timestamp' });
    expect(field('Clients', 'Last Modified')).toMatchObject({ convert: 'timestamp' });
    expect(field('State Regulators', 'Renewal Month')).toMatchObject({ convert: 'integer' });
    expect(field('State Regulators', 'Requires Wet Signature')).toMatchObject({ convert: 'checkbox' });
    expect(field('State Regulators', 'Product Types Regulated')).toMatchObject({ convert: 'multi_select' });
    expect(field('State Regulators', 'Website')).toMatchObject({ convert: 'text' });
    expect(field('Products', 'Client')).toMatchObject({ column: 'client_id', convert: 'link', linkedEntity: table('Clients').entity });
    expect(field('Registrations', 'Product')).toMatchObject({ column: 'product_id', convert: 'link', linkedEntity: table('Products').entity });
    expect(field('Registrations', 'State')).toMatchObject({ convert: 'lookup_text' });
    expect(field('Registrations', 'Priority')).toMatchObject({ convert: 'integer' });
    expect(field('Registrations', 'Tags')).toMatchObject({ convert: 'multi_select' });
    // reverse links, formulas and attachments are listed, not mapped
    expect(table('Clients').unmappedFields!.map((f) => [f.name, f.why])).toEqual([
      ['Products', 'reverse link; the relation is kept by the other tables foreign key'],
      ['Registrations', 'reverse link; the relation is kept by the other tables foreign key'],
    ]);
    expect(table('Registrations').unmappedFields!.map((f) => f.name).sort()).toEqual(['Days Until Expiration', 'Documents', 'Registration']);
    expect(table('Products').unmappedFields!.map((f) => f.name).sort()).toEqual(['Label', 'Registrations']);
    // REVIEW notes: the header lists each, each names its object
    const reviews = migration.split('\n').filter((line) => line.startsWith(`-- REVIEW: ${SCHEMA}.`)).map((line) => line.slice('-- REVIEW: '.length));
    expect(stdout).toContain(`${reviews.length} REVIEW note(s) to decide`);
    expect(reviews.filter((r) => r.includes('Label (fldm98vOtlVmdetoO): attachments: not mapped'))).toHaveLength(1);
    expect(reviews.filter((r) => r.includes('Documents (fldTHJoTD5wtFrQa2): attachments: not mapped'))).toHaveLength(1);
    expect(reviews.filter((r) => r.includes('a formula (its result: '))).toHaveLength(2);
    expect(reviews.filter((r) => r.startsWith(`${SCHEMA}.state_regulators.renewal_month: a number with precision 0`))).toHaveLength(1);
    expect(reviews.some((r) => /allows many links/.test(r))).toBe(false);
    expect(migration).toContain('airtable_id text not null unique');
  });

  it('the draft applies twice as airlift_owner, every object commented and every foreign key with on delete', async () => {
    await apply();
    await apply();
    const uncommented = await sql`
      select c.relname || coalesce('.' || a.attname, '') as object
      from pg_class c left join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and c.relkind = 'r'
      where c.relnamespace = ${SCHEMA}::regnamespace and c.relkind in ('r', 'i') and c.relname not like '%_pkey' and c.relname not like '%_key'
        and coalesce(btrim(case when a.attname is null then obj_description(c.oid, 'pg_class') else col_description(c.oid, a.attnum) end), '') = ''
      union all
      select conname from pg_constraint where connamespace = ${SCHEMA}::regnamespace and contype = 'f' and obj_description(oid, 'pg_constraint') is null`;
    expect(uncommented).toEqual([]);
    const fks = await sql<{ link: string; target: string; action: string; indexed: boolean }[]>`
      select conrelid::regclass::text || '.' || (select attname from pg_attribute where attrelid = conrelid and attnum = conkey[1]) as link,
             confrelid::regclass::text as target, confdeltype::text as action,
             exists (select 1 from pg_index i where i.indrelid = f.conrelid and i.indkey[0] = f.conkey[1]) as indexed
      from pg_constraint f where contype = 'f' and connamespace = ${SCHEMA}::regnamespace order by 1`;
    expect(fks.map((f) => ({ ...f }))).toEqual([
      { link: `${SCHEMA}.clients.account_manager_id`, target: 'app.collaborators', action: 'n', indexed: true },
      { link: `${SCHEMA}.products.client_id`, target: `${SCHEMA}.clients`, action: 'n', indexed: true },
      { link: `${SCHEMA}.registrations.assigned_to_id`, target: 'app.collaborators', action: 'n', indexed: true },
      { link: `${SCHEMA}.registrations.client_id`, target: `${SCHEMA}.clients`, action: 'n', indexed: true },
      { link: `${SCHEMA}.registrations.product_id`, target: `${SCHEMA}.products`, action: 'n', indexed: true },
      { link: `${SCHEMA}.registrations.state_regulator_id`, target: `${SCHEMA}.state_regulators`, action: 'n', indexed: true },
    ]);
    const [catalogue] = await sql<{ entities: number; columns: number }[]>`
      select (select count(*)::int from sync.entities where target_table::text like ${`${SCHEMA}.%`}) as entities,
             (select count(*)::int from sync.entity_columns c join sync.entities e using (entity) where e.target_table::text like ${`${SCHEMA}.%`}) as columns`;
    expect(catalogue).toEqual({ entities: 4, columns: mapping.tables.reduce((n, t) => n + t.fields.length, 0) });
    // what Airtable computes, and collaborators, are never pushed back
    const unpushable = await sql<{ column_name: string }[]>`
      select c.column_name from sync.entity_columns c join sync.entities e using (entity)
      where e.target_table::text = ${`${SCHEMA}.registrations`} and not c.pushable order by 1`;
    expect(unpushable.map((c) => c.column_name)).toEqual(['assigned_to_id', 'last_modified', 'state']);
  });

  it('the drafted mapping pulls every record, links resolved, only the planted mess flagged, and verify passes', async () => {
    const stdout = await airlift('pull', '--full');
    const total = base.tables.reduce((n, t) => n + emulator.base(baseId).table(t.id).list().length, 0);
    expect(stdout).toContain(`fetched ${total} = ${total} inserted + 0 updated + 0 unchanged + 0 quarantined; 0 soft-deleted`);
    for (const t of base.tables) {
      const target = table(t.name).target;
      const [row] = await sql.unsafe<{ n: number }[]>(`select count(*)::int as n from ${target} where deleted_at is null`);
      expect({ table: t.name, rows: row!.n }).toEqual({ table: t.name, rows: emulator.base(baseId).table(t.id).list().length });
    }
    expect(await sql`select source_key, reason from sync.record_errors where resolved_at is null`).toEqual([]);

    // links resolved: every registration's first Product / Client / State Regulator link that names an existing record
    const ids = (name: string) => new Set(base.tables.find((t) => t.name === name)!.records.map((r) => r.id));
    const registrations = base.tables.find((t) => t.name === 'Registrations')!.records;
    const landed = await sql<{ airtable_id: string; product: string | null; client: string | null; regulator: string | null }[]>`
      select r.airtable_id, p.airtable_id as product, c.airtable_id as client, s.airtable_id as regulator
      from delta_draft.registrations r left join delta_draft.products p on p.id = r.product_id
        left join delta_draft.clients c on c.id = r.client_id left join delta_draft.state_regulators s on s.id = r.state_regulator_id`;
    const byId = new Map(landed.map((r) => [r.airtable_id, r]));
    let resolved = 0;
    for (const record of registrations) {
      const row = byId.get(record.id)!;
      for (const [fieldName, column, within] of [['Product', 'product', 'Products'], ['Client', 'client', 'Clients'], ['State Regulator', 'regulator', 'State Regulators']] as const) {
        const first = (record.fields[fieldName] as string[] | undefined)?.[0];
        const expected = first && ids(within).has(first) ? first : null;
        expect({ record: record.id, fieldName, linked: row[column] }).toEqual({ record: record.id, fieldName, linked: expected });
        if (expected) resolved++;
      }
    }
    expect(resolved).toBeGreaterThan(registrations.length * 2);
    const [collaborators] = await sql<{ n: number }[]>`select count(*)::int as n from delta_draft.registrations where assigned_to_id is not null`;
    expect(collaborators!.n).toBeGreaterThan(0);

    // problems only where mess was planted: each one on a planted record's planted field
    const problems = await sql<{ entity: string; source_key: string; field: string; rule: string }[]>`
      select entity, source_key, field, rule from sync.field_problems where resolved_at is null order by entity, source_key, field`;
    expect(problems.length).toBeGreaterThan(0);
    const planted = new Set(base.planted.map((p) => `${p.recordId} ${p.field}`));
    expect(problems.filter((p) => !planted.has(`${p.source_key} ${p.field}`)).map((p) => ({ ...p }))).toEqual([]);

    const verify = await runAirlift(['verify'], env);
    expect(verify.code, `${verify.stdout}\n${verify.stderr}`).toBe(0);
    expect(verify.stdout).toContain('PASSED');
  });
});
