/**
 * One pull of the legacy PostgreSQL example in a process of its own, so
 * that its peak memory is the pull's alone (bench/legacy-diff.ts runs it).
 * The source's URL is read from LEGACY_DATABASE_URL, as the mapping says.
 * Prints one JSON line: the wall time, the process's peak resident set
 * (process.resourceUsage().maxRSS), the run's counts and the per-table
 * timings the pull logs at debug level (plan_ms: the checksum pass and its
 * comparison; stage_ms: reading and staging; merge_ms; sweep_ms).
 *
 *   LEGACY_DATABASE_URL=... tsx bench/legacy-diff-run.ts '{"url": "...", "mapping": "...", "mode": "incremental"}'
 */
// first, as in bin/airlift.js: the pull runs with the CLI's heap settings
import '../bin/small-heap.js';
import { Writable } from 'node:stream';
import pino from 'pino';
import { connect } from '../src/db/database.ts';
import { loadMapping } from '../src/mapping.ts';
import { urlWithSession } from '../src/pipeline/context.ts';
import { runPull } from '../src/pipeline/pull.ts';
import { PostgresSource } from '../src/sources/postgres/source.ts';

const input = JSON.parse(process.argv[2]!) as { url: string; mapping: string; mode?: 'full' | 'incremental' };
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
const mapping = await loadMapping(input.mapping);
const source = await PostgresSource.open((mapping.source as { urlEnv: string }).urlEnv);
const sql = connect(urlWithSession(input.url, 'airlift_sync', { 'airlift.actor': 'bench' }), { max: 4 });
try {
  const started = performance.now();
  const summary = await runPull({ sql, source, mapping, mode: input.mode ?? 'full', actor: 'bench', overlapSeconds: 60, log });
  const wallMs = performance.now() - started;
  process.stdout.write(JSON.stringify({ wallMs, maxRssKb: process.resourceUsage().maxRSS, run: summary.run, tables: summary.tables, timings }) + '\n');
} finally {
  await sql.end({ timeout: 5 });
  await source.close();
}
