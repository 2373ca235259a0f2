/**
 * The Airtable emulator, driven by the official `airtable` client (and fetch
 * for what the client cannot reach: metadata, POST listRecords, raw errors).
 */
import Airtable from 'airtable';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type AirtableRecord, type BaseData, type Emulator } from '../tools/emulator/emulator.ts';
import { generateDeltaBase, type GeneratedBase } from '../tools/generator/generator.ts';

const BASE = 'appTESTBASE000001';
const T0 = Date.parse('2026-11-10T00:00:00.000Z');

let data: GeneratedBase;
let emu: Emulator;
let clock = T0;

function client(e: Emulator = emu, baseId = BASE, token = e.token) {
  return new Airtable({ apiKey: token, endpointUrl: e.url, noRetryIfRateLimited: true, requestTimeout: 10_000 }).base(baseId);
}

async function listAll(table: string, params: Record<string, unknown> = {}, e: Emulator = emu): Promise<AirtableRecord[]> {
  const out: AirtableRecord[] = [];
  await client(e)(table)
    .select({ pageSize: 100, ...params })
    .eachPage((records, next) => {
      for (const r of records) out.push(r._rawJson as AirtableRecord);
      next();
    });
  return out;
}

async function raw(path: string, init: RequestInit = {}, e: Emulator = emu): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(e.url + path, {
    ...init,
    headers: { authorization: `Bearer ${e.token}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body, headers: res.headers };
}

async function expectError(p: Promise<unknown>, status: number | null, type?: string): Promise<any> {
  let error: any;
  try {
    await p;
  } catch (e) {
    error = e;
  }
  expect(error, `expected a ${status} error`).toBeDefined();
  expect(error.statusCode).toBe(status);
  if (type) expect(error.error).toBe(type);
  return error;
}

function copyBase(b: BaseData): BaseData {
  return JSON.parse(JSON.stringify({ tables: b.tables }));
}

beforeAll(async () => {
  data = generateDeltaBase({ seed: 7, registrations: 600 });
  emu = await startEmulator({ bases: { [BASE]: copyBase(data) }, rateLimit: false, now: () => new Date(clock) });
});

afterAll(async () => {
  await emu?.stop();
});

beforeEach(() => {
  clock += 60_000;
});

const tableOf = (name: string) => data.tables.find((t) => t.name === name)!;

describe('reading records', () => {
  it('lists every page of a table with the official client', async () => {
    const records = await listAll('Registrations');
    const expected = tableOf('Registrations').records;
    expect(records).toHaveLength(expected.length);
    expect(new Set(records.map((r) => r.id)).size).toBe(expected.length);
    const byId = new Map(expected.map((r) => [r.id, r]));
    for (const r of records.slice(0, 50)) expect(r).toEqual(byId.get(r.id));
    expect(emu.stats.byRoute.list).toBeGreaterThanOrEqual(Math.ceil(expected.length / 100));
  });

  it('keeps empty cells absent and returns records without values as fields: {}', async () => {
    const created = emu.base(BASE).table('Clients').create({});
    const rec = await client()('Clients').find(created.id);
    expect(Object.keys(rec._rawJson.fields).sort()).toEqual(['Created', 'Last Modified']);
    emu.base(BASE).table('Clients').delete(created.id);
    const products = await listAll('Products', { fields: ['Discontinued'] });
    expect(products.some((p) => Object.keys(p.fields).length === 0)).toBe(true);
    for (const p of products) if ('Discontinued' in p.fields) expect(p.fields.Discontinued).toBe(true);
  });

  it('honours returnFieldsByFieldId, fields (names or ids), maxRecords and pageSize', async () => {
    const byId = await listAll('Clients', { returnFieldsByFieldId: true });
    for (const r of byId) for (const k of Object.keys(r.fields)) expect(k).toMatch(/^fld[A-Za-z0-9]{14}$/);
    const some = await listAll('Clients', { fields: ['Client Name', 'fldPlUSdlUpal2YU2'] });
    for (const r of some) for (const k of Object.keys(r.fields)) expect(['Client Name', 'Client Code']).toContain(k);
    const limited = await listAll('Registrations', { maxRecords: 150 });
    expect(limited).toHaveLength(150);
    const page = await client()('Registrations').select({ pageSize: 7 }).firstPage();
    expect(page).toHaveLength(7);
    const bad = await raw(`/v0/${BASE}/Registrations?pageSize=101`);
    expect(bad.status).toBe(422);
    expect(bad.body.error.type).toBe('INVALID_PAGE_SIZE_PARAMETER');
  });

  it('filters with IS_AFTER on Last Modified, DATETIME_PARSE, OR and RECORD_ID()', async () => {
    const regs = tableOf('Registrations').records;
    const cutoff = '2026-10-01T00:00:00.000Z';
    const expected = regs.filter((r) => String(r.fields['Last Modified']) > cutoff).map((r) => r.id).sort();
    expect(expected.length).toBeGreaterThan(0);
    const a = await listAll('Registrations', { filterByFormula: `IS_AFTER({Last Modified}, '${cutoff}')` });
    expect(a.map((r) => r.id).sort()).toEqual(expected);
    const b = await listAll('Registrations', { filterByFormula: `IS_AFTER({Last Modified}, DATETIME_PARSE("${cutoff}"))` });
    expect(b.map((r) => r.id).sort()).toEqual(expected);
    const extra = regs.find((r) => String(r.fields['Last Modified']) <= cutoff)!.id;
    const c = await listAll('Registrations', { filterByFormula: `OR(IS_AFTER({Last Modified}, '${cutoff}'), RECORD_ID() = '${extra}')` });
    expect(c.map((r) => r.id).sort()).toEqual([...expected, extra].sort());
    const d = await listAll('Registrations', { filterByFormula: `AND({Status} = 'Approved', {Fee Paid} > 100, FIND('-', {Registration}) > 0)` });
    expect(d.length).toBe(
      regs.filter((r) => r.fields.Status === 'Approved' && Number(r.fields['Fee Paid'] ?? 0) > 100 && String(r.fields.Registration).includes('-')).length,
    );
    const err = await expectError(listAll('Registrations', { filterByFormula: 'IS_AFTER({Last Modified}, ' }), 422, 'INVALID_FILTER_BY_FORMULA');
    expect(err.message).toMatch(/The formula for filtering records is invalid/);
    await expectError(listAll('Registrations', { filterByFormula: '{No Such Field} = 1' }), 422, 'INVALID_FILTER_BY_FORMULA');
  });

  it('sorts by one or more fields', async () => {
    const regulators = await listAll('State Regulators', { sort: [{ field: 'Renewal Month', direction: 'desc' }, { field: 'Agency Name' }] });
    const months = regulators.map((r) => Number(r.fields['Renewal Month'] ?? -1));
    expect([...months].sort((x, y) => y - x)).toEqual(months);
    const names = regulators.filter((r) => r.fields['Renewal Month'] === 12).map((r) => String(r.fields['Agency Name']).toLowerCase());
    expect([...names].sort()).toEqual(names);
    await expectError(listAll('Clients', { sort: [{ field: 'Nope' }] }), 422, 'UNKNOWN_FIELD_NAME');
  });

  it('finds one record, with returnFieldsByFieldId over HTTP', async () => {
    const first = tableOf('Products').records[0]!;
    const rec = await client()('Products').find(first.id);
    expect(rec._rawJson).toEqual(first);
    const byId = await raw(`/v0/${BASE}/Products/${first.id}?returnFieldsByFieldId=true`);
    expect(Object.keys(byId.body.fields)).toContain('flditdl13jzXqvGJG');
    await expectError(client()('Products').find('recAAAAAAAAAAAAAA'), 404);
    const missing = await raw(`/v0/${BASE}/Products/recAAAAAAAAAAAAAA`);
    expect(missing.body.error.type).toBe('MODEL_ID_NOT_FOUND');
  });

  it('lists with POST listRecords (fetch) the same way as GET, offsets included', async () => {
    const seen: string[] = [];
    let offset: string | undefined;
    let pages = 0;
    do {
      const res = await raw(`/v0/${BASE}/tblmNqfo6lv6OCavM/listRecords`, {
        method: 'POST',
        body: JSON.stringify({ pageSize: 100, offset, fields: ['Registration'], returnFieldsByFieldId: true, sort: [{ field: 'Registration', direction: 'asc' }] }),
      });
      expect(res.status).toBe(200);
      for (const r of res.body.records) {
        seen.push(r.id);
        expect(Object.keys(r.fields).every((k) => k === 'fldA4ZhVdt9lLBWYm')).toBe(true);
      }
      offset = res.body.offset;
      pages++;
    } while (offset);
    expect(pages).toBe(Math.ceil(tableOf('Registrations').records.length / 100));
    expect(new Set(seen).size).toBe(tableOf('Registrations').records.length);
    expect(emu.stats.byRoute.listRecords).toBeGreaterThanOrEqual(pages);
  });

  it('switches the official client to POST listRecords for a formula too long for a URL', async () => {
    const regs = tableOf('Registrations').records.slice(0, 700);
    const formula = `OR(${regs.map((r) => `RECORD_ID() = '${r.id}'`).join(', ')})`;
    expect(formula.length).toBeGreaterThan(16_000);
    emu.resetStats();
    const found = await listAll('Registrations', { filterByFormula: formula });
    expect(found.map((r) => r.id).sort()).toEqual(regs.map((r) => r.id).sort());
    expect(emu.stats.byRoute.listRecords).toBe(Math.ceil(regs.length / 100));
    expect(emu.stats.byRoute.list).toBeUndefined();
  });

  it('refuses unknown parameters, unknown fields and cellFormat=string', async () => {
    expect((await raw(`/v0/${BASE}/Clients?colour=blue`)).body.error.type).toBe('INVALID_REQUEST_UNKNOWN');
    expect((await raw(`/v0/${BASE}/Clients?fields%5B%5D=Nope`)).body.error).toEqual({ type: 'UNKNOWN_FIELD_NAME', message: 'Unknown field name: "Nope"' });
    expect((await raw(`/v0/${BASE}/Clients?cellFormat=string`)).status).toBe(422);
    expect((await raw(`/v0/${BASE}/Clients?returnFieldsByFieldId=1&pageSize=1`)).body.records[0].fields).toHaveProperty('fldCEwXPTULg5Yy0O');
  });

  it('serves the Metadata API in the shape of schema.json', async () => {
    const res = await raw(`/v0/meta/bases/${BASE}/tables`);
    expect(res.status).toBe(200);
    expect(res.body.tables.map((t: { name: string }) => t.name)).toEqual(['Clients', 'State Regulators', 'Products', 'Registrations']);
    const regs = res.body.tables[3];
    expect(regs.primaryFieldId).toBe('fldA4ZhVdt9lLBWYm');
    expect(regs.fields.find((f: { id: string }) => f.id === 'fldmiaUjYsE4lzH9y').options.recordLinkFieldId).toBe('fldUF86Yp8B0Aea5U');
    expect(regs.views[0].type).toBe('grid');
  });
});

describe('offsets', () => {
  it('expire after offsetTtlMs of inactivity and on restart()', async () => {
    const e = await startEmulator({ bases: { [BASE]: copyBase(data) }, rateLimit: false, offsetTtlMs: 400 });
    try {
      const first = await raw(`/v0/${BASE}/Registrations?pageSize=10`, {}, e);
      const second = await raw(`/v0/${BASE}/Registrations?pageSize=10&offset=${encodeURIComponent(first.body.offset)}`, {}, e);
      expect(second.status).toBe(200);
      await new Promise((r) => setTimeout(r, 600));
      const expired = await raw(`/v0/${BASE}/Registrations?pageSize=10&offset=${encodeURIComponent(second.body.offset)}`, {}, e);
      expect(expired.status).toBe(422);
      expect(expired.body.error.type).toBe('LIST_RECORDS_ITERATOR_NOT_AVAILABLE');

      const again = await raw(`/v0/${BASE}/Registrations?pageSize=10`, {}, e);
      e.restart();
      const afterRestart = await raw(`/v0/${BASE}/Registrations?pageSize=10&offset=${encodeURIComponent(again.body.offset)}`, {}, e);
      expect(afterRestart.body.error.type).toBe('LIST_RECORDS_ITERATOR_NOT_AVAILABLE');

      // The official client surfaces it as a 422 error of that type.
      let calls = 0;
      const err = await expectError(
        client(e)('Registrations')
          .select({ pageSize: 100 })
          .eachPage((_records, next) => {
            if (++calls === 2) e.restart();
            next();
          }),
        422,
        'LIST_RECORDS_ITERATOR_NOT_AVAILABLE',
      );
      expect(err).toBeDefined();

      const unknown = await raw(`/v0/${BASE}/Registrations?offset=itrAAAAAAAAAAAAAA/recAAAAAAAAAAAAAA`, {}, e);
      expect(unknown.body.error.type).toBe('LIST_RECORDS_ITERATOR_NOT_AVAILABLE');
      // An offset belongs to its query: another filter cannot use it.
      const q = await raw(`/v0/${BASE}/Registrations?pageSize=5`, {}, e);
      const other = await raw(`/v0/${BASE}/Registrations?pageSize=5&filterByFormula=TRUE()&offset=${encodeURIComponent(q.body.offset)}`, {}, e);
      expect(other.body.error.type).toBe('LIST_RECORDS_ITERATOR_NOT_AVAILABLE');
    } finally {
      await e.stop();
    }
  });

  it('never skips or repeats records that exist throughout a listing, whatever changes meanwhile', async () => {
    const e = await startEmulator({ bases: { [BASE]: copyBase(data) }, rateLimit: false });
    try {
      const table = e.base(BASE).table('Registrations');
      const before = new Set(table.list().map((r) => r.id));
      const deleted = new Set<string>();
      const seen: string[] = [];
      let page = 0;
      await client(e)('Registrations')
        .select({ pageSize: 50 })
        .eachPage((records, next) => {
          for (const r of records) seen.push(r.id);
          page++;
          // Meanwhile users delete, create and edit records.
          const all = table.list();
          const victim = all[all.length - page]!;
          table.delete(victim.id);
          deleted.add(victim.id);
          table.create({ Notes: `created during page ${page}` });
          table.update(all[0]!.id, { Notes: `edited during page ${page}` });
          next();
        });
      expect(new Set(seen).size).toBe(seen.length);
      for (const id of before) if (!deleted.has(id)) expect(seen).toContain(id);
    } finally {
      await e.stop();
    }
  });
});

describe('writing records', () => {
  it('creates up to 10 records a request and refuses 11', async () => {
    const table = client()('Clients');
    const created = await table.create(Array.from({ length: 10 }, (_, i) => ({ fields: { 'Client Name': `Batch Client ${i}`, Status: 'Prospect' } })));
    expect(created).toHaveLength(10);
    expect(created[0]!.get('Created')).toBe(new Date(clock).toISOString());
    expect(created[0]!.get('Last Modified')).toBe(new Date(clock).toISOString());
    await expectError(table.create(Array.from({ length: 11 }, () => ({ fields: { 'Client Name': 'x' } }))), 422, 'INVALID_RECORDS');
    const single = await table.create({ 'Client Name': 'Single legacy create' });
    expect(single.id).toMatch(/^rec[A-Za-z0-9]{14}$/);
    expect(emu.stats.writes).toBeGreaterThanOrEqual(11);
  });

  it('validates values like Airtable', async () => {
    const table = client()('Clients');
    await expectError(table.create({ 'No Such Field': 1 }), 422, 'UNKNOWN_FIELD_NAME');
    const computed = await expectError(table.create({ 'Last Modified': '2026-01-01T00:00:00.000Z' }), 422, 'INVALID_VALUE_FOR_COLUMN');
    expect(computed.message).toMatch(/computed/);
    await expectError(table.create({ 'Annual Budget': 'a lot' }), 422, 'INVALID_VALUE_FOR_COLUMN');
    await expectError(table.create({ Products: ['recAAAAAAAAAAAAAA'] }), 422, 'ROW_DOES_NOT_EXIST');
    await expectError(table.create({ Products: 'recAAAAAAAAAAAAAA' }), 422, 'INVALID_VALUE_FOR_COLUMN');
    await expectError(table.create({ 'Client Since': 'yesterday-ish' }), 422, 'INVALID_VALUE_FOR_COLUMN');
    await expectError(client()('Registrations').create({ Priority: 9 }), 422, 'INVALID_VALUE_FOR_COLUMN');
    // Empty values are stored as absent.
    const emptyValues = { 'Client Name': 'Empty values', Notes: '', Products: [], Email: null } as unknown as Partial<Airtable.FieldSet>;
    const rec = await table.create(emptyValues);
    expect(Object.keys(rec._rawJson.fields).sort()).toEqual(['Client Name', 'Created', 'Last Modified']);
  });

  it('refuses a new select option without typecast and adds it with typecast', async () => {
    const table = client()('Clients');
    const err = await expectError(table.create({ 'Client Name': 'Typecast Co', Status: 'Acquired by Zeta' }), 422, 'INVALID_MULTIPLE_CHOICE_OPTIONS');
    expect(err.message).toBe('Insufficient permissions to create new select option ""Acquired by Zeta""');
    const created = await table.create([{ fields: { 'Client Name': 'Typecast Co', Status: 'Acquired by Zeta', 'Annual Budget': '1,250.50' } }], { typecast: true });
    expect(created[0]!.get('Status')).toBe('Acquired by Zeta');
    expect(created[0]!.get('Annual Budget')).toBe(1250.5);
    const meta = await raw(`/v0/meta/bases/${BASE}/tables`);
    const status = meta.body.tables[0].fields.find((f: { name: string }) => f.name === 'Status');
    expect(status.options.choices.map((c: { name: string }) => c.name)).toContain('Acquired by Zeta');
    expect(status.options.choices.at(-1).id).toMatch(/^sel[A-Za-z0-9]{14}$/);
  });

  it('typecasts link names (matching or creating records), collaborator emails and numbers', async () => {
    const product = tableOf('Products').records[3]!;
    const [reg] = await client()('Registrations').create(
      [{ fields: { Product: `${product.fields['Product Name']}`, Client: 'Typecast Created Client', 'Assigned To': 'maria.gonzalez@deltaanalytical.com', Priority: '4' } }],
      { typecast: true },
    );
    expect(reg!.get('Product')).toEqual([product.id]);
    const newClient = emu.base(BASE).table('Clients').get((reg!.get('Client') as string[])[0]!)!;
    expect(newClient.fields['Client Name']).toBe('Typecast Created Client');
    expect(newClient.fields.Registrations).toEqual([reg!.id]);
    expect(reg!.get('Assigned To')).toMatchObject({ email: 'maria.gonzalez@deltaanalytical.com', name: 'Maria Gonzalez' });
    expect(reg!.get('Priority')).toBe(4);
    await expectError(client()('Registrations').create({ 'Assigned To': { email: 'nobody@example.com' } } as never), 422, 'INVALID_VALUE_FOR_COLUMN');
  });

  it('updates with PATCH semantics and replaces with PUT semantics, bumping Last Modified', async () => {
    const table = client()('Clients');
    const [rec] = await table.create([{ fields: { 'Client Name': 'Patch Me', 'Client Code': 'PM-1', Notes: 'keep me' } }]);
    clock += 5_000;
    const patched = await table.update(rec!.id, { 'Client Code': 'PM-2' });
    expect(patched.fields).toMatchObject({ 'Client Name': 'Patch Me', 'Client Code': 'PM-2', Notes: 'keep me' });
    expect(patched.get('Last Modified')).toBe(new Date(clock).toISOString());
    expect(patched.get('Created')).toBe(rec!.get('Created'));
    clock += 5_000;
    const batch = await table.update([{ id: rec!.id, fields: { Notes: 'batch' } }]);
    expect(batch[0]!.get('Client Code')).toBe('PM-2');
    clock += 5_000;
    const replaced = await table.replace(rec!.id, { 'Client Name': 'Replaced' });
    expect(Object.keys(replaced.fields).sort()).toEqual(['Client Name', 'Created', 'Last Modified']);
    // Writing the same values again is not a change.
    clock += 5_000;
    const same = await table.update(rec!.id, { 'Client Name': 'Replaced' });
    expect(same.get('Last Modified')).toBe(replaced.get('Last Modified'));
    await expectError(table.update([{ id: 'recAAAAAAAAAAAAAA', fields: { Notes: 'x' } }]), 422, 'ROW_DOES_NOT_EXIST');
    await expectError(table.update('recAAAAAAAAAAAAAA', { Notes: 'x' }), 404);
  });

  it('keeps links, lookups and the Registration formula in step', async () => {
    const product = tableOf('Products').records.find((p) => Array.isArray(p.fields.Client))!;
    const regulator = tableOf('State Regulators').records.find((r) => r.fields.State === 'TX')!;
    const created = await client()('Registrations').create({ Product: [product.id], 'State Regulator': [regulator.id], Client: product.fields.Client as string[] });
    expect(created.get('State')).toEqual(['TX']);
    expect(created.get('Registration')).toBe(`${product.fields['Product Name']} - TX`);
    const p = await client()('Products').find(product.id);
    expect(p.get('Registrations')).toContain(created.id);
    expect(p.get('Last Modified')).toBe(new Date(clock).toISOString());
    // Renaming the product recomputes the formula without touching the registration's Last Modified.
    const regBefore = emu.base(BASE).table('Registrations').get(created.id)!;
    clock += 1_000;
    await client()('Products').update(product.id, { 'Product Name': 'Renamed Product' });
    const regAfter = emu.base(BASE).table('Registrations').get(created.id)!;
    expect(regAfter.fields.Registration).toBe('Renamed Product - TX');
    expect(regAfter.fields['Last Modified']).toBe(regBefore.fields['Last Modified']);
    // Deleting the registration unlinks it.
    const destroyed = await client()('Registrations').destroy(created.id);
    expect(destroyed.id).toBe(created.id);
    const p2 = await client()('Products').find(product.id);
    expect(p2.get('Registrations') ?? []).not.toContain(created.id);
  });

  it('deletes up to 10 records by records[]', async () => {
    const table = client()('Clients');
    const recs = await table.create(Array.from({ length: 3 }, (_, i) => ({ fields: { 'Client Name': `Delete ${i}` } })));
    const deleted = await table.destroy(recs.map((r) => r.id));
    expect(deleted.map((r) => r.id)).toEqual(recs.map((r) => r.id));
    const res = await raw(`/v0/${BASE}/Clients?${recs.map((r) => `records[]=${r.id}`).join('&')}`, { method: 'DELETE' });
    expect(res.status).toBe(404);
    const tooMany = await raw(`/v0/${BASE}/Clients?${Array.from({ length: 11 }, (_, i) => `records[]=rec${String(i).padStart(14, 'A')}`).join('&')}`, { method: 'DELETE' });
    expect(tooMany.status).toBe(422);
    expect(tooMany.body.error.type).toBe('INVALID_RECORDS');
  });

  it('upserts with performUpsert.fieldsToMergeOn', async () => {
    const existing = tableOf('Clients').records.find((c) => typeof c.fields['Client Code'] === 'string')!;
    const res = await raw(`/v0/${BASE}/Clients`, {
      method: 'PATCH',
      body: JSON.stringify({
        performUpsert: { fieldsToMergeOn: ['Client Code'] },
        records: [
          { fields: { 'Client Code': existing.fields['Client Code'], Notes: 'upserted' } },
          { fields: { 'Client Code': 'NEW-9999', 'Client Name': 'Upsert New' } },
        ],
      }),
    });
    expect(res.status).toBe(200);
    expect(res.body.updatedRecords).toEqual([existing.id]);
    expect(res.body.createdRecords).toHaveLength(1);
    expect(res.body.records[0].fields.Notes).toBe('upserted');
    expect(res.body.records[0].fields['Client Name']).toBe(existing.fields['Client Name']);
  });

  it('answers 413 for a body over 1 MB and 422 for malformed JSON', async () => {
    const big = await raw(`/v0/${BASE}/Clients`, { method: 'POST', body: JSON.stringify({ fields: { Notes: 'x'.repeat(1_100_000) } }) });
    expect(big.status).toBe(413);
    expect(big.body.error.type).toBe('REQUEST_TOO_LARGE');
    const longUrl = await raw(`/v0/${BASE}/Clients?filterByFormula=${'x'.repeat(17_000)}`);
    expect(longUrl.status).toBe(414);
    const bad = await raw(`/v0/${BASE}/Clients`, { method: 'POST', body: '{"fields": ' });
    expect(bad.status).toBe(422);
    expect(bad.body.error.type).toBe('INVALID_REQUEST_BODY');
  });
});

describe('simulated users (emulator.base())', () => {
  it('edits bump Last Modified; formula-only changes do not', async () => {
    const handle = emu.base(BASE).table('Registrations');
    const reg = tableOf('Registrations').records[10]!;
    clock += 1_000;
    const edited = handle.update(reg.id, { Notes: 'edited by a user' });
    expect(edited.fields['Last Modified']).toBe(new Date(clock).toISOString());
    clock += 1_000;
    const formula = handle.update(reg.id, { 'Days Until Expiration': { specialValue: 'NaN' } });
    expect(formula.fields['Days Until Expiration']).toEqual({ specialValue: 'NaN' });
    expect(formula.fields['Last Modified']).toBe(edited.fields['Last Modified']);
    const found = await listAll('Registrations', { filterByFormula: `IS_AFTER({Last Modified}, '${new Date(clock - 1_500).toISOString()}')` });
    expect(found.map((r) => r.id)).toEqual([reg.id]);
  });

  it('renames, adds and removes fields and select options', async () => {
    const e = await startEmulator({ bases: { [BASE]: copyBase(data) }, rateLimit: false });
    try {
      const b = e.base(BASE);
      b.renameField('Clients', 'fldcRQ5EWmHA7hkmK', 'Company');
      const [first] = await client(e)('Clients').select({ pageSize: 1 }).firstPage();
      expect(first!.fields).toHaveProperty('Company');
      expect(first!.fields).not.toHaveProperty('Client Name');
      b.addField('Clients', { id: 'fldNEWFIELD000001', name: 'Region', type: 'singleSelect', options: { choices: [{ name: 'West' }] } });
      b.addSelectOption('Clients', 'fldNEWFIELD000001', 'East');
      const rec = await client(e)('Clients').create({ Company: 'Region Co', Region: 'East' });
      expect(rec.get('Region')).toBe('East');
      b.removeField('Clients', 'fldNEWFIELD000001');
      expect(b.table('Clients').get(rec.id)!.fields).not.toHaveProperty('Region');
      b.changeFieldType('State Regulators', 'fldoQh2Z9dzm14DkC', 'singleLineText');
      const reg = b.table('State Regulators').list()[0]!;
      expect(typeof reg.fields['Renewal Month']).toBe('string');
      const meta = b.schema().tables as { fields: { id: string; type: string }[] }[];
      expect(meta[1]!.fields.find((f) => f.id === 'fldoQh2Z9dzm14DkC')!.type).toBe('singleLineText');
    } finally {
      await e.stop();
    }
  });
});

describe('errors, limits and failures', () => {
  it('answers 401 for a wrong token, 403 for an unknown base, 404 for an unknown table', async () => {
    await expectError(client(emu, BASE, 'patWRONG')('Clients').select().firstPage(), 401, 'AUTHENTICATION_REQUIRED');
    const noAuth = await fetch(`${emu.url}/v0/${BASE}/Clients`);
    expect(noAuth.status).toBe(401);
    expect(await noAuth.json()).toEqual({ error: { type: 'AUTHENTICATION_REQUIRED', message: 'Authentication required' } });
    await expectError(client(emu, 'appNOSUCHBASE0000')('Clients').select().firstPage(), 403);
    const forbidden = await raw(`/v0/appNOSUCHBASE0000/Clients`);
    expect(forbidden.body.error.type).toBe('INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND');
    const err = await expectError(client()('Nope').select().firstPage(), 404);
    expect(err.message).toBe(`Could not find table Nope in application ${BASE}`);
  });

  it('rate-limits more than 5 requests a second per base, then refuses everything for penaltyMs', async () => {
    const e = await startEmulator({ bases: { [BASE]: copyBase(data), appOTHERBASE00001: copyBase(data) }, rateLimit: { requestsPerSecond: 5, penaltyMs: 300 } });
    try {
      const results = await Promise.all(Array.from({ length: 8 }, () => raw(`/v0/${BASE}/Clients?pageSize=1`, {}, e)));
      expect(results.filter((r) => r.status === 200)).toHaveLength(5);
      const limited = results.filter((r) => r.status === 429);
      expect(limited).toHaveLength(3);
      expect(limited[0]!.body).toEqual({ error: { type: 'RATE_LIMIT_REACHED', message: 'Rate limit exceeded. Please try again later' } });
      await expectError(client(e)('Clients').select({ pageSize: 1 }).firstPage(), 429);
      // Another base is not affected.
      expect((await raw(`/v0/appOTHERBASE00001/Clients?pageSize=1`, {}, e)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 350));
      expect((await raw(`/v0/${BASE}/Clients?pageSize=1`, {}, e)).status).toBe(200);
      expect(e.stats.rateLimited).toBe(4);
    } finally {
      await e.stop();
    }
  });

  it('rate-limits per token across bases', async () => {
    const e = await startEmulator({
      bases: { [BASE]: copyBase(data), appOTHERBASE00001: copyBase(data) },
      rateLimit: { requestsPerSecond: 5, penaltyMs: 300, tokenRequestsPerSecond: 8 },
    });
    try {
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => raw(`/v0/${i % 2 ? BASE : 'appOTHERBASE00001'}/Clients?pageSize=1`, {}, e)),
      );
      expect(results.filter((r) => r.status === 429).length).toBe(2);
    } finally {
      await e.stop();
    }
  });

  it('injects 503 with Retry-After, 500 and network failures', async () => {
    emu.injectFailure({ method: 'GET', path: /\/Clients$/, status: 503, headers: { 'Retry-After': '2' } });
    const r503 = await raw(`/v0/${BASE}/Clients`);
    expect(r503.status).toBe(503);
    expect(r503.headers.get('retry-after')).toBe('2');
    expect((await raw(`/v0/${BASE}/Clients?pageSize=1`)).status).toBe(200);

    emu.injectFailure({ path: /Products/, status: 500, count: 2 });
    await expectError(client()('Products').select({ pageSize: 1 }).firstPage(), 500, 'SERVER_ERROR');
    await expectError(client()('Products').select({ pageSize: 1 }).firstPage(), 500);
    expect(await client()('Products').select({ pageSize: 1 }).firstPage()).toHaveLength(1);

    emu.injectFailure({ path: /State/, status: 'network' });
    // The client passes the fetch error through (it does not retry network errors).
    let err: any;
    await client()('State Regulators').select({ pageSize: 1 }).firstPage().catch((e: unknown) => (err = e));
    expect(err).toBeDefined();
    expect(err.statusCode).toBeUndefined();
    expect(`${err.code} ${err.message}`).toMatch(/ECONNRESET|socket hang up/);
    expect(await client()('State Regulators').select({ pageSize: 1 }).firstPage()).toHaveLength(1);
  });

  it('can re-sign attachment URLs on every response', async () => {
    let now = T0;
    const e = await startEmulator({ bases: { [BASE]: copyBase(data) }, rateLimit: false, rotateAttachmentUrls: true, now: () => new Date(now) });
    try {
      const product = tableOf('Products').records.find((p) => Array.isArray(p.fields.Label))!;
      const first = (await client(e)('Products').find(product.id)).get('Label') as readonly Airtable.Attachment[];
      now += 3 * 3600_000;
      const second = (await client(e)('Products').find(product.id)).get('Label') as readonly Airtable.Attachment[];
      expect(second[0]!.id).toBe(first[0]!.id);
      expect(second[0]!.url).not.toBe(first[0]!.url);
      expect(second[0]!.url).toContain(`/${Math.ceil((now + 2 * 3600_000) / 3600_000) * 3600_000}/`);
    } finally {
      await e.stop();
    }
  });

  it('adds latency to responses', async () => {
    const e = await startEmulator({ bases: { [BASE]: copyBase(data) }, rateLimit: false, latencyMs: 120 });
    try {
      const t = performance.now();
      await raw(`/v0/${BASE}/Clients?pageSize=1`, {}, e);
      expect(performance.now() - t).toBeGreaterThanOrEqual(110);
    } finally {
      await e.stop();
    }
  });
});
