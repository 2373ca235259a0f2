/**
 * The Airtable emulator, driven by the official `airtable` client (and fetch
 * for what the client cannot reach: metadata, POST listRecords, raw errors).
 */
import Airtable from 'airtable';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import {
  attachmentBytes,
  sha256OfAttachment,
  startEmulator,
  type AirtableRecord,
  type BaseData,
  type Emulator,
  type EmulatorOptions,
} from '../tools/emulator/emulator.ts';
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

describe('attachment content (attachmentContent)', () => {
  interface Att {
    id: string;
    url: string;
    filename: string;
    size: number;
    type: string;
  }
  const sha256 = (b: Buffer | Uint8Array) => createHash('sha256').update(b).digest('hex');
  const products = () => tableOf('Products').records.filter((p) => Array.isArray(p.fields.Label));
  const withContent = (extra: Partial<EmulatorOptions> = {}) =>
    startEmulator({ bases: { [BASE]: copyBase(data) }, rateLimit: false, attachmentContent: true, ...extra });
  const labelOf = async (e: Emulator, id: string): Promise<Att[]> => (await raw(`/v0/${BASE}/Products/${id}`, {}, e)).body.fields.Label as Att[];
  const download = async (u: string) => {
    const res = await fetch(u);
    return { status: res.status, type: res.headers.get('content-type'), length: res.headers.get('content-length'), bytes: Buffer.from(await res.arrayBuffer()) };
  };
  const upload = (e: Emulator, recordId: string, field: string, body: unknown, token = e.token) =>
    fetch(`${e.url}/v0/${BASE}/${recordId}/${encodeURIComponent(field)}/uploadAttachment`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

  it('computes the synthetic bytes of a generated attachment: exact size, PDF header, deterministic per id', () => {
    const a = attachmentBytes('attAAAAAAAAAAAAAA1', 200_000);
    expect(a.length).toBe(200_000);
    expect(a.subarray(0, 9).toString('latin1')).toBe('%PDF-1.4\n');
    expect(sha256OfAttachment('attAAAAAAAAAAAAAA1', 200_000)).toBe(sha256(a));
    expect(attachmentBytes('attAAAAAAAAAAAAAA1', 200_000).equals(a)).toBe(true);
    expect(sha256OfAttachment('attAAAAAAAAAAAAAA2', 200_000)).not.toBe(sha256(a));
    expect(attachmentBytes('attAAAAAAAAAAAAAA1', 5).toString('latin1')).toBe('%PDF-');
    expect(attachmentBytes('attAAAAAAAAAAAAAA1', 0).length).toBe(0);
  });

  it('serves a listed attachment at its URL with the declared size, type and the expected SHA-256, outside the rate limits', async () => {
    const e = await withContent({ rateLimit: { requestsPerSecond: 1, penaltyMs: 30_000, tokenRequestsPerSecond: 1 } });
    try {
      const listed = await raw(`/v0/${BASE}/Products?pageSize=100&fields%5B%5D=Label`, {}, e);
      expect(listed.status).toBe(200);
      const withLabel = (listed.body.records as AirtableRecord[]).filter((r) => Array.isArray(r.fields.Label));
      expect(withLabel.length).toBeGreaterThan(1);
      const att = (withLabel[0]!.fields.Label as Att[])[0]!;
      const declared = (products().find((p) => p.id === withLabel[0]!.id)!.fields.Label as Att[])[0]!;
      expect(att.id).toBe(declared.id);
      expect(att.size).toBe(declared.size);
      expect(att.url).toMatch(new RegExp(`^${e.url}/content/\\d{13}/${att.id}/[A-Za-z0-9_-]+/${encodeURIComponent(att.filename)}$`));
      const expiresAt = Number(/\/content\/(\d+)\//.exec(att.url)![1]);
      expect(expiresAt - Date.now()).toBeGreaterThan(2 * 3600_000 - 60_000);
      expect(expiresAt - Date.now()).toBeLessThanOrEqual(2 * 3600_000);

      const got = await download(att.url);
      expect(got.status).toBe(200);
      expect(got.type).toBe('application/pdf');
      expect(got.length).toBe(String(declared.size));
      expect(got.bytes.length).toBe(declared.size);
      expect(sha256(got.bytes)).toBe(sha256OfAttachment(att.id, declared.size));
      expect(e.attachmentContent(att.id)!.equals(got.bytes)).toBe(true);

      // 1 request a second per base and per token, yet 20 downloads pass: the content host is not rate limited.
      const urls = withLabel.slice(0, 20).map((r) => (r.fields.Label as Att[])[0]!);
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => download(urls[i % urls.length]!.url)));
      expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
      results.forEach((r, i) => expect(sha256(r.bytes)).toBe(sha256OfAttachment(urls[i % urls.length]!.id, urls[i % urls.length]!.size)));
      expect(e.stats.rateLimited).toBe(0);
      expect(e.stats.requests).toBe(1);
      expect(e.stats.contentRequests).toBe(21);
      expect(e.stats.contentServed).toBe(21);
      expect(e.stats.contentBytes).toBe(declared.size + results.reduce((n, r) => n + r.bytes.length, 0));
      // the API itself still is (two requests in a row: the downloads may have taken more than the 1 s window)
      const api = [(await raw(`/v0/${BASE}/Products?pageSize=1`, {}, e)).status, (await raw(`/v0/${BASE}/Products?pageSize=1`, {}, e)).status];
      expect(api).toContain(429);
    } finally {
      await e.stop();
    }
  });

  it('expires URLs after attachmentUrlTtlMs (410); a re-read gives a fresh working URL; forged or edited URLs are 403', async () => {
    const e = await withContent({ attachmentUrlTtlMs: 1500 });
    try {
      const product = products()[0]!;
      const [first] = await labelOf(e, product.id);
      expect((await download(first!.url)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 1600));
      const expired = await download(first!.url);
      expect(expired.status).toBe(410);
      expect(expired.bytes.toString()).toBe('URL expired');

      const [again] = await labelOf(e, product.id);
      expect(again!.id).toBe(first!.id);
      expect(again!.url).not.toBe(first!.url);
      const fresh = await download(again!.url);
      expect(fresh.status).toBe(200);
      expect(sha256(fresh.bytes)).toBe(sha256OfAttachment(again!.id, again!.size));

      // a tampered signature, an extended expiry, another attachment's id under this signature
      const parts = again!.url.split('/');
      const sig = parts[parts.length - 2]!;
      const tampered = [...parts.slice(0, -2), (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1), parts[parts.length - 1]].join('/');
      expect((await download(tampered)).status).toBe(403);
      const extended = again!.url.replace(/\/content\/(\d+)\//, (_, exp: string) => `/content/${Number(exp) + 3600_000}/`);
      const forged = await download(extended);
      expect(forged.status).toBe(403);
      expect(forged.bytes.toString()).toMatch(/signature/);
      const other = (products()[1]!.fields.Label as Att[])[0]!;
      expect((await download(again!.url.replace(again!.id, other.id))).status).toBe(403);
      // a correctly signed URL of an attachment whose content was removed
      e.setAttachmentContent(again!.id, null);
      const [third] = await labelOf(e, product.id);
      expect((await download(third!.url)).status).toBe(404);
      expect(e.attachmentContent(again!.id)).toBeUndefined();
    } finally {
      await e.stop();
    }
  });

  it('expires URLs on the emulator clock (now)', async () => {
    let now = T0;
    const e = await withContent({ now: () => new Date(now) });
    try {
      const [att] = await labelOf(e, products()[0]!.id);
      expect(att!.url).toContain(`/content/${T0 + 2 * 3600_000}/`);
      now += 2 * 3600_000 - 1000;
      expect((await download(att!.url)).status).toBe(200);
      now += 2000;
      expect((await download(att!.url)).status).toBe(410);
    } finally {
      await e.stop();
    }
  });

  it('uploads a file with uploadAttachment: appended to the cell, answered keyed by field id, served back, lastModifiedTime bumped', async () => {
    let now = T0;
    const e = await withContent({ now: () => new Date(now) });
    try {
      const product = products()[0]!;
      const before = await labelOf(e, product.id);
      now += 60_000;
      const file = Buffer.from('%PDF-1.7\nan uploaded label\n' + 'x'.repeat(1000));
      const res = await upload(e, product.id, 'Label', { contentType: 'application/pdf', file: file.toString('base64'), filename: 'new label.pdf' });
      expect(res.status).toBe(200);
      expect(res.body.id).toBe(product.id);
      expect(res.body.createdTime).toBe(product.createdTime);
      expect(Object.keys(res.body.fields)).toEqual(['fldm98vOtlVmdetoO']);
      const cell = res.body.fields.fldm98vOtlVmdetoO as Att[];
      expect(cell.map((a) => a.id).slice(0, before.length)).toEqual(before.map((a) => a.id));
      expect(cell).toHaveLength(before.length + 1);
      const added = cell[cell.length - 1]!;
      expect(added).toMatchObject({ filename: 'new label.pdf', size: file.length, type: 'application/pdf' });
      expect(added.id).toMatch(/^att[A-Za-z0-9]{14}$/);
      const got = await download(added.url);
      expect(got.status).toBe(200);
      expect(got.type).toBe('application/pdf');
      expect(got.bytes.equals(file)).toBe(true);

      const reread = await raw(`/v0/${BASE}/Products/${product.id}`, {}, e);
      expect((reread.body.fields.Label as Att[]).map((a) => a.id)).toEqual(cell.map((a) => a.id));
      expect(reread.body.fields['Last Modified']).toBe(new Date(now).toISOString());
      expect(e.stats.byRoute.uploadAttachment).toBe(1);
      expect(e.stats.writeRequests).toBe(1);

      // by field id, on a record of another table (the record is found without its table), to an empty cell
      const reg = tableOf('Registrations').records.find((r) => !Array.isArray(r.fields.Documents))!;
      const doc = await upload(e, reg.id, 'fldTHJoTD5wtFrQa2', { contentType: 'text/plain', file: Buffer.from('hello').toString('base64'), filename: 'a.txt' });
      expect(doc.status).toBe(200);
      expect(doc.body.fields.fldTHJoTD5wtFrQa2).toHaveLength(1);
      expect((await download(doc.body.fields.fldTHJoTD5wtFrQa2[0].url)).bytes.toString()).toBe('hello');
    } finally {
      await e.stop();
    }
  });

  it('refuses bad uploads: 401 without the token, 404 unknown record or field, 422 not an attachment field or malformed, 413 over 5 MB', async () => {
    const e = await withContent();
    try {
      const product = products()[0]!;
      const ok = { contentType: 'text/plain', file: Buffer.from('x').toString('base64'), filename: 'x.txt' };
      const unauth = await upload(e, product.id, 'Label', ok, 'patWRONG');
      expect(unauth.status).toBe(401);
      expect(unauth.body.error.type).toBe('AUTHENTICATION_REQUIRED');
      expect((await upload(e, 'recAAAAAAAAAAAAAA', 'Label', ok)).status).toBe(404);
      expect((await upload(e, product.id, 'No Such Field', ok)).status).toBe(404);
      const notAttachment = await upload(e, product.id, 'Product Name', ok);
      expect(notAttachment.status).toBe(422);
      expect(notAttachment.body.error.type).toBe('INVALID_REQUEST_UNKNOWN');
      expect((await upload(e, product.id, 'Label', { ...ok, file: '*not base64*' })).status).toBe(422);
      expect((await upload(e, product.id, 'Label', { file: ok.file, filename: 'x.txt' })).status).toBe(422);
      const big = await upload(e, product.id, 'Label', { ...ok, file: Buffer.alloc(5 * 1024 * 1024 + 1, 7).toString('base64') });
      expect(big.status).toBe(413);
      const exactly = await upload(e, product.id, 'Label', { ...ok, file: Buffer.alloc(5 * 1024 * 1024, 7).toString('base64') });
      expect(exactly.status).toBe(200);
      const label = await labelOf(e, product.id);
      expect(label.map((a) => a.size)).toEqual([...(product.fields.Label as Att[]).map((a) => a.size), 5 * 1024 * 1024]);
    } finally {
      await e.stop();
    }
  });

  it('fetches the URL of a {url} cell written through the API and keeps its bytes (a copy from another emulator); a failed fetch adds an empty file', async () => {
    const source = await withContent();
    const e = await withContent();
    try {
      const [product, target] = products();
      const [att] = await labelOf(source, product!.id);
      const kept = (target!.fields.Label as Att[]).map((a) => ({ id: a.id }));
      const res = await raw(
        `/v0/${BASE}/Products/${target!.id}`,
        { method: 'PATCH', body: JSON.stringify({ fields: { Label: [...kept, { url: att!.url }] } }) },
        e,
      );
      expect(res.status).toBe(200);
      const cell = res.body.fields.Label as Att[];
      expect(cell).toHaveLength(kept.length + 1);
      const copy = cell[cell.length - 1]!;
      expect(copy.id).not.toBe(att!.id);
      expect(copy).toMatchObject({ filename: att!.filename, size: att!.size, type: 'application/pdf' });
      expect(copy.url.startsWith(`${e.url}/content/`)).toBe(true);
      const got = await download(copy.url);
      expect(got.bytes.length).toBe(att!.size);
      expect(sha256(got.bytes)).toBe(sha256OfAttachment(att!.id, att!.size));
      expect(source.stats.contentServed).toBe(1);
      expect(e.stats.attachmentFetches).toBe(1);
      // the existing attachments were kept by id, not fetched again
      expect(cell.slice(0, kept.length).map((a) => a.id)).toEqual(kept.map((a) => a.id));

      // an expired or unreachable URL: the attachment is added, empty
      const created = await raw(
        `/v0/${BASE}/Products`,
        { method: 'POST', body: JSON.stringify({ records: [{ fields: { 'Product Name': 'Broken', Label: [{ url: `${source.url}/content/1/attX/bad/x.pdf`, filename: 'x.pdf' }] } }] }) },
        e,
      );
      expect(created.status).toBe(200);
      const broken = created.body.records[0].fields.Label[0] as Att;
      expect(broken).toMatchObject({ filename: 'x.pdf', size: 0 });
      expect(e.stats.attachmentFetchFailures).toBe(1);
      expect((await download(broken.url)).bytes.length).toBe(0);
    } finally {
      await Promise.all([source.stop(), e.stop()]);
    }
  });

  it('injects failures into downloads: cut mid-body (truncate), network errors, 503; contentLatencyMs delays them', async () => {
    const e = await withContent({ contentLatencyMs: 100 });
    try {
      const att = products()
        .map((p) => (p.fields.Label as Att[])[0]!)
        .find((a) => a.size > 200_000)!;
      const [fresh] = await labelOf(e, products().find((p) => (p.fields.Label as Att[])[0]!.id === att.id)!.id);

      e.injectFailure({ path: /^\/content\//, status: 'truncate' });
      const res = await fetch(fresh!.url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-length')).toBe(String(att.size));
      const reader = res.body!.getReader();
      let received = 0;
      let error: unknown;
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          received += value.length;
        }
      } catch (x) {
        error = x;
      }
      expect(error).toBeDefined();
      expect(received).toBe(Math.floor(att.size / 2));

      e.injectFailure({ path: /^\/content\//, status: 'truncate', truncateAfterBytes: 1000 });
      await expect(fetch(fresh!.url).then((r) => r.arrayBuffer())).rejects.toThrow();
      expect(e.stats.contentBytes).toBe(Math.floor(att.size / 2) + 1000);

      e.injectFailure({ path: /^\/content\//, status: 'network' });
      await expect(fetch(fresh!.url)).rejects.toThrow();
      e.injectFailure({ path: /^\/content\//, status: 503 });
      expect((await download(fresh!.url)).status).toBe(503);

      const t = performance.now();
      const ok = await download(fresh!.url);
      expect(performance.now() - t).toBeGreaterThanOrEqual(90);
      expect(sha256(ok.bytes)).toBe(sha256OfAttachment(att.id, att.size));
      expect(e.stats.contentRequests).toBe(5);

      // an API answer cut short: the write is applied, its answer lost
      const target = products()[2]!;
      e.injectFailure({ method: 'PATCH', status: 'truncate', truncateAfterBytes: 10 });
      await expect(
        fetch(`${e.url}/v0/${BASE}/Products/${target.id}`, {
          method: 'PATCH',
          headers: { authorization: `Bearer ${e.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ fields: { 'Active Ingredients': 'applied, answer cut' } }),
        }).then((r) => r.text()),
      ).rejects.toThrow();
      expect(e.base(BASE).table('Products').get(target.id)!.fields['Active Ingredients']).toBe('applied, answer cut');
      expect(e.stats.writeRequests).toBe(1);
    } finally {
      await e.stop();
    }
  });

  it('leaves attachment URLs as stored when the option is off', async () => {
    const product = products()[0]!;
    const [att] = (await raw(`/v0/${BASE}/Products/${product.id}`)).body.fields.Label as Att[];
    expect(att!.url).toBe((product.fields.Label as Att[])[0]!.url);
    expect(att!.url).toMatch(/^https:\/\/v5\.airtableusercontent\.com\//);
  });
});
