/**
 * Files source readers: bounded memory and throughput on large exports.
 * Generates an opportunities export of FILES_MB megabytes (default 200) in
 * each format (CSV, JSON Lines, JSON array) with tools/generator/files.ts,
 * reads it with readFileRecords in a fresh child process
 * (bench/files-read-probe.ts), and prints records, wall and CPU time, MB/s
 * and the peak growth of the reader's resident set over its size before
 * reading, and of its live heap (heapUsed after a forced collection, every
 * 50 batches). Fails if a format's growth reaches MAX_GROWTH_MB (default 100) or
 * a row is rejected or missing.
 *
 *   npm run bench:files:read
 *   FILES_MB=1024 npm run bench:files:read   # the 1 GB case
 *   FILES_FORMATS=csv,jsonl npm run bench:files:read
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { probeRead } from './files-read-run.ts';
import { generateOpportunitiesFileOfSize, type GeneratedFormat } from '../tools/generator/files.ts';

const megabytes = Number(process.env.FILES_MB ?? '200');
const maxGrowthMb = Number(process.env.MAX_GROWTH_MB ?? '100');
const formats = (process.env.FILES_FORMATS ?? 'csv,jsonl,json').split(',') as GeneratedFormat[];

const dir = await mkdtemp(path.join(os.tmpdir(), 'airlift-files-bench-'));
let failed = false;
try {
  for (const format of formats) {
    const file = await generateOpportunitiesFileOfSize({ out: path.join(dir, `opportunities.${format}`), bytes: megabytes * 1024 * 1024, seed: 7 });
    const probe = await probeRead(file.path, 'id');
    const growth = (probe.rssPeak - probe.rssBefore) / 1048576;
    const live = (probe.livePeak! - probe.liveBefore!) / 1048576;
    const mb = file.bytes / 1048576;
    process.stdout.write(
      `${format.padEnd(5)} ${mb.toFixed(0)} MB, ${probe.records} records, ${probe.rejects} rejects: ${probe.seconds.toFixed(1)} s wall (${(mb / probe.seconds).toFixed(1)} MB/s), ` +
        `${probe.cpuSeconds.toFixed(1)} s CPU, rss ${(probe.rssBefore / 1048576).toFixed(0)} MB before, peak growth ${growth.toFixed(1)} MB, live heap growth ${live.toFixed(1)} MB\n`,
    );
    if (growth >= maxGrowthMb || probe.rejects !== 0 || probe.records !== file.rows) {
      process.stdout.write(`  FAILED: growth must stay under ${maxGrowthMb} MB and every one of ${file.rows} rows be read\n`);
      failed = true;
    }
    await rm(file.path);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
