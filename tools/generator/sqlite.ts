/**
 * The SQLite source's example: a Prisma-style application's database file
 * at any size (examples/pfa-app/ maps it to schema pfa_app). Nine tables and
 * twelve foreign keys:
 *
 *   users, organizations, ai_providers                      (no links)
 *   user_organizations      -> users, organizations
 *   organization_configs    -> organizations, ai_providers
 *   api_configurations      -> organizations, ai_providers
 *   data_source_mappings    -> organizations, api_configurations
 *   field_configurations    -> data_source_mappings
 *   pfa_records             -> organizations, data_source_mappings, users (the large table)
 *
 * Stored as such an application stores them: text keys (cuid-like) for most
 * tables, INTEGER keys for ai_providers, user_organizations,
 * field_configurations and pfa_records; dates as epoch milliseconds
 * (Prisma's DateTime), epoch seconds, SQLite's "YYYY-MM-DD HH:MM:SS" text
 * or ISO dates; booleans as 0/1; JSON in text; a checksum as a BLOB.
 *
 * Planted mess (PLANTED, fixed keys, at every size):
 *   - pfa_records 7: record_date "15/03/2024", a date in a bad format
 *   - users (the third): is_active 2, a boolean that is neither 0 nor 1
 *   - organizations (the second): settings '{"theme": "dark",', JSON that does not parse
 *   - pfa_records 13: created_by_id names no user, a dangling foreign key
 *   - field_configurations 4: position "third", text in an INTEGER column
 *
 * Edits (applyEdits, or --edit FILE: a day later's copy of the database):
 * one user renamed and one record's amount changed (conflicted), one
 * organization and one record added (missing), one record deleted.
 *
 * Deterministic: the same options give the same rows (seeded mulberry32).
 * Rows are inserted with prepared statements in one transaction, a row at a
 * time: memory stays flat whatever the size.
 *
 *   tsx tools/generator/sqlite.ts --records 100000 --out /tmp/app.db [--seed 1]
 *   tsx tools/generator/sqlite.ts --edit /tmp/app.db
 */
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';

export interface GenerateSqliteOptions {
  /** Path of the database file to write (replaced if it exists). */
  file: string;
  /** Rows of pfa_records (at least 30); the small tables grow with it. */
  records: number;
  seed?: number;
  /** Also apply the edits of a second export (applyEdits). */
  edits?: boolean;
}

export interface GeneratedSqliteApp {
  file: string;
  /** Rows per table, as written (after the edits, when applied). */
  rows: Record<string, number>;
}

/** The planted mess, by table, key and column, with the value written. */
export const PLANTED = {
  badDate: { table: 'pfa_records', key: '7', column: 'record_date', value: '15/03/2024' },
  booleanTwo: { table: 'users', column: 'is_active', value: 2 },
  brokenJson: { table: 'organizations', column: 'settings', value: '{"theme": "dark",' },
  danglingUser: { table: 'pfa_records', key: '13', column: 'created_by_id', value: 'cmissinguser000000000000' },
  textInteger: { table: 'field_configurations', key: '4', column: 'position', value: 'third' },
} as const;

/** The edits of a second export, by table and key: what a differential of it finds. */
export const EDITS = {
  renamedUser: { table: 'users', column: 'name', value: 'Renamed In The App' },
  changedRecord: { table: 'pfa_records', key: '20', column: 'amount', value: 999.99 },
  deletedRecord: { table: 'pfa_records', key: '21' },
  addedOrganization: { table: 'organizations', name: 'Added Overnight Ltd' },
} as const;

const SCHEMA = `
create table users (
  id text primary key not null,
  email text not null unique,
  name text,
  role text not null default 'member',
  is_active boolean not null default 1,
  avatar_sha256 blob,
  created_at datetime not null,
  updated_at datetime not null
);
create table organizations (
  id text primary key not null,
  name text not null,
  slug text not null unique,
  plan text not null default 'free',
  settings text,
  created_at datetime not null
);
create table ai_providers (
  id integer primary key autoincrement,
  name text not null unique,
  provider text not null,
  model text not null,
  base_url text,
  is_enabled boolean not null default 1,
  max_tokens integer,
  temperature real,
  created_at text not null default current_timestamp
);
create table user_organizations (
  id integer primary key autoincrement,
  user_id text not null references users (id) on delete cascade,
  organization_id text not null references organizations (id) on delete cascade,
  role text not null default 'member',
  joined_at datetime not null,
  unique (user_id, organization_id)
);
create table organization_configs (
  id text primary key not null,
  organization_id text not null unique references organizations (id) on delete cascade,
  default_ai_provider_id integer references ai_providers (id) on delete set null,
  timezone text not null default 'UTC',
  fiscal_year_start text,
  features text not null default '[]',
  updated_at datetime not null
);
create table api_configurations (
  id text primary key not null,
  organization_id text not null references organizations (id) on delete cascade,
  ai_provider_id integer not null references ai_providers (id) on delete restrict,
  name text not null,
  api_key_hint text,
  rate_limit_per_minute integer,
  is_active boolean not null default 1,
  created_at datetime not null
);
create table data_source_mappings (
  id text primary key not null,
  organization_id text not null references organizations (id) on delete cascade,
  api_configuration_id text references api_configurations (id) on delete set null,
  name text not null,
  source_type text not null,
  schedule text,
  last_synced_at integer,
  config text
);
create table field_configurations (
  id integer primary key autoincrement,
  data_source_mapping_id text not null references data_source_mappings (id) on delete cascade,
  field_name text not null,
  field_type text not null,
  is_required boolean not null default 0,
  position integer not null,
  default_value text
);
create table pfa_records (
  id integer primary key autoincrement,
  organization_id text not null references organizations (id) on delete cascade,
  data_source_mapping_id text references data_source_mappings (id) on delete set null,
  created_by_id text references users (id) on delete set null,
  record_date text not null,
  category text not null,
  amount real,
  quantity integer,
  status text not null default 'draft',
  is_verified boolean not null default 0,
  payload text,
  checksum blob,
  created_at datetime not null,
  updated_at datetime not null
);
create index pfa_records_organization_id on pfa_records (organization_id);
create index pfa_records_data_source_mapping_id on pfa_records (data_source_mapping_id);
`;

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken', 'Radia', 'Tim', 'Margaret', 'Linus', 'Hedy', 'Dennis', 'Karen', 'John'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Thompson', 'Perlman', 'Berners-Lee', 'Hamilton', 'Torvalds', 'Lamarr', 'Ritchie', 'Jones', 'Backus'];
const COMPANIES = ['Acme', 'Globex', 'Initech', 'Umbrella', 'Stark', 'Wayne', 'Hooli', 'Vandelay', 'Soylent', 'Tyrell', 'Wonka', 'Cyberdyne'];
const SUFFIXES = ['Labs', 'Analytics', 'Group', 'Holdings', 'Systems', 'Partners'];
const PROVIDERS: Array<[string, string, string, string | null, number, number]> = [
  ['OpenAI GPT-4o', 'openai', 'gpt-4o', 'https://api.openai.com/v1', 16384, 0.7],
  ['Anthropic Claude', 'anthropic', 'claude-sonnet', 'https://api.anthropic.com', 8192, 0.5],
  ['Mistral Large', 'mistral', 'mistral-large', 'https://api.mistral.ai/v1', 32000, 0.3],
  ['Local Llama', 'ollama', 'llama3:8b', 'http://localhost:11434', 4096, 0.8],
  ['Azure OpenAI', 'azure_openai', 'gpt-4o-mini', null, 16384, 0.2],
  ['Gemini Pro', 'google', 'gemini-1.5-pro', 'https://generativelanguage.googleapis.com', 8192, 1],
];
const PLANS = ['free', 'team', 'business', 'enterprise'];
const ROLES = ['owner', 'admin', 'member', 'member', 'viewer'];
const USER_ROLES = ['member', 'member', 'member', 'admin', 'support'];
const TIMEZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Tokyo', 'Africa/Nairobi'];
const FEATURES = ['forecasting', 'ai_assist', 'audit_export', 'sso', 'budgets', 'alerts'];
const SOURCE_TYPES = ['csv', 'api', 'spreadsheet', 'erp'];
const FIELD_TYPES = ['string', 'number', 'date', 'boolean', 'currency'];
const CATEGORIES = ['labor', 'materials', 'equipment', 'travel', 'services', 'overhead', 'licenses'];
const STATUSES = ['draft', 'submitted', 'approved', 'approved', 'rejected', 'archived'];
const FIELD_NAMES = ['account', 'cost_center', 'period', 'amount', 'currency', 'vendor', 'project', 'owner', 'approved', 'notes'];

const START_MS = Date.UTC(2022, 0, 1);
const SPAN_MS = 3 * 365 * 86_400_000;

/** Sizes of the small tables for a number of records. */
function sizes(records: number) {
  const organizations = Math.max(6, Math.ceil(records / 5_000));
  const users = organizations * 5;
  return { organizations, users, apiConfigurations: organizations * 2, dataSourceMappings: organizations * 3, fieldsPerMapping: 6 };
}

/** Writes the application's database; replaces the file. */
export function generateSqliteApp(options: GenerateSqliteOptions): GeneratedSqliteApp {
  const records = Math.max(30, Math.floor(options.records));
  const random = mulberry32(options.seed ?? 1);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const between = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const cuid = (prefix: string, n: number) => `c${prefix}${n.toString(36).padStart(6, '0')}${Math.floor(random() * 36 ** 8).toString(36).padStart(8, '0')}${'0'.repeat(8)}`.slice(0, 25);
  const when = () => START_MS + Math.floor(random() * SPAN_MS);
  const size = sizes(records);

  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${options.file}${suffix}`, { force: true });
  const db = new Database(options.file);
  try {
    db.pragma('journal_mode = delete');
    // SQLite's own default, which better-sqlite3 turns on: an application
    // that never enabled it can hold a dangling foreign key (one is planted)
    db.pragma('foreign_keys = off');
    db.exec(SCHEMA);
    const userIds: string[] = [];
    const organizationIds: string[] = [];
    const apiConfigurationIds: string[] = [];
    const mappingIds: string[] = [];
    db.transaction(() => {
      const user = db.prepare('insert into users (id, email, name, role, is_active, avatar_sha256, created_at, updated_at) values (?, ?, ?, ?, ?, ?, ?, ?)');
      for (let i = 0; i < size.users; i++) {
        const id = cuid('u', i);
        const first = pick(FIRST);
        const last = pick(LAST);
        const created = when();
        const isActive = i === 2 ? PLANTED.booleanTwo.value : random() < 0.9 ? 1 : 0;
        const avatar = random() < 0.7 ? createHash('sha256').update(id).digest() : null;
        user.run(id, `${first}.${last}.${i}@example.com`.toLowerCase(), `${first} ${last}`, pick(USER_ROLES), isActive, avatar, created, created + between(0, 90) * 86_400_000);
        userIds.push(id);
      }
      const organization = db.prepare('insert into organizations (id, name, slug, plan, settings, created_at) values (?, ?, ?, ?, ?, ?)');
      for (let i = 0; i < size.organizations; i++) {
        const id = cuid('o', i);
        const name = `${pick(COMPANIES)} ${pick(SUFFIXES)} ${i + 1}`;
        const settings = i === 1 ? PLANTED.brokenJson.value : JSON.stringify({ theme: pick(['light', 'dark']), currency: pick(['USD', 'EUR', 'GBP']), weekStartsOn: between(0, 1) });
        organization.run(id, name, name.toLowerCase().replace(/[^a-z0-9]+/g, '-'), pick(PLANS), settings, when());
        organizationIds.push(id);
      }
      const provider = db.prepare('insert into ai_providers (name, provider, model, base_url, is_enabled, max_tokens, temperature, created_at) values (?, ?, ?, ?, ?, ?, ?, ?)');
      for (const [name, kind, model, url, tokens, temperature] of PROVIDERS) {
        const created = new Date(when()).toISOString().slice(0, 19).replace('T', ' ');
        provider.run(name, kind, model, url, random() < 0.85 ? 1 : 0, tokens, temperature, created);
      }
      const membership = db.prepare('insert into user_organizations (user_id, organization_id, role, joined_at) values (?, ?, ?, ?)');
      userIds.forEach((userId, i) => {
        membership.run(userId, organizationIds[i % organizationIds.length], i < organizationIds.length ? 'owner' : pick(ROLES), when());
        // every third user belongs to a second organization
        if (i % 3 === 0 && organizationIds.length > 1) membership.run(userId, organizationIds[(i + 1) % organizationIds.length], pick(ROLES), when());
      });
      const config = db.prepare('insert into organization_configs (id, organization_id, default_ai_provider_id, timezone, fiscal_year_start, features, updated_at) values (?, ?, ?, ?, ?, ?, ?)');
      organizationIds.forEach((organizationId, i) => {
        const features = FEATURES.filter(() => random() < 0.4);
        config.run(cuid('g', i), organizationId, random() < 0.8 ? between(1, PROVIDERS.length) : null, pick(TIMEZONES), `${between(2022, 2025)}-${pick(['01', '04', '07', '10'])}-01`, JSON.stringify(features), when());
      });
      const api = db.prepare('insert into api_configurations (id, organization_id, ai_provider_id, name, api_key_hint, rate_limit_per_minute, is_active, created_at) values (?, ?, ?, ?, ?, ?, ?, ?)');
      for (let i = 0; i < size.apiConfigurations; i++) {
        const id = cuid('a', i);
        api.run(id, organizationIds[i % organizationIds.length], between(1, PROVIDERS.length), `${pick(['Production', 'Staging', 'Batch', 'Analyst'])} key ${i + 1}`, `…${between(1000, 9999)}`, pick([60, 120, 600, 3000]), random() < 0.9 ? 1 : 0, when());
        apiConfigurationIds.push(id);
      }
      const mapping = db.prepare('insert into data_source_mappings (id, organization_id, api_configuration_id, name, source_type, schedule, last_synced_at, config) values (?, ?, ?, ?, ?, ?, ?, ?)');
      for (let i = 0; i < size.dataSourceMappings; i++) {
        const id = cuid('m', i);
        const organizationIndex = i % organizationIds.length;
        const synced = random() < 0.8 ? Math.floor(when() / 1000) : null;
        mapping.run(id, organizationIds[organizationIndex], random() < 0.9 ? apiConfigurationIds[organizationIndex] : null, `${pick(['Ledger', 'Timesheets', 'Invoices', 'Budget'])} feed ${i + 1}`, pick(SOURCE_TYPES), pick(['0 * * * *', '*/15 * * * *', '0 3 * * *', null]), synced, JSON.stringify({ delimiter: ',', header: true, batch: between(100, 5000) }));
        mappingIds.push(id);
      }
      const field = db.prepare('insert into field_configurations (data_source_mapping_id, field_name, field_type, is_required, position, default_value) values (?, ?, ?, ?, ?, ?)');
      let fieldId = 0;
      for (const mappingId of mappingIds) {
        for (let p = 1; p <= size.fieldsPerMapping; p++) {
          fieldId += 1;
          field.run(mappingId, FIELD_NAMES[(fieldId + p) % FIELD_NAMES.length], pick(FIELD_TYPES), random() < 0.5 ? 1 : 0, fieldId === 4 ? PLANTED.textInteger.value : p, random() < 0.2 ? 'n/a' : null);
        }
      }
      const record = db.prepare(`insert into pfa_records (id, organization_id, data_source_mapping_id, created_by_id, record_date, category, amount, quantity, status, is_verified, payload, checksum, created_at, updated_at)
                                 values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
      for (let id = 1; id <= records; id++) {
        const mappingIndex = Math.floor(random() * mappingIds.length);
        const created = when();
        const date = id === Number(PLANTED.badDate.key) ? PLANTED.badDate.value : new Date(created).toISOString().slice(0, 10);
        const createdBy = id === Number(PLANTED.danglingUser.key) ? PLANTED.danglingUser.value : pick(userIds);
        const amount = Math.round(random() * 5_000_000) / 100;
        const payload = JSON.stringify({ reference: `R-${id}`, lines: between(1, 9) });
        const checksum = createHash('sha256').update(`${id}:${amount}`).digest().subarray(0, 8);
        record.run(id, organizationIds[mappingIndex % organizationIds.length], mappingIds[mappingIndex], createdBy, date, pick(CATEGORIES), amount, between(1, 500), pick(STATUSES), random() < 0.6 ? 1 : 0, payload, checksum, created, created + between(0, 30) * 86_400_000);
      }
    })();
  } finally {
    db.close();
  }
  if (options.edits) applyEdits(options.file);
  return { file: options.file, rows: countRows(options.file) };
}

/** A day later: one user renamed and one record's amount changed, one organization and one record added, one record deleted (EDITS). */
export function applyEdits(file: string): void {
  const db = new Database(file, { fileMustExist: true });
  try {
    db.transaction(() => {
      const now = Date.UTC(2025, 5, 1);
      const secondUser = db.prepare('select id from users order by id limit 1 offset 1').pluck().get() as string;
      db.prepare('update users set name = ?, updated_at = ? where id = ?').run(EDITS.renamedUser.value, now, secondUser);
      db.prepare('update pfa_records set amount = ?, updated_at = ? where id = ?').run(EDITS.changedRecord.value, now, Number(EDITS.changedRecord.key));
      db.prepare('delete from pfa_records where id = ?').run(Number(EDITS.deletedRecord.key));
      db.prepare(`insert into organizations (id, name, slug, plan, settings, created_at) values ('czadded0000000000000000000', ?, 'added-overnight-ltd', 'team', '{"theme":"light"}', ?)`).run(EDITS.addedOrganization.name, now);
      const template = db.prepare('select organization_id, data_source_mapping_id, created_by_id from pfa_records where id = 1').get() as Record<string, string>;
      db.prepare(`insert into pfa_records (organization_id, data_source_mapping_id, created_by_id, record_date, category, amount, quantity, status, is_verified, payload, checksum, created_at, updated_at)
                  values (?, ?, ?, '2025-06-01', 'services', 1250.5, 3, 'submitted', 0, '{"reference":"R-new"}', null, ?, ?)`)
        .run(template.organization_id, template.data_source_mapping_id, template.created_by_id, now, now);
    })();
  } finally {
    db.close();
  }
}

/** Rows per table of a generated file. */
export function countRows(file: string): Record<string, number> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare(`select name from sqlite_schema where type = 'table' and name not like 'sqlite\\_%' escape '\\' order by name`).pluck().all() as string[];
    return Object.fromEntries(tables.map((t) => [t, db.prepare(`select count(*) from "${t}"`).pluck().get() as number]));
  } finally {
    db.close();
  }
}

function argValue(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const edit = argValue(args, '--edit');
  if (edit) {
    applyEdits(path.resolve(edit));
    process.stdout.write(`${JSON.stringify({ file: path.resolve(edit), rows: countRows(path.resolve(edit)) })}\n`);
  } else {
    const out = argValue(args, '--out');
    const records = Number(argValue(args, '--records') ?? 1000);
    if (!out || !(records > 0)) throw new Error('usage: tsx tools/generator/sqlite.ts --records N --out FILE [--seed N] [--edits] | --edit FILE');
    const started = Date.now();
    const result = generateSqliteApp({ file: path.resolve(out), records, seed: Number(argValue(args, '--seed') ?? 1), edits: args.includes('--edits') });
    process.stdout.write(`${JSON.stringify({ ...result, ms: Date.now() - started })}\n`);
  }
}
