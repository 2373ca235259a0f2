/**
 * The legacy PostgreSQL source's example: a clinic application's database
 * with integer serial ids, written at any size into a database given by
 * URL (examples/legacy-pg/ maps it to schema legacy_app). Six tables
 * chained by foreign keys:
 *
 *   offices, profiles, products               (nothing links from them)
 *   doctors   -> profiles, offices
 *   patients  -> profiles, doctors
 *   orders    -> patients, doctors, products  (most of the rows)
 *
 * Of `rows` in all: offices 0.1%, products 0.5%, doctors 1%, patients
 * 20%, a profile per doctor and patient, and orders the rest. Stored as such
 * an application stores them: serial integer keys, a birth date kept as
 * text, order times as timestamp without time zone.
 *
 * Planted mess (PLANTED, fixed keys, at every size):
 *   - profiles 5: birth_date "1975-02-31", a date that does not exist
 *   - orders 7: quantity 40000, beyond the target's small integer
 *   - orders 9: quantity -3 (the mapping's range rule warns)
 *
 * Edits (applyLegacyEdits, or --edit: a day later, about 1% of the rows):
 * every table's rows whose id is 3 modulo 200 updated (a mapped column
 * changed), orders whose id is 101 modulo 200 deleted, and new orders
 * (0.25% of the rows) inserted; returns the keys of each.
 *
 * Deterministic: the same options give the same rows (values are
 * arithmetic on the id and the seed). Written set-based (generate_series),
 * foreign keys added after the load.
 *
 *   tsx tools/generator/legacy-pg.ts --url postgres://... --rows 100000 [--seed 1]
 *   tsx tools/generator/legacy-pg.ts --url postgres://... --edit
 * (--url defaults to LEGACY_DATABASE_URL.)
 */
import { pathToFileURL } from 'node:url';
import postgres from 'postgres';
import type { Sql } from 'postgres';

export const LEGACY_TABLES = ['offices', 'profiles', 'products', 'doctors', 'patients', 'orders'] as const;
export type LegacyTable = (typeof LEGACY_TABLES)[number];

export const PLANTED = {
  badBirthDate: { table: 'profiles', key: '5', column: 'birth_date', value: '1975-02-31' },
  hugeQuantity: { table: 'orders', key: '7', column: 'quantity', value: 40000 },
  negativeQuantity: { table: 'orders', key: '9', column: 'quantity', value: -3 },
} as const;

export interface LegacySizes {
  offices: number;
  profiles: number;
  products: number;
  doctors: number;
  patients: number;
  orders: number;
}

/** How `rows` rows are shared among the tables. */
export function legacySizes(rows: number): LegacySizes {
  const offices = Math.max(3, Math.round(rows * 0.001));
  const products = Math.max(10, Math.round(rows * 0.005));
  const doctors = Math.max(5, Math.round(rows * 0.01));
  const patients = Math.max(10, Math.round(rows * 0.2));
  const profiles = doctors + patients;
  const orders = Math.max(10, rows - offices - products - doctors - patients - profiles);
  return { offices, profiles, products, doctors, patients, orders };
}

/** Writes the legacy database (its tables dropped first) into the database `sql` is connected to. */
export async function generateLegacyDatabase(sql: Sql, options: { rows: number; seed?: number }): Promise<LegacySizes> {
  const n = legacySizes(options.rows);
  const seed = Math.trunc(options.seed ?? 1);
  await sql.begin(async (tx) => {
    await tx.unsafe(`
      drop table if exists orders, patients, doctors, products, profiles, offices cascade;
      create table offices (id serial primary key, name text not null, city text, phone text, opened_on date);
      create table profiles (id serial primary key, email text, full_name text, birth_date text, created_at timestamp);
      create table products (id serial primary key, sku text unique, name text not null, price numeric(10,2), active boolean not null default true);
      create table doctors (id serial primary key, profile_id integer, office_id integer, specialty text, license_no text);
      create table patients (id serial primary key, profile_id integer, primary_doctor_id integer, insurance_no text);
      create table orders (id serial primary key, patient_id integer not null, doctor_id integer, product_id integer not null,
                           quantity integer, total numeric(12,2), status text, ordered_at timestamp);`);
    const s = seed;
    await tx.unsafe(`
      insert into offices (id, name, city, phone, opened_on)
      select i, 'Office ' || i, (array['Springfield','Riverton','Lakeside','Hillview','Fairmont'])[1 + (i + ${s}) % 5],
             '555-' || lpad(((i::int8 * 37 + ${s}) % 10000)::text, 4, '0'), date '1990-01-01' + ((i::int8 * 113 + ${s}) % 10000)::int
      from generate_series(1, ${n.offices}) i;
      insert into profiles (id, email, full_name, birth_date, created_at)
      select i, 'person' || i || '@example.com',
             (array['Ada','Ben','Cleo','Dan','Eve','Finn','Gus','Hana'])[1 + (i + ${s}) % 8] || ' ' ||
             (array['Smith','Jones','Brown','Garcia','Miller','Davis','Lopez'])[1 + (i::int8 * 7 + ${s}) % 7],
             to_char(date '1940-01-01' + ((i::int8 * 97 + ${s}) % 25000)::int, 'YYYY-MM-DD'),
             timestamp '2015-01-01' + ((i::int8 * 7919 + ${s}) % 300000000) * interval '1 second'
      from generate_series(1, ${n.profiles}) i;
      insert into products (id, sku, name, price, active)
      select i, 'SKU-' || lpad(i::text, 6, '0'), 'Product ' || i, ((i::int8 * 389 + ${s}) % 20000) / 100.0 + 1, i % 17 <> 0
      from generate_series(1, ${n.products}) i;
      insert into doctors (id, profile_id, office_id, specialty, license_no)
      select i, i, 1 + (i::int8 * 7 + ${s}) % ${n.offices},
             (array['general','cardiology','dermatology','pediatrics','orthopedics'])[1 + (i + ${s}) % 5], 'LIC-' || (100000 + i)
      from generate_series(1, ${n.doctors}) i;
      insert into patients (id, profile_id, primary_doctor_id, insurance_no)
      select i, ${n.doctors} + i, 1 + (i::int8 * 13 + ${s}) % ${n.doctors}, 'INS-' || lpad(((i::int8 * 7907 + ${s}) % 100000000)::text, 8, '0')
      from generate_series(1, ${n.patients}) i;
      insert into orders (id, patient_id, doctor_id, product_id, quantity, total, status, ordered_at)
      select i, 1 + (i::int8 * 31 + ${s}) % ${n.patients}, 1 + (i::int8 * 17 + ${s}) % ${n.doctors}, 1 + (i::int8 * 11 + ${s}) % ${n.products},
             1 + i % 5, ((i::int8 * 3571 + ${s}) % 500000) / 100.0 + 1,
             (array['placed','shipped','delivered','cancelled'])[1 + (i + ${s}) % 4],
             timestamp '2020-01-01' + ((i::int8 * 104729 + ${s}) % 150000000) * interval '1 second'
      from generate_series(1, ${n.orders}) i;
      update profiles set birth_date = '${PLANTED.badBirthDate.value}' where id = ${PLANTED.badBirthDate.key};
      update orders set quantity = ${PLANTED.hugeQuantity.value} where id = ${PLANTED.hugeQuantity.key};
      update orders set quantity = ${PLANTED.negativeQuantity.value} where id = ${PLANTED.negativeQuantity.key};
      alter table doctors add foreign key (profile_id) references profiles (id) on delete set null,
                          add foreign key (office_id) references offices (id) on delete set null;
      alter table patients add foreign key (profile_id) references profiles (id) on delete set null,
                           add foreign key (primary_doctor_id) references doctors (id) on delete set null;
      alter table orders add foreign key (patient_id) references patients (id) on delete cascade,
                         add foreign key (doctor_id) references doctors (id) on delete set null,
                         add foreign key (product_id) references products (id) on delete restrict;
      create index on doctors (profile_id); create index on doctors (office_id);
      create index on patients (profile_id); create index on patients (primary_doctor_id);
      create index on orders (patient_id); create index on orders (doctor_id); create index on orders (product_id);`);
    for (const table of LEGACY_TABLES) {
      await tx.unsafe(`select setval(pg_get_serial_sequence('${table}', 'id'), (select max(id) from ${table}))`);
    }
  });
  await sql.unsafe('analyze offices, profiles, products, doctors, patients, orders');
  return n;
}

export interface LegacyEdits {
  /** Keys (decimal text) per table, ascending. */
  updated: Partial<Record<LegacyTable, string[]>>;
  inserted: Partial<Record<LegacyTable, string[]>>;
  deleted: Partial<Record<LegacyTable, string[]>>;
}

/** The mapped column each table's update changes. */
const UPDATES: Record<LegacyTable, string> = {
  offices: `phone = phone || ' ext. 2'`,
  profiles: `full_name = full_name || ' Jr.'`,
  products: `price = price + 1`,
  doctors: `specialty = case specialty when 'general' then 'cardiology' else 'general' end`,
  patients: `insurance_no = insurance_no || '-B'`,
  orders: `total = total + 1`,
};

/** A day later: about 1% of the rows updated, deleted or inserted (see the header); returns their keys. */
export async function applyLegacyEdits(sql: Sql): Promise<LegacyEdits> {
  const edits: LegacyEdits = { updated: {}, inserted: {}, deleted: {} };
  const keys = (rows: Array<{ id: number }>) => rows.map((r) => r.id).sort((a, b) => a - b).map(String);
  await sql.begin(async (tx) => {
    for (const table of LEGACY_TABLES) {
      const rows = await tx.unsafe<Array<{ id: number }>>(`update ${table} set ${UPDATES[table]} where id % 200 = 3 returning id`);
      if (rows.length) edits.updated[table] = keys([...rows]);
    }
    const deleted = await tx.unsafe<Array<{ id: number }>>(`delete from orders where id % 200 = 101 returning id`);
    if (deleted.length) edits.deleted.orders = keys([...deleted]);
    const [{ total }] = await tx.unsafe<Array<{ total: number }>>(
      `select (select count(*) from offices) + (select count(*) from profiles) + (select count(*) from products) +
              (select count(*) from doctors) + (select count(*) from patients) + (select count(*) from orders) as total`);
    const inserts = Math.max(1, Math.round(Number(total) * 0.0025));
    const inserted = await tx.unsafe<Array<{ id: number }>>(`
      insert into orders (patient_id, doctor_id, product_id, quantity, total, status, ordered_at)
      select (select min(id) from patients) , (select min(id) from doctors), (select min(id) from products), 2, 100 + i, 'placed',
             timestamp '2026-12-01' + i * interval '1 minute'
      from generate_series(1, ${inserts}) i
      returning id`);
    edits.inserted.orders = keys([...inserted]);
  });
  return edits;
}

/** Rows per table. */
export async function countLegacyRows(sql: Sql): Promise<Record<LegacyTable, number>> {
  const rows = await sql.unsafe<Array<{ table: LegacyTable; n: number }>>(
    LEGACY_TABLES.map((t) => `select '${t}' as table, count(*)::int as n from ${t}`).join(' union all '));
  return Object.fromEntries(rows.map((r) => [r.table, r.n])) as Record<LegacyTable, number>;
}

function argValue(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const url = argValue(args, '--url') ?? process.env.LEGACY_DATABASE_URL;
  if (!url) throw new Error('usage: tsx tools/generator/legacy-pg.ts --url URL --rows N [--seed N] | --url URL --edit  (--url defaults to LEGACY_DATABASE_URL)');
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    const started = Date.now();
    if (args.includes('--edit')) {
      const edits = await applyLegacyEdits(sql);
      const count = (part: LegacyEdits['updated']) => Object.fromEntries(Object.entries(part).map(([t, k]) => [t, k!.length]));
      process.stdout.write(`${JSON.stringify({ updated: count(edits.updated), inserted: count(edits.inserted), deleted: count(edits.deleted), ms: Date.now() - started })}\n`);
    } else {
      const rows = Number(argValue(args, '--rows') ?? 1000);
      if (!(rows > 0)) throw new Error('--rows must be a positive number');
      const sizes = await generateLegacyDatabase(sql, { rows, seed: Number(argValue(args, '--seed') ?? 1) });
      process.stdout.write(`${JSON.stringify({ rows: await countLegacyRows(sql), planned: sizes, ms: Date.now() - started })}\n`);
    }
  } finally {
    await sql.end();
  }
}
