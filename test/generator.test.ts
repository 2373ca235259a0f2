/** The deterministic Delta base generator: determinism, counts, planted problems, consistency. */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AirtableRecord, TableData } from '../tools/emulator/emulator.ts';
import {
  builtInDeltaSchema,
  deltaSchemaPath,
  generateDeltaBase,
  loadDeltaSchema,
  PLANTED_KINDS,
  type GeneratedBase,
} from '../tools/generator/generator.ts';

const hash = (v: unknown) => createHash('sha256').update(JSON.stringify(v)).digest('hex');
const table = (b: GeneratedBase, name: string): TableData => b.tables.find((t) => t.name === name)!;
const ids = (v: unknown) => (Array.isArray(v) ? (v as string[]) : []);

describe('generateDeltaBase', () => {
  const base = generateDeltaBase({ seed: 42, registrations: 3000 });
  const clients = table(base, 'Clients');
  const regulators = table(base, 'State Regulators');
  const products = table(base, 'Products');
  const registrations = table(base, 'Registrations');
  const plantedIds = new Set(base.planted.map((p) => p.recordId));
  const all = new Map<string, AirtableRecord>();
  for (const t of base.tables) for (const r of t.records) all.set(r.id, r);

  it('is deterministic for a seed and differs between seeds', () => {
    const again = generateDeltaBase({ seed: 42, registrations: 3000 });
    expect(hash(again)).toBe(hash(base));
    const other = generateDeltaBase({ seed: 43, registrations: 3000 });
    expect(hash(other)).not.toBe(hash(base));
    // Messiness only changes the planted cells: same ids either way.
    const clean = generateDeltaBase({ seed: 42, registrations: 3000, messiness: 0 });
    expect(clean.planted).toEqual([]);
    expect(clean.tables.map((t) => t.records.map((r) => r.id))).toEqual(base.tables.map((t) => t.records.map((r) => r.id)));
  });

  it('has the expected shape and counts', () => {
    expect(base.tables.map((t) => t.name)).toEqual(['Clients', 'State Regulators', 'Products', 'Registrations']);
    expect(clients.records).toHaveLength(20);
    expect(regulators.records).toHaveLength(60);
    expect(products.records).toHaveLength(200);
    expect(registrations.records).toHaveLength(3000);
    expect(generateDeltaBase({ seed: 1, registrations: 30_000, messiness: 0 }).tables.map((t) => t.records.length)).toEqual([200, 60, 2000, 30_000]);
    for (const r of all.values()) {
      expect(r.id).toMatch(/^rec[A-Za-z0-9]{14}$/);
      expect(r.createdTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000Z$/);
      for (const v of Object.values(r.fields)) expect(v === '' || v === null || v === false || (Array.isArray(v) && v.length === 0)).toBe(false);
    }
    const states = new Set(regulators.records.map((r) => r.fields.State));
    expect(states.size).toBe(52);
    expect(regulators.records.map((r) => r.fields['Agency Name'])).toEqual(
      expect.arrayContaining(['California Department of Pesticide Regulation', 'Texas Department of Agriculture', 'Office of Indiana State Chemist']),
    );
  });

  it('plants the configured share of problems, every kind at least once, and lists them', () => {
    const total = base.tables.reduce((n, t) => n + t.records.length, 0);
    expect(plantedIds.size).toBe(base.planted.length); // one problem per record
    expect(base.planted.length / total).toBeGreaterThan(0.015);
    expect(base.planted.length / total).toBeLessThan(0.03);
    expect(new Set(base.planted.map((p) => p.kind))).toEqual(new Set(PLANTED_KINDS));
    for (const p of base.planted) {
      const rec = all.get(p.recordId)!;
      expect(rec, `${p.kind} on ${p.recordId}`).toBeDefined();
      if (p.value === null) expect(rec.fields).not.toHaveProperty(p.field);
      else expect(rec.fields[p.field]).toEqual(p.value);
    }
    const byKind = (k: string) => base.planted.filter((p) => p.kind === k);
    expect(byKind('currency-huge').some((p) => Number(p.value) >= 1e10)).toBe(true);
    expect(byKind('huge-text').every((p) => String(p.value).length >= 20_000)).toBe(true);
    expect(byKind('renewal-month-out-of-range').every((p) => p.value === 0 || p.value === 13)).toBe(true);
    for (const p of byKind('dangling-link')) expect(ids(p.value).some((id) => !all.has(id))).toBe(true);
    for (const p of byKind('two-linked-records')) expect(ids(p.value)).toHaveLength(2);
    for (const p of byKind('approval-before-submission')) {
      const f = all.get(p.recordId)!.fields;
      expect(String(f['Approved Date']) < String(f['Submitted Date'])).toBe(true);
    }
    for (const p of byKind('client-mismatch')) {
      const f = all.get(p.recordId)!.fields;
      const product = all.get(ids(f.Product)[0]!);
      expect(ids(product?.fields.Client)).not.toEqual(ids(f.Client));
    }
    for (const p of byKind('case-duplicate')) {
      const same = [...all.values()].filter((r) => r.id !== p.recordId && String(r.fields[p.field] ?? '').toLowerCase() === String(p.value).toLowerCase());
      expect(same.length).toBeGreaterThan(0);
      expect(same.every((r) => r.fields[p.field] !== p.value)).toBe(true);
    }
    // New select options are in the returned schema, as Airtable adds them.
    for (const p of byKind('new-select-option')) {
      const t = base.tables.find((x) => x.name === p.table)!;
      const choices = (t.fields.find((f) => f.id === p.fieldId)!.options!.choices as { name: string }[]).map((c) => c.name);
      for (const v of Array.isArray(p.value) ? p.value : [p.value]) expect(choices).toContain(v);
    }
  });

  it('keeps every reverse link, lookup and formula consistent', () => {
    const check = (from: TableData, field: string, to: TableData, back: string) => {
      const toIds = new Set(to.records.map((r) => r.id));
      const expected = new Map<string, string[]>();
      for (const r of from.records) for (const id of ids(r.fields[field])) if (toIds.has(id)) expected.set(id, [...(expected.get(id) ?? []), r.id]);
      for (const r of to.records) expect(ids(r.fields[back])).toEqual(expected.get(r.id) ?? []);
    };
    check(products, 'Client', clients, 'Products');
    check(registrations, 'Client', clients, 'Registrations');
    check(registrations, 'Product', products, 'Registrations');
    check(registrations, 'State Regulator', regulators, 'Registrations');
    for (const r of registrations.records) {
      const regs = ids(r.fields['State Regulator']).map((id) => all.get(id)).filter(Boolean) as AirtableRecord[];
      const states = regs.map((g) => g.fields.State as string);
      if (states.length) expect(r.fields.State).toEqual(states);
      else expect(r.fields).not.toHaveProperty('State');
      const names = ids(r.fields.Product)
        .map((id) => all.get(id)?.fields['Product Name'])
        .filter((n) => typeof n === 'string' && n !== '');
      expect(r.fields.Registration).toBe(`${names.join(', ')} - ${states.join(', ')}`);
    }
    for (const c of clients.records) expect(c.fields.Created).toBe(c.createdTime);
    for (const r of all.values()) {
      const lm = Object.entries(r.fields).find(([k]) => k === 'Last Modified')![1] as string;
      expect(lm >= r.createdTime).toBe(true);
      expect(lm <= '2026-11-01T00:00:00.000Z').toBe(true);
    }
  });

  it('keeps the unplanted records clean', () => {
    const clean = (t: TableData) => t.records.filter((r) => !plantedIds.has(r.id));
    const choiceNames = (t: TableData, field: string) =>
      new Set((loadDeltaSchema().tables.find((x) => x.id === t.id)!.fields.find((f) => f.name === field)!.options!.choices as { name: string }[]).map((c) => c.name));
    const twoDecimals = (v: unknown) => typeof v === 'number' && v >= 0 && v < 1e10 && Math.abs(Math.round(v * 100) - v * 100) < 1e-6;
    const noSpaces = (v: unknown) => typeof v !== 'string' || (v === v.trim() && !/[\u{1F300}-\u{1FAFF}\u4e00-\u9fff]/u.test(v));
    const email = /^[a-z.]+@[a-z0-9.]+\.[a-z]+$/;
    const phone = /^\(\d{3}\) \d{3}-\d{4}$/;
    const statuses = choiceNames(registrations, 'Status');
    const tags = choiceNames(registrations, 'Tags');
    const today = Date.parse('2026-11-01T00:00:00.000Z');
    for (const r of clean(registrations)) {
      const f = r.fields;
      expect(statuses.has(f.Status as string)).toBe(true);
      for (const t of ids(f.Tags)) expect(tags.has(t)).toBe(true);
      expect(ids(f.Product)).toHaveLength(1);
      expect(ids(f['State Regulator'])).toHaveLength(1);
      const product = all.get(ids(f.Product)[0]!)!;
      expect(ids(f.Client)).toEqual(ids(product.fields.Client));
      expect(all.has(ids(f['State Regulator'])[0]!)).toBe(true);
      if (f['Approved Date']) expect(String(f['Submitted Date']) < String(f['Approved Date'])).toBe(true);
      if (f['Expiration Date']) {
        expect(String(f['Approved Date']) < String(f['Expiration Date'])).toBe(true);
        expect(f['Days Until Expiration']).toBe(Math.trunc((Date.parse(`${f['Expiration Date']}T00:00:00Z`) - today) / 86_400_000));
      } else expect(f).not.toHaveProperty('Days Until Expiration');
      if ('Fee Paid' in f) expect(twoDecimals(f['Fee Paid'])).toBe(true);
      expect(noSpaces(f['State Registration Number'])).toBe(true);
      expect(String(f.Notes ?? '').length).toBeLessThan(1000);
      if (f.Priority !== undefined) expect([1, 2, 3, 4, 5]).toContain(f.Priority);
    }
    for (const r of clean(regulators)) {
      expect(r.fields['Renewal Month']).toBeGreaterThanOrEqual(1);
      expect(r.fields['Renewal Month']).toBeLessThanOrEqual(12);
      expect(r.fields['Contact Email']).toMatch(email);
      expect(r.fields.Phone).toMatch(phone);
      expect(twoDecimals(r.fields['Registration Fee'])).toBe(true);
    }
    const clientNames = new Set<string>();
    for (const r of clean(clients)) {
      expect(typeof r.fields['Client Name']).toBe('string');
      expect(noSpaces(r.fields['Client Name'])).toBe(true);
      expect(/^[\x20-\x7e]+$/.test(String(r.fields['Client Name']))).toBe(true);
      clientNames.add(String(r.fields['Client Name']).toLowerCase());
      expect(r.fields.Email).toMatch(email);
      expect(r.fields.Phone).toMatch(phone);
      if ('Annual Budget' in r.fields) expect(twoDecimals(r.fields['Annual Budget'])).toBe(true);
      expect(r.fields['Account Manager']).toMatchObject({ id: expect.stringMatching(/^usr[A-Za-z0-9]{14}$/), email: expect.stringContaining('@'), name: expect.any(String) });
    }
    expect(clientNames.size).toBe(clean(clients).length);
    const productNames = new Set<string>();
    for (const r of clean(products)) {
      expect(noSpaces(r.fields['Product Name'])).toBe(true);
      productNames.add(String(r.fields['Product Name']).toLowerCase());
      expect(all.has(ids(r.fields.Client)[0]!)).toBe(true);
      if (r.fields['Product Type'] === 'Pesticide') expect(r.fields['EPA Registration Number']).toMatch(/^\d{3,5}-\d+(-\d+)?$/);
      for (const a of (r.fields.Label ?? []) as { id: string; url: string; filename: string; size: number; type: string }[]) {
        expect(a.id).toMatch(/^att[A-Za-z0-9]{14}$/);
        expect(a.url).toMatch(/^https:\/\/v5\.airtableusercontent\.com\/v3\/u\/\d+\/\d+\/\d{13}\//);
        expect(a.filename).toMatch(/\.pdf$/);
        expect(a.size).toBeGreaterThan(0);
        expect(a.type).toBe('application/pdf');
      }
    }
    expect(productNames.size).toBe(clean(products).length);
  });

  it('ships a built-in schema identical to schema.json, used when the file is missing', () => {
    const p = deltaSchemaPath();
    if (existsSync(p)) expect(builtInDeltaSchema()).toEqual(JSON.parse(readFileSync(p, 'utf8')));
    const saved = process.env.AIRLIFT_SCHEMA_JSON;
    process.env.AIRLIFT_SCHEMA_JSON = '/nonexistent/schema.json';
    try {
      expect(loadDeltaSchema()).toEqual(builtInDeltaSchema());
      expect(hash(generateDeltaBase({ seed: 42, registrations: 3000 }))).toBe(hash(base));
    } finally {
      if (saved === undefined) delete process.env.AIRLIFT_SCHEMA_JSON;
      else process.env.AIRLIFT_SCHEMA_JSON = saved;
    }
  });

  it('follows a schema with renamed fields', () => {
    const schema = builtInDeltaSchema();
    schema.tables[0]!.fields[0]!.name = 'Company';
    const b = generateDeltaBase({ seed: 1, registrations: 100, schema });
    expect(b.tables[0]!.records.filter((r) => 'Company' in r.fields).length).toBeGreaterThan(10);
    expect(b.tables[0]!.records.some((r) => 'Client Name' in r.fields)).toBe(false);
    expect(b.planted.filter((p) => p.fieldId === 'fldcRQ5EWmHA7hkmK').every((p) => p.field === 'Company')).toBe(true);
  });

  // Its speed is a benchmark figure (bench:pull prints the emulator's
  // start-up time, generation included), not a timed assertion here.
  it('generates a base of 200,000 registrations, each with its own record id', () => {
    const big = generateDeltaBase({ seed: 3, registrations: 200_000 });
    const registrations = big.tables[3]!.records;
    expect(registrations).toHaveLength(200_000);
    expect(new Set(registrations.map((r) => r.id)).size).toBe(200_000);
    // about 15 s alone on 2 cores; the limit leaves room for a loaded machine
  }, 120_000);
});
