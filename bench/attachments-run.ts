/**
 * One full pull of an emulated Airtable base in a process of its own, so
 * that its peak memory (VmHWM) and CPU are the pull's alone (run by
 * bench/attachments.ts). With `files`, attachment files are downloaded into
 * a LocalFileStore at that directory. Prints one JSON line: the wall time,
 * peak resident set, CPU time, the run's counts, the download summary and
 * the per-table timings the pull logs at debug level.
 *
 *   tsx bench/attachments-run.ts '{"url": "...", "endpointUrl": "...", "token": "...", "baseId": "...",
 *                                  "requestsPerSecond": 5, "files": {"dir": "/tmp/x", "concurrency": 16}}'
 *
 * SMALL_HEAP=0 leaves out bin/small-heap.js (V8's --optimize-for-size, which
 * the CLI sets): on the download path it costs about a third more CPU.
 */
// first, as in bin/airlift.js: the pull runs with the CLI's heap settings
// (V8's --optimize-for-size), unless SMALL_HEAP=0 (to see what they cost)
const smallHeap = '../bin/small-heap.js';
if (process.env.SMALL_HEAP !== '0') await import(smallHeap);
// the rest loaded after it (as in bin/airlift.js, the flag then covers their compilation too)
const { readFileSync } = await import('node:fs');
const { Writable } = await import('node:stream');
const { default: pino } = await import('pino');
const { connect } = await import('../src/db/database.ts');
const { LocalFileStore } = await import('../src/files/local-store.ts');
const { loadMapping } = await import('../src/mapping.ts');
const { urlWithSession } = await import('../src/pipeline/context.ts');
const { runPull } = await import('../src/pipeline/pull.ts');
const { AirtableClient } = await import('../src/sources/airtable/client.ts');
const { AirtableSource } = await import('../src/sources/airtable/source.ts');

const input = JSON.parse(process.argv[2]!) as {
  url: string;
  endpointUrl: string;
  token: string;
  baseId: string;
  requestsPerSecond: number;
  files: { dir: string; concurrency: number } | null;
};
const timings: Array<Record<string, unknown>> = [];
const stream = new Writable({
  write(chunk, _enc, done) {
    for (const line of String(chunk).split('\n')) {
      if (line.includes('"table timings"')) timings.push(JSON.parse(line));
      else if (line.includes('"level":50') || line.includes('"level":40')) process.stderr.write(line.slice(0, 2000) + '\n');
    }
    done();
  },
});
const log = pino({ level: 'debug' }, stream);
const vmHwmKb = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
const mapping = await loadMapping();
const client = new AirtableClient({ token: input.token, baseId: input.baseId, endpointUrl: input.endpointUrl, requestsPerSecond: input.requestsPerSecond });
const sql = connect(urlWithSession(input.url, 'airlift_sync', { 'airlift.actor': 'bench' }), { max: 4 });
try {
  const store = input.files ? await LocalFileStore.open(input.files.dir) : null;
  const hwmBefore = vmHwmKb();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const startedAt = Date.now();
  const summary = await runPull({
    sql, source: new AirtableSource(client), mapping, mode: 'full', actor: 'bench', overlapSeconds: 60, log,
    files: store ? { store, concurrency: input.files!.concurrency } : null,
  });
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  process.stdout.write(
    JSON.stringify({ startedAt, wallMs, vmHwmKb: vmHwmKb(), hwmBeforeKb: hwmBefore, cpuUserMs: cpu.user / 1000, cpuSystemMs: cpu.system / 1000, run: summary.run, files: summary.files ?? null, timings }) + '\n',
  );
} finally {
  await sql.end({ timeout: 5 });
}
