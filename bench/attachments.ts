/**
 * Attachment benchmarks (issue: keep the attachment files). Prints three
 * figures, each against a baseline measured in the same run:
 *
 *  1. Download throughput: FILES attachments of 200 KB to 5 MB (sizes
 *     log-uniform over that range) on a content host that answers after
 *     100 ms. airlift: a real full pull of a base whose Documents cells hold
 *     exactly those files, downloading into a LocalFileStore, CONCURRENCY
 *     at once. Baseline: the same files, at fresh URLs read through the API,
 *     fetched by `curl --parallel` at the same concurrency into a directory.
 *     Every file airlift stored is checked against its expected SHA-256.
 *  2. Records/s of a full pull with and without attachment files, with the
 *     API rate-limited as Airtable is (5 requests/s, 150 ms per request),
 *     each into a fresh database.
 *  3. Peak memory (VmHWM) of a pull whose base holds BIG_FILES attachments
 *     of 100 MB among ordinary ones; the big files' SHA-256 checked.
 *
 * The emulator runs in a child process (bench/attachments-emulator.ts) and
 * so does each pull (bench/attachments-run.ts): their CPU and memory are
 * their own.
 *
 *   npm run bench:attachments
 *   FILES=500 npm run bench:attachments
 *   FILES=10000 CONCURRENCY=16 PULL_REGISTRATIONS=10000 BIG_REGISTRATIONS=1000 BIG_FILES=3 npm run bench:attachments
 *   SMALL_HEAP=0 npm run bench:attachments   (pulls without the CLI's --optimize-for-size)
 *   PARTS=1 FILES=2000 npm run bench:attachments   (only part 1)
 */
import { execFile, fork, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { watch as applyCurrentMigration } from 'graphile-migrate';
import { connect, ensureDatabaseExists, migrationSettings, prepareDatabase, PROJECT_ROOT, releaseMigrationPools } from '../src/db/database.ts';
import { startThrowawayCluster, urlWithDatabase } from '../src/db/embedded.ts';
import { sha256OfAttachment } from '../tools/emulator/emulator.ts';
import { DELTA_TABLE_IDS } from '../tools/generator/generator.ts';

const FILES = Number(process.env.FILES ?? 10_000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 16);
const FILES_REGISTRATIONS = Number(process.env.FILES_REGISTRATIONS ?? Math.max(50, Math.ceil(FILES / 2)));
const PULL_REGISTRATIONS = Number(process.env.PULL_REGISTRATIONS ?? 10_000);
const BIG_REGISTRATIONS = Number(process.env.BIG_REGISTRATIONS ?? 1_000);
const BIG_FILES = Number(process.env.BIG_FILES ?? 3);
const BIG_BYTES = 100 * 1024 * 1024;
/** The parts to run (PARTS=1,3: only those). */
const PARTS = new Set((process.env.PARTS ?? '1,2,3').split(',').map((p) => p.trim()));
const CONTENT_LATENCY_MS = 100;
const MIN_BYTES = 200 * 1024;
const MAX_BYTES = 5 * 1024 * 1024;

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mb = (bytes: number) => bytes / 1e6;
const mbps = (bytes: number, ms: number) => `${(mb(bytes) / (ms / 1000)).toFixed(0)} MB/s`;
const gb = (bytes: number) => `${(bytes / 1e9).toFixed(2)} GB`;

// ---- machine CPU ---------------------------------------------------------------

interface CpuTicks { busy: number; iowait: number; total: number }
async function cpuTicks(): Promise<CpuTicks> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number) as number[];
  const total = user! + nice! + system! + idle! + iowait! + irq! + softirq! + steal!;
  return { busy: total - idle! - iowait!, iowait: iowait!, total };
}
/** Machine-wide CPU over a phase, in cores busy (of os.cpus().length) and cores waiting on I/O. */
function cpuSince(a: CpuTicks, b: CpuTicks): string {
  const cores = os.cpus().length;
  const total = b.total - a.total || 1;
  return `machine ${((cores * (b.busy - a.busy)) / total).toFixed(2)} of ${cores} cores busy, ${((cores * (b.iowait - a.iowait)) / total).toFixed(2)} in iowait`;
}

// ---- the emulator child ------------------------------------------------------------

interface EmulatorConfig {
  seed: number;
  registrations: number;
  requestsPerSecond: number;
  latencyMs: number;
  contentLatencyMs: number;
  files?: { count: number; minBytes: number; maxBytes: number };
  big?: { count: number; bytes: number };
}
interface EmulatorChild {
  url: string;
  token: string;
  baseId: string;
  files: number;
  bytes: number;
  big: Array<{ id: string; size: number }>;
  call<T>(op: string): Promise<T>;
  stop(): Promise<void>;
}
const children = new Set<ChildProcess>();

async function startEmulatorChild(config: EmulatorConfig): Promise<EmulatorChild> {
  const child = fork(path.join(PROJECT_ROOT, 'bench', 'attachments-emulator.ts'), [JSON.stringify(config)], {
    cwd: PROJECT_ROOT,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let next = 1;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  const ready = await new Promise<Omit<EmulatorChild, 'call' | 'stop'>>((resolve, reject) => {
    child.on('message', (m: { ready?: Omit<EmulatorChild, 'call' | 'stop'>; id?: number; result?: unknown; error?: string }) => {
      if (m.ready) return resolve(m.ready);
      const p = pending.get(m.id!);
      if (!p) return;
      pending.delete(m.id!);
      if (m.error) p.reject(new Error(m.error));
      else p.resolve(m.result);
    });
    child.on('exit', (code) => reject(new Error(`the emulator exited with ${code}`)));
  });
  const call = <T>(op: string) =>
    new Promise<T>((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ id, op });
    });
  return {
    ...ready,
    call,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      await call('stop').catch(() => child.kill('SIGTERM'));
      await exited;
    },
  };
}

interface Stats { requests: number; rateLimited: number; contentRequests: number; contentBytes: number; contentServed: number }
interface Window { first: number | null; last: number | null }
const emulatorCpuMs = async (e: EmulatorChild) => {
  const u = await e.call<{ user: number; system: number }>('cpu');
  return (u.user + u.system) / 1000;
};

// ---- the pull child ------------------------------------------------------------------

interface PullResult {
  startedAt: number;
  wallMs: number;
  vmHwmKb: number;
  hwmBeforeKb: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  run: { fetched: string; inserted: string; status: string };
  files: { downloaded: number; bytes: number; alreadyStored: number; failed: number; refreshed: number; retries: number } | null;
  timings: Array<Record<string, unknown>>;
}

function runPullChild(input: { url: string; endpointUrl: string; token: string; baseId: string; requestsPerSecond: number; files: { dir: string; concurrency: number } | null }): Promise<PullResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'bench', 'attachments-run.ts'), JSON.stringify(input)], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.add(child);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.on('exit', (code) => {
      children.delete(child);
      if (code !== 0) return reject(new Error(`the pull exited with ${code}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as PullResult);
    });
  });
}

async function freshDatabase(rootUrl: string, name: string): Promise<string> {
  await ensureDatabaseExists(rootUrl, name);
  const url = urlWithDatabase(rootUrl, name);
  const target = { databaseUrl: url, rootUrl: url };
  await prepareDatabase(target);
  try {
    // work in progress (the attachment tables): migrations/current.sql on top (a no-op once committed)
    await applyCurrentMigration(await migrationSettings(target), true);
  } finally {
    await releaseMigrationPools();
  }
  return url;
}

/**
 * Every live attachment row of the database against the synthetic file its
 * emulator serves: the SHA-256 recorded must be the expected one, and the
 * store must hold a file of the right size under its key.
 */
async function checkStoredFiles(dbUrl: string, storeDir: string): Promise<{ rows: number; good: number; bad: string[]; ms: number }> {
  const started = Date.now();
  const sql = connect(dbUrl, { max: 1 });
  try {
    const rows = await sql<{ airtable_attachment_id: string; size_bytes: string; sha256: string | null; store_key: string | null }[]>`
      select airtable_attachment_id, size_bytes, sha256, store_key from app.attachments where deleted_at is null`;
    let good = 0;
    const bad: string[] = [];
    for (const row of rows) {
      const size = Number(row.size_bytes);
      const expected = sha256OfAttachment(row.airtable_attachment_id, size);
      if (row.sha256 !== expected || !row.store_key) {
        bad.push(`${row.airtable_attachment_id}: sha256 ${row.sha256 ?? 'none'}, expected ${expected}`);
        continue;
      }
      const s = await stat(path.join(storeDir, row.store_key)).catch(() => null);
      if (!s || s.size !== size) {
        bad.push(`${row.airtable_attachment_id}: ${s ? `${s.size} bytes stored, ${size} expected` : 'missing from the store'}`);
        continue;
      }
      good++;
    }
    return { rows: rows.length, good, bad, ms: Date.now() - started };
  } finally {
    await sql.end();
  }
}

async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Every attachment of the base, with a fresh URL, read through the API as a client would. */
async function listAttachments(e: EmulatorChild): Promise<Array<{ id: string; url: string; size: number }>> {
  const found: Array<{ id: string; url: string; size: number }> = [];
  for (const tableId of Object.values(DELTA_TABLE_IDS)) {
    let offset: string | undefined;
    do {
      const u = new URL(`${e.url}/v0/${e.baseId}/${tableId}`);
      u.searchParams.set('pageSize', '100');
      if (offset) u.searchParams.set('offset', offset);
      const res = await fetch(u, { headers: { authorization: `Bearer ${e.token}` } });
      if (!res.ok) throw new Error(`listing ${tableId}: HTTP ${res.status} ${await res.text()}`);
      const page = (await res.json()) as { records: Array<{ fields: Record<string, unknown> }>; offset?: string };
      for (const r of page.records) {
        for (const v of Object.values(r.fields)) {
          if (!Array.isArray(v)) continue;
          for (const a of v) if (a && typeof a === 'object' && typeof a.url === 'string' && typeof a.id === 'string') found.push({ id: a.id, url: a.url, size: a.size });
        }
      }
      offset = page.offset;
    } while (offset);
  }
  return found;
}

/** curl --parallel over the files, into a directory; wall time and curl's own CPU (from /usr/bin/time). */
async function curlAll(files: Array<{ url: string }>, dir: string, concurrency: number): Promise<{ wallMs: number; cpuMs: number; files: number; bytes: number }> {
  await mkdir(dir, { recursive: true });
  const config = path.join(dir, '..', 'curl.config');
  await writeFile(config, files.map((f, i) => `url = "${f.url}"\noutput = "${path.join(dir, String(i))}"\n`).join(''));
  const started = Date.now();
  const { stderr } = await new Promise<{ stderr: string }>((resolve, reject) => {
    const child = execFile('/usr/bin/time', ['-f', 'CPU %U %S', 'curl', '--parallel', '--parallel-max', String(concurrency), '--parallel-immediate', '-sS', '--fail', '-K', config], { maxBuffer: 64 * 1024 * 1024 }, (error, _stdout, stderr) =>
      error ? reject(new Error(`curl failed: ${error.message}\n${stderr.slice(0, 2000)}`)) : resolve({ stderr }),
    );
    children.add(child);
    child.on('exit', () => children.delete(child));
  });
  const wallMs = Date.now() - started;
  const m = /CPU ([\d.]+) ([\d.]+)/.exec(stderr);
  let count = 0;
  let bytes = 0;
  for (const name of await readdir(dir)) {
    count++;
    bytes += (await stat(path.join(dir, name))).size;
  }
  await rm(config, { force: true });
  return { wallMs, cpuMs: m ? (Number(m[1]) + Number(m[2])) * 1000 : NaN, files: count, bytes };
}

// ---- the run ---------------------------------------------------------------------------

const benchStarted = Date.now();
const tmp = await mkdtemp(path.join(process.env.AIRLIFT_TMPDIR ?? os.tmpdir(), 'airlift-bench-attachments-'));
let server: Awaited<ReturnType<typeof startThrowawayCluster>> | null = null;
const emulators: EmulatorChild[] = [];
const stopAll = async () => {
  for (const e of emulators.splice(0)) await e.stop().catch(() => undefined);
  for (const c of children) c.kill('SIGTERM');
};
process.once('SIGINT', () => {
  void stopAll().finally(() => rm(tmp, { recursive: true, force: true }).finally(() => process.exit(130)));
});
let failed = false;
/** curl's throughput in part 1, MB/s (what any downloader reaches here). */
let curlMbps: number | null = null;
try {
  server = await startThrowawayCluster();
  const rootUrl = server.rootUrl;
  console.log(`Attachment benchmarks: ${os.cpus().length} cores (load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} at the start), temp files in ${tmp}`);
  console.log(`pulls run ${process.env.SMALL_HEAP === '0' ? 'WITHOUT' : 'with'} the CLI's V8 --optimize-for-size (bin/small-heap.js${process.env.SMALL_HEAP === '0' ? ', SMALL_HEAP=0' : '; SMALL_HEAP=0 to leave it out'})`);

  // ---- 1. download throughput ---------------------------------------------------------
  if (PARTS.has('1')) {
    const partStarted = Date.now();
    console.log(`\n1. Download throughput: ${fmt(FILES)} attachments of 200 KB to 5 MB (log-uniform), content host answering after ${CONTENT_LATENCY_MS} ms, ${CONCURRENCY} at once`);
    const e = await startEmulatorChild({
      seed: 11, registrations: FILES_REGISTRATIONS, requestsPerSecond: 0, latencyMs: 0, contentLatencyMs: CONTENT_LATENCY_MS,
      files: { count: FILES, minBytes: MIN_BYTES, maxBytes: MAX_BYTES },
    });
    emulators.push(e);
    console.log(`   base: ${fmt(FILES_REGISTRATIONS)} registrations holding ${fmt(e.files)} files, ${gb(e.bytes)} (mean ${(mb(e.bytes) / e.files).toFixed(2)} MB)`);

    // baseline: curl --parallel, fresh URLs read through the API first
    const listed = await listAttachments(e);
    await e.call('resetStats');
    const curlDir = path.join(tmp, 'curl');
    let emuCpu = await emulatorCpuMs(e);
    let ticks = await cpuTicks();
    const curl = await curlAll(listed, curlDir, CONCURRENCY);
    const curlTicks = cpuSince(ticks, await cpuTicks());
    const curlEmuCpu = (await emulatorCpuMs(e)) - emuCpu;
    const curlWindow = await e.call<Window>('window');
    const curlWindowMs = curlWindow.first && curlWindow.last ? curlWindow.last - curlWindow.first : curl.wallMs;
    await rm(curlDir, { recursive: true, force: true });
    curlMbps = mb(curl.bytes) / (curl.wallMs / 1000);
    console.log(`   baseline: curl --parallel --parallel-max ${CONCURRENCY}: ${fmt(curl.files)} files, ${gb(curl.bytes)} in ${sec(curl.wallMs)} = ${mbps(curl.bytes, curl.wallMs)}`);
    console.log(`      CPU: curl ${sec(curl.cpuMs)}, emulator ${sec(curlEmuCpu)}; ${curlTicks}`);
    if (curl.files !== e.files || curl.bytes !== e.bytes) console.log(`      !! curl wrote ${curl.files} files / ${curl.bytes} bytes, the base holds ${e.files} / ${e.bytes}`);

    // airlift: a full pull with files (no API rate limit: the listing is not what is measured)
    await e.call('resetStats');
    const dbUrl = await freshDatabase(rootUrl, 'bench_files');
    const storeDir = path.join(tmp, 'store-1');
    emuCpu = await emulatorCpuMs(e);
    ticks = await cpuTicks();
    const pull = await runPullChild({ url: dbUrl, endpointUrl: e.url, token: e.token, baseId: e.baseId, requestsPerSecond: 10_000, files: { dir: storeDir, concurrency: CONCURRENCY } });
    const pullTicks = cpuSince(ticks, await cpuTicks());
    const pullEmuCpu = (await emulatorCpuMs(e)) - emuCpu;
    const w = await e.call<Window>('window');
    const stats = await e.call<Stats>('stats');
    const bytes = pull.files?.bytes ?? 0;
    const listMs = pull.timings.reduce((s, t) => s + Number(t.list_ms ?? 0), 0);
    const phaseMs = w.first && w.last ? w.last - w.first : NaN;
    console.log(`   airlift, full pull with files: ${fmt(pull.files?.downloaded ?? 0)} files, ${gb(bytes)} in ${sec(pull.wallMs)} = ${mbps(bytes, pull.wallMs)} (${fmt(Number(pull.run.fetched))} records; listing ${sec(listMs)}; ${pull.files?.failed ?? '?'} failed, ${pull.files?.retries ?? '?'} retries)`);
    console.log(`      download phase (content host's first request to last byte): ${sec(phaseMs)} = ${mbps(stats.contentBytes, phaseMs)}, starting ${sec(w.first! - pull.startedAt)} into the pull, ending ${sec(pull.startedAt + pull.wallMs - w.last!)} before its end`);
    console.log(`      CPU: pulling process ${sec(pull.cpuUserMs + pull.cpuSystemMs)} (user ${sec(pull.cpuUserMs)}, system ${sec(pull.cpuSystemMs)}), emulator ${sec(pullEmuCpu)}; ${pullTicks}; pull peak RSS ${fmt(pull.vmHwmKb / 1024)} MB`);
    console.log(`   => airlift at ${((100 * curl.wallMs) / pull.wallMs).toFixed(0)}% of curl's throughput, whole pull against curl's wall time (target: at least 80%)`);
    console.log(`   => download phase at ${((100 * curlWindowMs) / phaseMs).toFixed(0)}% of curl's, each timed at the content host (curl: ${sec(curlWindowMs)})`);
    const check = await checkStoredFiles(dbUrl, storeDir);
    console.log(`   correctness: ${fmt(check.good)} of ${fmt(check.rows)} attachment rows have the expected SHA-256 and their file in the store, ${check.bad.length} wrong (of ${fmt(e.files)} in the base; checked in ${sec(check.ms)})`);
    for (const b of check.bad.slice(0, 5)) console.log(`      !! ${b}`);
    if (check.bad.length || check.rows !== e.files) failed = true;
    await rm(storeDir, { recursive: true, force: true });
    await e.stop();
    emulators.splice(emulators.indexOf(e), 1);
    console.log(`   (part 1 took ${sec(Date.now() - partStarted)})`);
  }

  // ---- 2. records/s with and without files, rate-limited -----------------------------
  if (PARTS.has('2')) {
    const partStarted = Date.now();
    console.log(`\n2. Full pull of ${fmt(PULL_REGISTRATIONS)} registrations at 5 requests/s, 150 ms per request, with and without files (content host ${CONTENT_LATENCY_MS} ms, ${CONCURRENCY} downloads at once)`);
    const e = await startEmulatorChild({ seed: 8, registrations: PULL_REGISTRATIONS, requestsPerSecond: 5, latencyMs: 150, contentLatencyMs: CONTENT_LATENCY_MS });
    emulators.push(e);
    console.log(`   base: its generated attachments, ${fmt(e.files)} files, ${gb(e.bytes)}`);
    const results: Array<{ label: string; pull: PullResult; stats: Stats; window: Window; emuCpuMs: number; ticks: string; attempt: number }> = [];
    for (const withFiles of [false, true]) {
      // a 429 costs a 30 s penalty, which then decides the run's records/s:
      // such a run (timing jitter on a loaded machine) is repeated, twice at most
      for (let attempt = 1; ; attempt++) {
        await e.call('resetStats');
        const name = `${withFiles ? 'bench_rated_files' : 'bench_rated'}_${attempt}`;
        const dbUrl = await freshDatabase(rootUrl, name);
        const storeDir = path.join(tmp, `store-2-${attempt}`);
        const emuCpu = await emulatorCpuMs(e);
        const ticks = await cpuTicks();
        const pull = await runPullChild({ url: dbUrl, endpointUrl: e.url, token: e.token, baseId: e.baseId, requestsPerSecond: 5, files: withFiles ? { dir: storeDir, concurrency: CONCURRENCY } : null });
        const result = { label: withFiles ? 'with files' : 'without files', pull, stats: await e.call<Stats>('stats'), window: await e.call<Window>('window'), emuCpuMs: (await emulatorCpuMs(e)) - emuCpu, ticks: cpuSince(ticks, await cpuTicks()), attempt };
        if (withFiles) {
          const check = await checkStoredFiles(dbUrl, storeDir);
          console.log(`   correctness: ${fmt(check.good)} of ${fmt(check.rows)} attachment rows have the expected SHA-256 and their file in the store (checked in ${sec(check.ms)})`);
          if (check.bad.length || check.rows !== e.files) failed = true;
          await rm(storeDir, { recursive: true, force: true });
        }
        // let the emulator's one-second window pass before the next pull
        await new Promise((r) => setTimeout(r, 1500));
        if (result.stats.rateLimited && attempt < 3) {
          console.log(`   (${result.label}, attempt ${attempt}: ${result.stats.rateLimited} requests answered 429, ${fmt(Number(pull.run.fetched))} records in ${sec(pull.wallMs)}: run again)`);
          continue;
        }
        results.push(result);
        break;
      }
    }
    const rate = (p: PullResult) => (Number(p.run.fetched) * 1000) / p.wallMs;
    const listRate = (p: PullResult) => (Number(p.run.fetched) * 1000) / p.timings.reduce((s, t) => s + Number(t.list_ms ?? 0), 0);
    for (const r of results) {
      const f = r.pull.files;
      const listEnd = Math.max(...r.pull.timings.map((t) => Number(t.time ?? 0))) - r.pull.startedAt;
      console.log(
        `   ${r.label}${r.attempt > 1 ? ` (attempt ${r.attempt})` : ""}: ${fmt(Number(r.pull.run.fetched))} records in ${sec(r.pull.wallMs)} = ${fmt(rate(r.pull))} records/s (listing alone ${fmt(listRate(r.pull))} records/s); ${r.stats.requests} API requests, ${r.stats.rateLimited} answered 429` +
          (f ? `; ${fmt(f.downloaded)} files, ${gb(f.bytes)} downloaded (${f.failed} failed), downloads ${sec(r.window.last! - r.window.first!)} from ${sec(r.window.first! - r.pull.startedAt)} to ${sec(r.window.last! - r.pull.startedAt)} into the pull` : ''),
      );
      console.log(`      CPU: pulling process ${sec(r.pull.cpuUserMs + r.pull.cpuSystemMs)}, emulator ${sec(r.emuCpuMs)}; ${r.ticks}; pull peak RSS ${fmt(r.pull.vmHwmKb / 1024)} MB`);
      if (f && r.window.last) console.log(`      the last table was settled ${sec(listEnd)} into the pull; the downloads went on ${sec(Math.max(0, r.window.last - r.pull.startedAt - listEnd))} after it, at ${mbps(f.bytes, r.window.last - r.window.first!)} over their window`);
      if (r.stats.rateLimited) console.log(`      !! ${r.stats.rateLimited} requests answered 429: each costs a 30 s penalty, so this run's records/s is not comparable`);
    }
    const [without, withF] = results;
    console.log(`   => with files at ${((100 * rate(withF!.pull)) / rate(without!.pull)).toFixed(0)}% of the records/s without (target: at least 90%); listing alone at ${((100 * listRate(withF!.pull)) / listRate(without!.pull)).toFixed(0)}%`);
    console.log(
      `   => to download this base's ${gb(e.bytes)} of files within the ${sec(without!.pull.wallMs)} of the pull without files, they must come at ${mbps(e.bytes, without!.pull.wallMs)}` +
        (curlMbps ? `; curl --parallel managed ${curlMbps.toFixed(0)} MB/s in part 1, so about ${((100 * without!.pull.wallMs) / Math.max(without!.pull.wallMs, (mb(e.bytes) / curlMbps) * 1000)).toFixed(0)}% at best for a downloader as fast as curl on this machine` : ''),
    );
    await e.stop();
    emulators.splice(emulators.indexOf(e), 1);
    console.log(`   (part 2 took ${sec(Date.now() - partStarted)})`);
  }

  // ---- 3. peak memory with 100 MB files ---------------------------------------------
  if (PARTS.has('3')) {
    const partStarted = Date.now();
    console.log(`\n3. Peak memory of a pull with ${BIG_FILES} attachments of 100 MB among ordinary ones (${fmt(BIG_REGISTRATIONS)} registrations, ${CONCURRENCY} downloads at once)`);
    const e = await startEmulatorChild({ seed: 12, registrations: BIG_REGISTRATIONS, requestsPerSecond: 0, latencyMs: 0, contentLatencyMs: CONTENT_LATENCY_MS, big: { count: BIG_FILES, bytes: BIG_BYTES } });
    emulators.push(e);
    console.log(`   base: ${fmt(e.files)} files, ${gb(e.bytes)}, ${e.big.length} of them of ${fmt(BIG_BYTES)} bytes`);
    const dbUrl = await freshDatabase(rootUrl, 'bench_big');
    const storeDir = path.join(tmp, 'store-3');
    const pull = await runPullChild({ url: dbUrl, endpointUrl: e.url, token: e.token, baseId: e.baseId, requestsPerSecond: 10_000, files: { dir: storeDir, concurrency: CONCURRENCY } });
    console.log(`   pull: ${fmt(Number(pull.run.fetched))} records, ${fmt(pull.files?.downloaded ?? 0)} files, ${gb(pull.files?.bytes ?? 0)} in ${sec(pull.wallMs)} (${pull.files?.failed ?? '?'} failed)`);
    console.log(`   => peak memory of the pulling process: ${fmt(pull.vmHwmKb / 1024)} MB (${fmt(pull.hwmBeforeKb / 1024)} MB before the pull; target: under 300 MB)`);
    const sql = connect(dbUrl, { max: 1 });
    for (const b of e.big) {
      const expected = sha256OfAttachment(b.id, b.size);
      const [row] = await sql<{ sha256: string | null; store_key: string | null }[]>`select sha256, store_key from app.attachments where airtable_attachment_id = ${b.id} and deleted_at is null`;
      const onDisk = row?.store_key ? await sha256OfFile(path.join(storeDir, row.store_key)).catch(() => 'unreadable') : 'not stored';
      const ok = row?.sha256 === expected && onDisk === expected;
      if (!ok) failed = true;
      console.log(`   ${b.id} (100 MB): ${ok ? 'stored with the expected SHA-256 (recorded and read back from the store)' : `!! expected ${expected}, recorded ${row?.sha256 ?? 'none'}, file ${onDisk}`}`);
    }
    await sql.end();
    const check = await checkStoredFiles(dbUrl, storeDir);
    console.log(`   correctness: ${fmt(check.good)} of ${fmt(check.rows)} attachment rows have the expected SHA-256 and their file in the store (checked in ${sec(check.ms)})`);
    if (check.bad.length || check.rows !== e.files) failed = true;
    await rm(storeDir, { recursive: true, force: true });
    await e.stop();
    emulators.splice(emulators.indexOf(e), 1);
    console.log(`   (part 3 took ${sec(Date.now() - partStarted)})`);
  }
  console.log(`\nAll parts took ${sec(Date.now() - benchStarted)}${failed ? '; SOME FILES WERE WRONG (see above)' : ''}`);
} finally {
  await stopAll();
  await server?.stop().catch(() => undefined);
  await rm(tmp, { recursive: true, force: true });
}
if (failed) process.exitCode = 1;
