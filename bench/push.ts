/**
 * Push benchmarks (issue 5: two-way sync). Against the Airtable emulator
 * with its real rate limit (5 requests/s per base, 30 s penalty) and a
 * random latency per request, with the client at AIRTABLE_RPS 5. Prints
 * figures and ratios against a baseline measured in the same run:
 *
 *  1. Baseline: the raw write ceiling of this set-up. The AirtableClient
 *     sends the same number of records as batches of 10 creates (POST)
 *     through its rate limiter, all at once, no database: records/s, against
 *     the nominal 50 records/s (5 requests of 10). It runs against a second
 *     emulator holding the same generated base, so its records do not
 *     change the base the sync works on.
 *  2. A push of N creates made by the application (airlift_app, no
 *     airlift.run_id: captured by the triggers into sync.outbox), after an
 *     initial full pull: a tenth new products, the rest new registrations
 *     linked to existing clients, products and regulators (a third of them
 *     to the new products). Wall time of runPush, records/s, ratio to 50/s
 *     and to the baseline, requests, 429s.
 *  3. A push of N updates of existing rows (a tenth products, the rest
 *     registrations; two to four fields changed each). Before updating,
 *     the push asks Airtable which records of each window of up to 250 were
 *     modified since the staging mirror's version (the remote side of the
 *     conflict check): one read per window, here five (products, then four
 *     windows of registrations), overlapped with the writes.
 *  4. A sync round with nothing changed on either side (incremental pull,
 *     then push): Airtable write requests and app rows written (audit.changes
 *     rows of app.%), both to be 0. It follows a first round that settles
 *     what the pushes changed in Airtable (new reverse links move the linked
 *     records' Last Modified), shown for information.
 *  5. Peak memory (RSS) of this process. The emulators run in processes of
 *     their own (bench/push-emulator.ts), as Airtable is remote: their CPU
 *     time must not stall the event loop that paces the requests. The
 *     longest stall of this process's event loop during each push is
 *     printed: a request the limiter admitted but that leaves late can
 *     arrive within a second of later ones and be answered 429.
 *
 * Every created and updated record is checked in the emulator afterwards
 * (counts, and every record's pushed fields; for updates, the fields not
 * changed here are as they were). Exit code 1 on an error or a record lost
 * or wrong; missing a target is reported, not failed.
 *
 *   npm run bench:push
 *   npx tsx bench/push.ts --records 1000 --latency-min 150 --latency-max 350 --seed 1
 *
 * Without BENCH_DATABASE_URL a throwaway embedded PostgreSQL is started;
 * with it (a superuser URL of a server), a fresh database is created there.
 * The uncommitted migrations/current.sql is applied on top of the committed
 * migrations (a no-op once it is committed).
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { watch as applyCurrentMigration } from 'graphile-migrate';
import { AirtableClient, sleep } from '../src/sources/airtable/client.ts';
import { AirtableSource } from '../src/sources/airtable/source.ts';
import { connect, ensureDatabaseExists, MIGRATIONS_FOLDER, migrationSettings, prepareDatabase, PROJECT_ROOT, releaseMigrationPools, urlWithRole } from '../src/db/database.ts';
import { startThrowawayCluster, urlWithDatabase } from '../src/db/embedded.ts';
import { loadMapping } from '../src/mapping.ts';
import { urlWithSession } from '../src/pipeline/context.ts';
import { runPull } from '../src/pipeline/pull.ts';
import { runPush, type PushSummary } from '../src/pipeline/push.ts';
import type { EmulatorStats } from '../tools/emulator/emulator.ts';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '1000' },
    'latency-min': { type: 'string', default: '150' },
    'latency-max': { type: 'string', default: '350' },
    seed: { type: 'string', default: '1' },
    'base-registrations': { type: 'string' },
  },
});
const N = Number(args.records);
const LAT_MIN = Number(args['latency-min']);
const LAT_MAX = Number(args['latency-max']);
const SEED = Number(args.seed);
const BASE_REGISTRATIONS = Number(args['base-registrations'] ?? Math.max(2_000, 2 * N));
for (const [name, n] of [['--records', N], ['--seed', SEED], ['--base-registrations', BASE_REGISTRATIONS]] as const) {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive whole number, got ${n}`);
}
if (!(LAT_MIN >= 0 && LAT_MAX >= LAT_MIN)) throw new Error(`--latency-min and --latency-max must satisfy 0 <= min <= max, got ${LAT_MIN} and ${LAT_MAX}`);
if (BASE_REGISTRATIONS < N) throw new Error(`--base-registrations (${BASE_REGISTRATIONS}) must be at least --records (${N}): the updates need existing rows`);

const RPS = 5; // AIRTABLE_RPS, and the emulator's limit per base
const PENALTY_MS = 30_000;
const CEILING = RPS * 10; // records/s: 5 requests of 10 records
const TARGET_SHARE = 0.9;

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const now = () => performance.now();
const progress = (line: string) => process.stderr.write(`[bench:push] ${line}\n`);
async function peakRssMb(): Promise<number> {
  const status = await readFile('/proc/self/status', 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

/** The emulator in a child process (bench/push-emulator.ts), driven over IPC. */
interface EmulatorProcess {
  url: string;
  token: string;
  baseId: string;
  stats(): Promise<EmulatorStats>;
  resetStats(): Promise<void>;
  count(tableId: string): Promise<number>;
  /** Fields by field name, null for a record it does not have. */
  get(tableId: string, ids: string[]): Promise<Record<string, Record<string, unknown> | null>>;
  stop(): Promise<void>;
}
async function startEmulatorProcess(latencySeed: number): Promise<EmulatorProcess> {
  const config = { seed: SEED, registrations: BASE_REGISTRATIONS, requestsPerSecond: RPS, penaltyMs: PENALTY_MS, latencyMin: LAT_MIN, latencyMax: LAT_MAX, latencySeed };
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'bench', 'push-emulator.ts'), JSON.stringify(config)], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let next = 0;
  let exited = false;
  const ready = new Promise<{ url: string; token: string; baseId: string }>((resolve, reject) => {
    child.on('message', (m: { ready?: { url: string; token: string; baseId: string }; id?: number; result?: unknown; error?: string }) => {
      if (m.ready) return resolve(m.ready);
      const w = waiting.get(m.id!);
      waiting.delete(m.id!);
      if (m.error) w?.reject(new Error(`emulator: ${m.error}`));
      else w?.resolve(m.result);
    });
    child.on('exit', (code) => {
      exited = true;
      const error = new Error(`the emulator process exited with ${code}`);
      reject(error);
      for (const w of waiting.values()) w.reject(error);
    });
  });
  const ask = <T>(op: string, extra: Record<string, unknown> = {}) =>
    new Promise<T>((resolve, reject) => {
      if (exited) return reject(new Error('the emulator process is gone'));
      const id = next++;
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ id, op, ...extra });
    });
  const info = await ready;
  return {
    ...info,
    stats: () => ask<EmulatorStats>('stats'),
    resetStats: () => ask<void>('resetStats'),
    count: (tableId) => ask<number>('count', { tableId }),
    get: (tableId, ids) => ask('get', { tableId, ids }),
    stop: async () => {
      if (!exited) await ask('stop').catch(() => undefined);
    },
  };
}

const log = pino({ level: process.env.AIRLIFT_LOG_LEVEL ?? 'warn' }, pino.destination(2));
const serverUrlFromEnv = process.env.BENCH_DATABASE_URL;
const server = serverUrlFromEnv ? undefined : await startThrowawayCluster();
const serverUrl = serverUrlFromEnv ? urlWithDatabase(serverUrlFromEnv, 'postgres') : server!.rootUrl;
const pools: Array<ReturnType<typeof connect>> = [];
const open = (url: string, max = 1) => {
  const pool = connect(url, { max });
  pools.push(pool);
  return pool;
};
const emulators: EmulatorProcess[] = [];
/** Event-loop stalls of this process (the one pacing the requests), reset per measured push. */
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
const problems: string[] = []; // records lost or wrong: exit code 1
let clientPenalties = 0;

try {
  // ---- set-up ------------------------------------------------------------------
  const dbName = `airlift_bench_push_${process.pid}`;
  await ensureDatabaseExists(serverUrl, dbName);
  const url = urlWithDatabase(serverUrl, dbName);
  const target = { databaseUrl: url, rootUrl: url };
  await prepareDatabase(target);
  const current = await readFile(path.join(MIGRATIONS_FOLDER, 'current.sql'), 'utf8');
  const currentHasContent = current.replace(/\/\*[\s\S]*?\*\//g, '').replace(/--.*$/gm, '').trim() !== '';
  try {
    await applyCurrentMigration(await migrationSettings(target), true);
  } finally {
    await releaseMigrationPools();
  }
  const root = open(url, 2); // superuser: reads for checks
  const sync = open(urlWithSession(url, 'airlift_sync', { 'airlift.actor': 'bench' }), 4); // as the worker
  const app = open(urlWithRole(url, 'airlift_app'), 1); // as an application: captured into sync.outbox

  const mapping = await loadMapping();
  const emulator = await startEmulatorProcess(SEED);
  emulators.push(emulator);
  const baseId = emulator.baseId;
  const makeClient = (endpointUrl: string) =>
    new AirtableClient({
      token: emulator.token,
      baseId,
      endpointUrl,
      requestsPerSecond: RPS,
      rateLimitPenaltyMs: PENALTY_MS,
      onEvent: (e) => {
        if (e.kind === 'rate_limited') clientPenalties++;
      },
    });
  const client = makeClient(emulator.url);
  const table = (entity: string) => mapping.tables.find((t) => t.entity === entity)!;
  const field = (entity: string, column: string) => table(entity).fields.find((f) => f.column === column)!;
  /** The emulator's records of an entity's table, by id, fields by name (in chunks: IPC messages stay small). */
  const fetchRecords = async (entity: string, ids: string[]) => {
    const out: Record<string, Record<string, unknown> | null> = {};
    for (let i = 0; i < ids.length; i += 500) Object.assign(out, await emulator.get(table(entity).tableId, ids.slice(i, i + 500)));
    return out;
  };
  const countRecords = (entity: string) => emulator.count(table(entity).tableId);
  /** Waits until neither the client's limiter nor the emulator's window remembers the last phase's requests. */
  const quiet = () => sleep(1_200);

  const pullStarted = now();
  const initial = await runPull({ sql: sync, source: new AirtableSource(client), mapping, mode: 'full', actor: 'bench', overlapSeconds: 60, log });
  const pullMs = now() - pullStarted;
  const pullRequests = (await emulator.stats()).requests;
  progress(`initial full pull: ${fmt(Number(initial.run.fetched))} records in ${secs(pullMs)}`);

  // Rows merged cleanly (not quarantined), live, with an Airtable id.
  const clean = (alias: string) => `${alias}.deleted_at is null and ${alias}.airtable_id is not null
    and not exists (select from sync.record_errors e where e.source_key = ${alias}.airtable_id and e.resolved_at is null)`;
  const products = await root<{ id: string; airtable_id: string; client_id: string; client_airtable_id: string }[]>`
    select p.id, p.airtable_id, c.id as client_id, c.airtable_id as client_airtable_id
    from app.products p join app.clients c on c.id = p.client_id
    where ${root.unsafe(clean('p'))} and ${root.unsafe(clean('c'))} order by p.airtable_id`;
  const clients = await root<{ id: string; airtable_id: string }[]>`select c.id, c.airtable_id from app.clients c where ${root.unsafe(clean('c'))} order by c.airtable_id`;
  const regulators = await root<{ id: string; airtable_id: string }[]>`
    select s.id, s.airtable_id from app.state_regulators s where ${root.unsafe(clean('s'))} order by s.airtable_id`;
  const existingRegistrations = await root<{ id: string; airtable_id: string; status: string | null }[]>`
    select r.id, r.airtable_id, r.status from app.registrations r where ${root.unsafe(clean('r'))} order by r.airtable_id`;
  if (!products.length || !clients.length || !regulators.length) throw new Error('the generated base has no clean clients, products or regulators to link to');

  // What the application writes: deterministic from the index.
  const STATUSES = ['Not Started', 'In Preparation', 'Submitted', 'Pending Review', 'Deficiency', 'Approved', 'Denied', 'Expired', 'Withdrawn'];
  const TYPES = ['New', 'Renewal', 'Amendment'];
  const TAGS = [[], ['Rush'], ['Label Change', 'Data Call-In'], ['Tonnage Report'], ['Needs Client Input']];
  const PRODUCT_TYPES = ['Pesticide', 'Fertilizer', 'Soil Amendment', 'Biostimulant', 'Disinfectant', 'Animal Feed'];
  const SIGNAL_WORDS = ['None', 'Caution', 'Warning', 'Danger'];
  const day = (i: number) => new Date(Date.UTC(2026, 0, 1) + (i % 300) * 86_400_000).toISOString().slice(0, 10);
  const registrationCells = (i: number, tag: string) => ({
    status: STATUSES[i % STATUSES.length]!,
    registration_type: TYPES[i % TYPES.length]!,
    submitted_date: day(i),
    fee_paid: 100 + (i % 40) * 12.5,
    invoice_number: `BENCH-${tag}-${i}`,
    priority: 1 + (i % 5),
    tags: TAGS[i % TAGS.length]!,
    notes: `${tag === 'C' ? 'Created' : 'Baseline record'} in PostgreSQL by the push benchmark, #${i}`,
  });
  const REG_FIELDS = ['status', 'registration_type', 'submitted_date', 'fee_paid', 'invoice_number', 'priority', 'tags', 'notes'] as const;

  // ---- 1. baseline: the raw write ceiling --------------------------------------
  const baselineEmulator = await startEmulatorProcess(SEED + 1); // the same base, a latency sequence of its own
  emulators.push(baselineEmulator);
  const baselineClient = makeClient(baselineEmulator.url); // the same limiter: one per base in the process
  const regTable = table('registrations').tableId;
  const payloads = Array.from({ length: N }, (_, i) => {
    const p = products[i % products.length]!;
    const cells = registrationCells(i, 'B');
    const fields: Record<string, unknown> = {
      [field('registrations', 'client_id').fieldId]: [p.client_airtable_id],
      [field('registrations', 'product_id').fieldId]: [p.airtable_id],
      [field('registrations', 'state_regulator_id').fieldId]: [regulators[i % regulators.length]!.airtable_id],
    };
    for (const column of REG_FIELDS) {
      const value = cells[column];
      if (!(Array.isArray(value) && !value.length)) fields[field('registrations', column).fieldId] = value;
    }
    return { fields };
  });
  const batches: Array<typeof payloads> = [];
  for (let i = 0; i < payloads.length; i += 10) batches.push(payloads.slice(i, i + 10));
  const baselineBefore = await baselineEmulator.count(regTable);
  await quiet();
  const baselineStarted = now();
  await Promise.all(batches.map((b) => baselineClient.writeRecords(regTable, 'POST', b)));
  const baselineMs = now() - baselineStarted;
  const baselineCreated = (await baselineEmulator.count(regTable)) - baselineBefore;
  if (baselineCreated !== N) problems.push(`baseline: ${baselineCreated} of ${N} records created in the emulator`);
  const baselineRate = (N * 1000) / baselineMs;
  const baselineStats = await baselineEmulator.stats();
  await baselineEmulator.stop();
  emulators.pop();
  console.log(`\nPush benchmarks: ${fmt(N)} records per scenario; emulator at ${RPS} requests/s per base (${PENALTY_MS / 1000} s penalty), ` +
    `latency ${LAT_MIN}-${LAT_MAX} ms per request (uniform, seed ${SEED}); client at AIRTABLE_RPS ${RPS}`);
  console.log(`Set-up: base of ${fmt(BASE_REGISTRATIONS)} registrations (seed ${SEED}); migrations/current.sql ${currentHasContent ? 'applied (uncommitted work in progress)' : 'empty'}; ` +
    `initial full pull of ${fmt(Number(initial.run.fetched))} records in ${secs(pullMs)} (${pullRequests} requests)`);
  console.log(`\n1. Baseline: ${fmt(batches.length)} POSTs of up to 10 records through the client's limiter, all at once, no database`);
  console.log(`   ${fmt(N)} records in ${secs(baselineMs)}: ${baselineRate.toFixed(1)} records/s = ${pct(baselineRate / CEILING)} of ${CEILING} records/s; ` +
    `${baselineStats.requests} requests (${((baselineStats.requests * 1000) / baselineMs).toFixed(2)}/s), ${baselineStats.rateLimited} answered 429`);

  // ---- push scenarios ------------------------------------------------------------
  interface Measured {
    ms: number;
    /** The longest event-loop stall of this process during the push. */
    stallMs: number;
    summary: PushSummary;
    requests: number;
    reads: number;
    writeRequests: number;
    rateLimited: number;
    writes: number;
  }
  const measurePush = async (): Promise<Measured> => {
    await quiet();
    await emulator.resetStats();
    loopDelay.reset();
    const started = now();
    const summary = await runPush({ sql: sync, source: new AirtableSource(client), mapping, actor: 'bench', log });
    const ms = now() - started;
    const stallMs = loopDelay.max / 1e6;
    const s = await emulator.stats();
    return { ms, stallMs, summary, requests: s.requests, reads: (s.byRoute.list ?? 0) + (s.byRoute.listRecords ?? 0), writeRequests: s.writeRequests, rateLimited: s.rateLimited, writes: s.writes };
  };
  const describePush = (m: Measured) => {
    const rate = (N * 1000) / m.ms;
    const t = m.summary.tables.filter((x) => x.created + x.updated + x.skipped + x.failed + x.retrying + x.deferred);
    console.log(`   runPush: ${secs(m.ms)} for ${fmt(N)} records: ${rate.toFixed(1)} records/s = ${pct(rate / CEILING)} of ${CEILING} records/s, ${pct(rate / baselineRate)} of the baseline`);
    console.log(`   requests: ${m.requests} (${((m.requests * 1000) / m.ms).toFixed(2)}/s): ${m.writeRequests} writes, ${m.reads} reads` +
      `${m.reads ? ` (${(m.writeRequests / m.reads).toFixed(1)} writes per read)` : ''}; ${m.rateLimited} answered 429; records written in the emulator: ${m.writes}; ` +
      `longest event-loop stall here: ${fmt(m.stallMs)} ms`);
    console.log(`   per table: ${t.map((x) => `${x.entity} ${x.created} created, ${x.updated} updated${x.skipped ? `, ${x.skipped} skipped` : ''}${x.failed ? `, ${x.failed} FAILED` : ''}` +
      `${x.retrying ? `, ${x.retrying} retrying` : ''}${x.deferred ? `, ${x.deferred} deferred` : ''}${x.conflicts ? `, ${x.conflicts} conflicts` : ''}`).join('; ')}`);
    return rate;
  };
  const outboxOpen = async () => {
    const [row] = await root<{ n: number }[]>`select count(*)::int as n from sync.outbox where status in ('pending', 'in_flight', 'failed')`;
    return row!.n;
  };
  const same = (a: unknown, b: unknown) => {
    const norm = (v: unknown) => (v === undefined || v === null || v === '' || (Array.isArray(v) && !v.length) ? null : JSON.stringify(v));
    return norm(a) === norm(b);
  };
  /** Compares what the emulator holds with what was expected, field by field; returns how many records differ. */
  const check = async (label: string, entity: string, expected: Array<{ airtable_id: string | null; fields: Record<string, unknown> }>) => {
    let wrong = 0;
    const examples: string[] = [];
    const held = await fetchRecords(entity, expected.flatMap((e) => (e.airtable_id ? [e.airtable_id] : [])));
    for (const e of expected) {
      const got = e.airtable_id ? held[e.airtable_id] : undefined;
      const bad = !got ? ['(record missing)'] : Object.entries(e.fields).filter(([name, v]) => !same(got[name], v)).map(([name, v]) => `${name}: ${JSON.stringify(got[name])} instead of ${JSON.stringify(v)}`);
      if (bad.length) {
        wrong++;
        if (examples.length < 3) examples.push(`${e.airtable_id ?? '(no Airtable id)'} ${bad.join(', ')}`);
      }
    }
    if (wrong) problems.push(`${label}: ${wrong} of ${expected.length} ${entity} records missing or wrong in the emulator, e.g. ${examples.join('; ')}`);
    return wrong;
  };

  // ---- 2. creates ------------------------------------------------------------------
  const newProducts = Math.min(Math.round(N / 10), N - 1);
  const newRegistrations = N - newProducts;
  const countsBefore = { products: await countRecords('products'), registrations: await countRecords('registrations') };
  const productRows = Array.from({ length: newProducts }, (_, i) => {
    const owner = clients[i % clients.length]!;
    return {
      name: `Bench Product ${i}`,
      client_id: owner.id,
      client_airtable_id: owner.airtable_id,
      product_type: PRODUCT_TYPES[i % PRODUCT_TYPES.length]!,
      signal_word: SIGNAL_WORDS[i % SIGNAL_WORDS.length]!,
      epa_registration_number: `${1000 + i}-${i % 97}`,
    };
  });
  const created = await app<{ id: string; name: string }[]>`
    insert into app.products (name, client_id, product_type, signal_word, epa_registration_number, discontinued)
    select r.name, r.client_id, r.product_type, r.signal_word, r.epa_registration_number, false
    from jsonb_to_recordset(${app.json(productRows)}) as r (name text, client_id uuid, product_type text, signal_word text, epa_registration_number text)
    returning id, name`;
  const productIdByName = new Map(created.map((c) => [c.name, c.id]));
  const registrationRows = Array.from({ length: newRegistrations }, (_, i) => {
    // a third link to a product created in the same push, the rest to existing ones
    const fresh = newProducts > 0 && i % 3 === 0 ? productRows[(i / 3) % newProducts]! : undefined;
    const existing = products[i % products.length]!;
    return {
      client_id: fresh ? fresh.client_id : existing.client_id,
      product_id: fresh ? productIdByName.get(fresh.name)! : existing.id,
      state_regulator_id: regulators[i % regulators.length]!.id,
      ...registrationCells(i, 'C'),
    };
  });
  await app`
    insert into app.registrations (client_id, product_id, state_regulator_id, status, registration_type, submitted_date, fee_paid, invoice_number, priority, tags, notes)
    select r.client_id, r.product_id, r.state_regulator_id, r.status, r.registration_type, r.submitted_date, r.fee_paid, r.invoice_number, r.priority,
           array(select jsonb_array_elements_text(r.tags)), r.notes
    from jsonb_to_recordset(${app.json(registrationRows)}) as r (client_id uuid, product_id uuid, state_regulator_id uuid, status text, registration_type text,
      submitted_date date, fee_paid numeric, invoice_number text, priority smallint, tags jsonb, notes text)`;
  const [{ captured }] = await root<{ captured: number }[]>`select count(*)::int as captured from sync.outbox where status = 'pending' and operation = 'create'`;
  progress(`creates: ${newProducts} products and ${newRegistrations} registrations inserted as airlift_app; ${captured} create entries in sync.outbox; pushing`);
  if (captured !== N) problems.push(`creates: ${captured} outbox entries captured for ${N} inserted rows`);

  const creates = await measurePush();
  console.log(`\n2. Push of ${fmt(N)} creates (${newProducts} products, ${newRegistrations} registrations, a third of them linked to the new products)`);
  const createRate = describePush(creates);
  // Verification: every row has its Airtable id, the emulator holds exactly
  // the new records, each with the values written here.
  const createdProducts = await root<{ name: string; airtable_id: string | null; client: string }[]>`
    select p.name, p.airtable_id, c.airtable_id as client from app.products p join app.clients c on c.id = p.client_id where p.name like 'Bench Product %'`;
  const createdRegistrations = await root<{ invoice_number: string; airtable_id: string | null; client: string; product: string | null; regulator: string }[]>`
    select r.invoice_number, r.airtable_id, c.airtable_id as client, p.airtable_id as product, s.airtable_id as regulator
    from app.registrations r join app.clients c on c.id = r.client_id join app.products p on p.id = r.product_id join app.state_regulators s on s.id = r.state_regulator_id
    where r.invoice_number like 'BENCH-C-%'`;
  const productByName = new Map(productRows.map((p) => [p.name, p]));
  let createWrong = await check('creates', 'products', createdProducts.map((row) => {
    const p = productByName.get(row.name)!;
    return { airtable_id: row.airtable_id, fields: { 'Product Name': p.name, Client: [p.client_airtable_id], 'Product Type': p.product_type, 'Signal Word': p.signal_word, 'EPA Registration Number': p.epa_registration_number } };
  }));
  createWrong += await check('creates', 'registrations', createdRegistrations.map((row) => {
    const i = Number(row.invoice_number.slice('BENCH-C-'.length));
    const c = registrationCells(i, 'C');
    return {
      airtable_id: row.airtable_id,
      fields: { Client: [row.client], Product: row.product ? [row.product] : null, 'State Regulator': [row.regulator], Status: c.status, 'Registration Type': c.registration_type,
        'Submitted Date': c.submitted_date, 'Fee Paid': c.fee_paid, 'Invoice Number': c.invoice_number, Priority: c.priority, Tags: c.tags, Notes: c.notes },
    };
  }));
  const countsAfter = { products: await countRecords('products'), registrations: await countRecords('registrations') };
  const createdInEmulator = countsAfter.products - countsBefore.products + countsAfter.registrations - countsBefore.registrations;
  if (createdProducts.length + createdRegistrations.length !== N) problems.push(`creates: ${createdProducts.length + createdRegistrations.length} rows found for ${N} inserted`);
  if (countsAfter.products - countsBefore.products !== newProducts || countsAfter.registrations - countsBefore.registrations !== newRegistrations) {
    problems.push(`creates: the emulator gained ${countsAfter.products - countsBefore.products} products and ${countsAfter.registrations - countsBefore.registrations} registrations, expected ${newProducts} and ${newRegistrations}`);
  }
  const openAfterCreates = await outboxOpen();
  if (openAfterCreates) problems.push(`creates: ${openAfterCreates} outbox entries still pending, in flight or failed`);
  console.log(`   check: ${createdInEmulator} new records in the emulator (expected ${N}); ${N - createWrong} of ${N} with every pushed field as written; ${openAfterCreates} outbox entries left open`);

  // ---- 3. updates ------------------------------------------------------------------
  const updatedProducts = products.slice(0, Math.min(Math.round(N / 10), products.length));
  const updatedRegistrations = existingRegistrations.slice(0, N - updatedProducts.length);
  if (updatedRegistrations.length + updatedProducts.length < N) throw new Error(`only ${existingRegistrations.length + products.length} clean rows to update; raise --base-registrations`);
  const productChanges = updatedProducts.map((p, i) => ({ id: p.id, airtable_id: p.airtable_id, signal_word: SIGNAL_WORDS[(i + 1) % SIGNAL_WORDS.length]!, epa_registration_number: `UPD-${i}`, active_ingredients: `Updated ingredient list #${i}` }));
  const registrationChanges = updatedRegistrations.map((r, i) => {
    const next = STATUSES[(STATUSES.indexOf(r.status ?? '') + 1 + STATUSES.length) % STATUSES.length]!;
    return {
      id: r.id,
      airtable_id: r.airtable_id,
      status: next,
      fee_paid: 200 + (i % 50) * 1.25,
      notes: `Updated in PostgreSQL by the push benchmark, #${i}`,
      // a quarter change a fourth field
      invoice_number: i % 4 === 0 ? `BENCH-U-${i}` : undefined,
    };
  });
  const changedFields = { products: ['Signal Word', 'EPA Registration Number', 'Active Ingredients'], registrations: ['Status', 'Fee Paid', 'Notes', 'Invoice Number'] };
  const before = new Map<string, Record<string, unknown>>();
  for (const [id, fields] of Object.entries(await fetchRecords('products', productChanges.map((c) => c.airtable_id)))) before.set(id, fields!);
  for (const [id, fields] of Object.entries(await fetchRecords('registrations', registrationChanges.map((c) => c.airtable_id)))) before.set(id, fields!);
  await app`
    update app.products p set signal_word = r.signal_word, epa_registration_number = r.epa_registration_number, active_ingredients = r.active_ingredients
    from jsonb_to_recordset(${app.json(productChanges)}) as r (id uuid, signal_word text, epa_registration_number text, active_ingredients text)
    where p.id = r.id`;
  await app`
    update app.registrations t set status = r.status, fee_paid = r.fee_paid, notes = r.notes, invoice_number = coalesce(r.invoice_number, t.invoice_number)
    from jsonb_to_recordset(${app.json(registrationChanges)}) as r (id uuid, status text, fee_paid numeric, notes text, invoice_number text)
    where t.id = r.id`;
  const [{ capturedUpdates }] = await root<{ capturedUpdates: number }[]>`select count(*)::int as "capturedUpdates" from sync.outbox where status = 'pending' and operation = 'update'`;
  progress(`updates: ${productChanges.length} products and ${registrationChanges.length} registrations changed as airlift_app; ${capturedUpdates} update entries in sync.outbox; pushing`);
  if (capturedUpdates !== N) problems.push(`updates: ${capturedUpdates} outbox entries captured for ${N} updated rows`);

  const updates = await measurePush();
  console.log(`\n3. Push of ${fmt(N)} updates (${productChanges.length} products, ${registrationChanges.length} registrations; 2 to 4 fields changed each)`);
  const updateRate = describePush(updates);
  /** The expected record: as before, with the changed fields replaced (Last Modified and lookups left out). */
  const afterUpdate = (airtableId: string, changes: Record<string, unknown>) => {
    const fields = Object.fromEntries(Object.entries(before.get(airtableId)!).filter(([name]) => !['Last Modified', 'State', 'Registration', 'Days Until Expiration'].includes(name)));
    for (const [name, v] of Object.entries(changes)) if (v !== undefined) fields[name] = v;
    return { airtable_id: airtableId, fields };
  };
  let updateWrong = await check('updates', 'products', productChanges.map((c) =>
    afterUpdate(c.airtable_id, { 'Signal Word': c.signal_word, 'EPA Registration Number': c.epa_registration_number, 'Active Ingredients': c.active_ingredients })));
  updateWrong += await check('updates', 'registrations', registrationChanges.map((c) =>
    afterUpdate(c.airtable_id, { Status: c.status, 'Fee Paid': c.fee_paid, Notes: c.notes, 'Invoice Number': c.invoice_number })));
  const updatedCount = updates.summary.tables.reduce((s, t) => s + t.updated, 0);
  if (updatedCount !== N) problems.push(`updates: the push updated ${updatedCount} records of ${N}`);
  const openAfterUpdates = await outboxOpen();
  if (openAfterUpdates) problems.push(`updates: ${openAfterUpdates} outbox entries still pending, in flight or failed`);
  console.log(`   check: ${N - updateWrong} of ${N} records with the changed fields (${[...changedFields.products, ...changedFields.registrations].join(', ')}) as written and every other field as it was; ` +
    `${openAfterUpdates} outbox entries left open`);

  // ---- 4. a sync round with nothing changed --------------------------------------------
  const lastAudit = async () => (await root<{ id: string }[]>`select coalesce(max(id), 0)::text as id from audit.changes`)[0]!.id;
  const round = async () => {
    await quiet();
    const mark = await lastAudit();
    await emulator.resetStats();
    const pulled = await runPull({ sql: sync, source: new AirtableSource(client), mapping, mode: 'incremental', actor: 'bench', overlapSeconds: 60, log });
    const pushed = await runPush({ sql: sync, source: new AirtableSource(client), mapping, actor: 'bench', log });
    const written = await root<{ table_name: string; op: string; columns: string[] | null; n: number }[]>`
      select table_name, op, array(select distinct unnest(array_agg(changed_columns)) order by 1) as columns, count(*)::int as n
      from audit.changes where id > ${mark} and table_name like 'app.%' group by table_name, op order by table_name, op`;
    const stats = await emulator.stats();
    return {
      fetched: Number(pulled.run.fetched),
      pushRun: pushed.run,
      requests: stats.requests,
      writeRequests: stats.writeRequests,
      rateLimited: stats.rateLimited,
      rows: written.reduce((s, w) => s + w.n, 0),
      written,
    };
  };
  const settle = await round();
  const noop = await round();
  console.log('\n4. Sync rounds (incremental pull, then push)');
  console.log(`   first round after the pushes (settles Airtable's side effects of them): fetched ${settle.fetched}, ${settle.requests} requests, ${settle.writeRequests} write requests; ` +
    `app rows written: ${settle.rows}${settle.written.length ? ` (${settle.written.map((w) => `${w.table_name} ${w.op} ${w.n}: ${(w.columns ?? []).join(', ')}`).join('; ')})` : ''}; push ${settle.pushRun ? `run #${settle.pushRun.id}` : 'had nothing to do'}`);
  console.log(`   round with nothing changed on either side: fetched ${noop.fetched} (the overlap window), ${noop.requests} requests (reads), ` +
    `${noop.writeRequests} write requests to Airtable, ${noop.rows} app rows written${noop.written.length ? ` (${noop.written.map((w) => `${w.table_name} ${w.op} ${w.n}`).join('; ')})` : ''}; ` +
    `push ${noop.pushRun ? `run #${noop.pushRun.id}` : 'had nothing to do (no run recorded)'}`);

  // ---- 5. resources ---------------------------------------------------------------------
  const peak = await peakRssMb();
  console.log(`\n5. Peak memory (RSS) of this process (the emulators run in their own): ${peak.toFixed(0)} MB`);

  // ---- summary -------------------------------------------------------------------------
  const total429 = baselineStats.rateLimited + creates.rateLimited + updates.rateLimited + settle.rateLimited + noop.rateLimited;
  const reached = (ok: boolean) => (ok ? 'reached' : 'not reached');
  const rows: Array<[string, string, string, string]> = [
    ['baseline: client + limiter, POSTs of 10, no database', `${baselineRate.toFixed(1)} records/s (${secs(baselineMs)}, ${baselineStats.requests} requests)`, `${pct(baselineRate / CEILING)} of ${CEILING}/s`, '(reference)'],
    [`push of ${fmt(N)} creates`, `${createRate.toFixed(1)} records/s (${secs(creates.ms)}, ${creates.requests} requests: ${creates.writeRequests} writes, ${creates.reads} reads)`,
      `${pct(createRate / CEILING)} of ${CEILING}/s; ${pct(createRate / baselineRate)} of baseline`, `>= ${pct(TARGET_SHARE)} of ${CEILING}/s: ${reached(createRate >= TARGET_SHARE * CEILING)}`],
    [`push of ${fmt(N)} updates`, `${updateRate.toFixed(1)} records/s (${secs(updates.ms)}, ${updates.requests} requests: ${updates.writeRequests} writes, ${updates.reads} reads)`,
      `${pct(updateRate / CEILING)} of ${CEILING}/s; ${pct(updateRate / baselineRate)} of baseline`, `>= ${pct(TARGET_SHARE)} of ${CEILING}/s: ${reached(updateRate >= TARGET_SHARE * CEILING)}`],
    ['429s answered (all scenarios)', String(total429), '', `0: ${reached(total429 === 0 && clientPenalties === 0)}`],
    ['no-op round: Airtable write requests', String(noop.writeRequests), '', `0: ${reached(noop.writeRequests === 0)}`],
    ['no-op round: app rows written', String(noop.rows), '', `0: ${reached(noop.rows === 0)}`],
    ['records lost or wrong', String(createWrong + updateWrong), '', `0: ${reached(!problems.length)}`],
    ['peak RSS', `${peak.toFixed(0)} MB`, '', '(reported)'],
  ];
  const widths = [0, 1, 2, 3].map((c) => Math.max(...[['measure', 'result', 'ratio', 'target'][c]!, ...rows.map((r) => r[c]!)].map((s) => s.length)));
  const line = (r: string[]) => `| ${r.map((s, c) => s.padEnd(widths[c]!)).join(' | ')} |`;
  console.log(`\n${line(['measure', 'result', 'ratio', 'target'])}`);
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(r));
  if (problems.length) {
    console.log('\nRecords lost or wrong:');
    for (const p of problems) console.log(`   ${p}`);
    process.exitCode = 1;
  }
} finally {
  await Promise.all(pools.map((p) => p.end({ timeout: 5 })));
  await Promise.all(emulators.map((e) => e.stop()));
  if (server) await server.stop();
  else if (serverUrlFromEnv) {
    const admin = connect(serverUrl, { max: 1 });
    await admin.unsafe(`drop database if exists "airlift_bench_push_${process.pid}" with (force)`).catch(() => undefined);
    await admin.end();
  }
}
