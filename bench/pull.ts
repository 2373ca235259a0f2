/**
 * Pull benchmarks (issue: one-way sync). Prints figures and ratios measured
 * against baselines in the same run:
 *
 *  1. A full pull of a 200,000-registration base with the rate limit lifted:
 *     PostgreSQL's share (staging + merge + sweep, summed even where merges
 *     overlap the listing) and the whole pull's wall time, against a server-side COPY
 *     of the same rows into the same tables (same indexes and triggers) of a
 *     fresh database; and the peak memory of the pulling process (the
 *     emulator runs in a child process, so it is not counted).
 *  2. An incremental pull with nothing changed: rows written.
 *  3. A full pull at 5 requests/s with 150 ms latency per request: records/s
 *     against the 500 records/s ceiling, and the 429s received.
 *
 *   npm run bench:pull
 *   REGISTRATIONS=200000 RATE_LIMITED_REGISTRATIONS=10000 npm run bench:pull
 */
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { AirtableClient } from '../src/sources/airtable/client.ts';
import { AirtableSource } from '../src/sources/airtable/source.ts';
import { connect, ensureDatabaseExists, prepareDatabase, PROJECT_ROOT } from '../src/db/database.ts';
import { startThrowawayCluster, urlWithDatabase } from '../src/db/embedded.ts';
import { loadMapping } from '../src/mapping.ts';
import { urlWithSession } from '../src/pipeline/context.ts';
import { runPull } from '../src/pipeline/pull.ts';
import { startEmulator } from '../tools/emulator/emulator.ts';
import { baseIdForSeed, generateDeltaBase } from '../tools/generator/generator.ts';

const REGISTRATIONS = Number(process.env.REGISTRATIONS ?? 200_000);
const RATE_LIMITED_REGISTRATIONS = Number(process.env.RATE_LIMITED_REGISTRATIONS ?? 10_000);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function peakRssMb(): Promise<number> {
  const status = await readFile('/proc/self/status', 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

/** A logger that keeps the per-table timings the pull reports at debug level. */
function timingLog() {
  const timings: Array<Record<string, number | string>> = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) {
        if (line.includes('"table timings"')) timings.push(JSON.parse(line));
      }
      done();
    },
  });
  return { log: pino({ level: 'debug' }, stream), timings };
}

async function startEmulatorProcess(registrations: number, seed: number): Promise<{ url: string; baseId: string; token: string; stop(): void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'tools', 'emulator', 'emulator-cli.ts'), '--registrations', String(registrations), '--seed', String(seed), '--port', '0', '--rps', '0'], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    let buffer = '';
    child.stdout!.on('data', (d) => {
      buffer += d;
      const newline = buffer.indexOf('\n');
      if (newline >= 0) resolve(buffer.slice(0, newline));
    });
    child.on('exit', (code) => reject(new Error(`emulator exited with ${code}`)));
  });
  return { ...JSON.parse(line), stop: () => child.kill('SIGTERM') };
}

const server = await startThrowawayCluster();
const mapping = await loadMapping();
try {
  // ---- 1. 200k, rate limit lifted ------------------------------------------
  console.log(`\n1. Full pull of ${fmt(REGISTRATIONS)} registrations, rate limit lifted`);
  await ensureDatabaseExists(server.rootUrl, 'bench_pull');
  const pullUrl = urlWithDatabase(server.rootUrl, 'bench_pull');
  await prepareDatabase({ databaseUrl: pullUrl, rootUrl: pullUrl });
  const emulator = await startEmulatorProcess(REGISTRATIONS, 7);
  const sql = connect(urlWithSession(pullUrl, 'airlift_sync', { 'airlift.actor': 'bench' }), { max: 4 });
  const client = new AirtableClient({ token: emulator.token, baseId: emulator.baseId, endpointUrl: emulator.url, requestsPerSecond: 10_000 });
  const { log, timings } = timingLog();
  const rssBefore = await peakRssMb();
  const started = Date.now();
  const full = await runPull({ sql, source: new AirtableSource(client), mapping, mode: 'full', actor: 'bench', overlapSeconds: 60, log });
  const wallMs = Date.now() - started;
  const peak = await peakRssMb();
  const pgMs = timings.reduce((s, t) => s + Number(t.stage_ms ?? 0) + Number(t.merge_ms ?? 0) + Number(t.sweep_ms ?? 0), 0);
  const stageMs = timings.reduce((s, t) => s + Number(t.stage_ms ?? 0), 0);
  const mergeMs = timings.reduce((s, t) => s + Number(t.merge_ms ?? 0), 0);
  console.log(`   fetched ${fmt(Number(full.run.fetched))} records (${fmt(Number(full.run.inserted))} inserted, ${fmt(Number(full.run.quarantined))} quarantined) in ${(wallMs / 1000).toFixed(1)} s`);
  console.log(`   PostgreSQL side: staging ${(stageMs / 1000).toFixed(1)} s + merge ${(mergeMs / 1000).toFixed(1)} s + sweep ${((pgMs - stageMs - mergeMs) / 1000).toFixed(1)} s = ${(pgMs / 1000).toFixed(1)} s`);

  // Baseline: the same rows, as they ended up, COPYed into the same tables of
  // a fresh database (same indexes, constraints and audit triggers).
  const dumpDir = await mkdtemp(path.join(os.tmpdir(), 'airlift-bench-copy-'));
  await chmod(dumpDir, 0o777);
  const tables: Array<[string, string]> = [
    ['app.collaborators', 'id, airtable_user_id, email, name, created_at, updated_at'],
    ['app.clients', 'id, airtable_id, name, client_code, status, primary_contact, email, phone, mailing_address, federal_tax_id, account_manager_id, client_since, annual_budget, notes, airtable_created_at, airtable_modified_at, created_at, updated_at, deleted_at'],
    ['app.state_regulators', 'id, airtable_id, agency_name, state, agency_type, contact_name, contact_email, phone, website, submission_portal, renewal_cycle, renewal_month, registration_fee, late_fee, requires_wet_signature, product_types_regulated, notes, airtable_modified_at, created_at, updated_at, deleted_at'],
    ['app.products', 'id, airtable_id, name, client_id, epa_registration_number, product_type, active_ingredients, signal_word, discontinued, airtable_modified_at, created_at, updated_at, deleted_at'],
    ['app.registrations', 'id, airtable_id, client_id, product_id, state_regulator_id, state, status, registration_type, state_registration_number, submitted_date, approved_date, expiration_date, fee_paid, invoice_number, priority, tags, assigned_to_id, notes, airtable_modified_at, created_at, updated_at, deleted_at'],
    ['app.attachments', 'id, airtable_attachment_id, product_id, registration_id, field_name, position, filename, size_bytes, mime_type, url, url_fetched_at, created_at, updated_at, deleted_at'],
    ['staging.source_records', 'source_id, source_table, source_key, fields, created_time, content_hash, fetched_at'],
  ];
  const superuser = connect(pullUrl, { max: 1 });
  for (const [table, columns] of tables) {
    await superuser.unsafe(`copy (select ${columns} from ${table}) to '${path.join(dumpDir, `${table}.copy`)}'`);
  }
  await superuser.end();
  await ensureDatabaseExists(server.rootUrl, 'bench_copy');
  const copyUrl = urlWithDatabase(server.rootUrl, 'bench_copy');
  await prepareDatabase({ databaseUrl: copyUrl, rootUrl: copyUrl });
  const copier = connect(copyUrl, { max: 1 });
  const copyStarted = Date.now();
  for (const [table, columns] of tables) {
    await copier.unsafe(`copy ${table} (${columns}) from '${path.join(dumpDir, `${table}.copy`)}'`);
  }
  const copyMs = Date.now() - copyStarted;
  await copier.end();
  await rm(dumpDir, { recursive: true, force: true });
  console.log(`   baseline: COPY of the same rows into the same tables: ${(copyMs / 1000).toFixed(1)} s`);
  console.log(`   => PostgreSQL side at ${((100 * copyMs) / pgMs).toFixed(0)}% of COPY speed (target: at least 40%)`);
  console.log(`   => the whole pull, wall clock (Airtable emulator, JSON, staging and merges overlapping): ${((100 * copyMs) / wallMs).toFixed(0)}% of COPY speed`);
  console.log(`   peak memory of the pulling process: ${peak.toFixed(0)} MB (${rssBefore.toFixed(0)} MB before the pull; target: under 300 MB)`);

  // ---- 2. incremental with nothing changed ---------------------------------
  const writes = async () => {
    await new Promise((r) => setTimeout(r, 1500)); // let the statistics collector catch up
    const [row] = await sql<{ n: string }[]>`
      select coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::text as n
      from pg_stat_user_tables where schemaname in ('app', 'staging')`;
    return Number(row.n);
  };
  const before = await writes();
  const incremental = await runPull({ sql, source: new AirtableSource(client), mapping, mode: 'incremental', actor: 'bench', overlapSeconds: 60, log });
  const after = await writes();
  console.log(`\n2. Incremental pull with nothing changed: fetched ${incremental.run.fetched} (the overlap window), rows written to app and staging: ${after - before} (target: 0)`);
  await sql.end();
  emulator.stop();

  // ---- 3. rate-limited throughput -------------------------------------------
  console.log(`\n3. Full pull of ${fmt(RATE_LIMITED_REGISTRATIONS)} registrations at 5 requests/s, 150 ms latency per request`);
  const seed = 8;
  const base = generateDeltaBase({ seed, registrations: RATE_LIMITED_REGISTRATIONS });
  const baseId = baseIdForSeed(seed);
  const limited = await startEmulator({ bases: { [baseId]: base }, rateLimit: { requestsPerSecond: 5, penaltyMs: 30_000 }, latencyMs: 150 });
  await ensureDatabaseExists(server.rootUrl, 'bench_limited');
  const limitedUrl = urlWithDatabase(server.rootUrl, 'bench_limited');
  await prepareDatabase({ databaseUrl: limitedUrl, rootUrl: limitedUrl });
  const limitedSql = connect(urlWithSession(limitedUrl, 'airlift_sync', { 'airlift.actor': 'bench' }), { max: 4 });
  const limitedClient = new AirtableClient({ token: limited.token, baseId, endpointUrl: limited.url, requestsPerSecond: 5 });
  const limitedLog = timingLog();
  const t0 = Date.now();
  const rated = await runPull({ sql: limitedSql, source: new AirtableSource(limitedClient), mapping, mode: 'full', actor: 'bench', overlapSeconds: 60, log: limitedLog.log });
  const totalMs = Date.now() - t0;
  const listMs = limitedLog.timings.reduce((s, t) => s + Number(t.list_ms ?? 0), 0);
  const fetched = Number(rated.run.fetched);
  console.log(`   ${fmt(fetched)} records, ${limited.stats.requests} requests, ${limited.stats.rateLimited} answered 429`);
  console.log(`   listing: ${fmt((fetched * 1000) / listMs)} records/s = ${((100 * fetched * 1000) / listMs / 500).toFixed(1)}% of the 500 records/s ceiling`);
  console.log(`   after the last page: ${((totalMs - listMs) / 1000).toFixed(2)} s of drift check, last merge, sweep and finish`);
  console.log(`   whole pull (with merges): ${fmt((fetched * 1000) / totalMs)} records/s = ${((100 * fetched * 1000) / totalMs / 500).toFixed(1)}% of the ceiling (target: at least 90%, zero 429s)`);
  await limitedSql.end();
  await limited.stop();
} finally {
  await server.stop();
}
