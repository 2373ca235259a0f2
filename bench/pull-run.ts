/**
 * One pull of a files or SQLite mapping in a process of its own, so that
 * its peak memory is the pull's alone (bench/files-load.ts and
 * bench/sqlite-load.ts run it). Prints one JSON
 * line: the wall time, the process's peak resident set
 * (process.resourceUsage().maxRSS), the run's counts and the per-table
 * timings the pull logs at debug level.
 *
 *   tsx bench/pull-run.ts '{"url": "...", "mapping": "/tmp/x/mapping.json", "tables": ["wallet_opportunities"]}'
 */
// first, as in bin/airlift.js: the pull runs with the CLI's heap settings
import '../bin/small-heap.js';
import { Writable } from 'node:stream';
import pino from 'pino';
import { connect } from '../src/db/database.ts';
import { loadMapping } from '../src/mapping.ts';
import { urlWithSession } from '../src/pipeline/context.ts';
import { runPull } from '../src/pipeline/pull.ts';
import { FilesSource } from '../src/sources/files/source.ts';
import type { Source } from '../src/sources/source.ts';
import { SqliteSource } from '../src/sources/sqlite/source.ts';

const input = JSON.parse(process.argv[2]!) as { url: string; mapping: string; tables?: string[]; mode?: 'full' | 'incremental' };
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
const source: Source = mapping.source.kind === 'sqlite' ? new SqliteSource(mapping.source.path) : new FilesSource((mapping.source as { path: string }).path);
const sql = connect(urlWithSession(input.url, 'airlift_sync', { 'airlift.actor': 'bench' }), { max: 4 });
try {
  const started = performance.now();
  const summary = await runPull({
    sql, source, mapping, mode: input.mode ?? 'full', tables: input.tables,
    actor: 'bench', overlapSeconds: 60, log,
  });
  const wallMs = performance.now() - started;
  process.stdout.write(JSON.stringify({ wallMs, maxRssKb: process.resourceUsage().maxRSS, run: summary.run, tables: summary.tables, timings }) + '\n');
} finally {
  source.close?.();
  await sql.end({ timeout: 5 });
}
