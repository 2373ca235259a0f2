/**
 * Files source readers: bounded memory and throughput on large exports.
 * Generates an opportunities export of FILES_MB megabytes (default 200) in
 * each format (CSV, JSON Lines, JSON array) with tools/generator/files.ts,
 * reads it with readFileRecords, and prints records, wall time, MB/s and the
 * peak growth of the process's resident set (sampled on every batch) over
 * its size before reading. Fails if a format's growth reaches
 * MAX_GROWTH_MB (default 100) or a record is rejected or missing.
 *
 *   npm run bench:files
 *   FILES_MB=1024 npm run bench:files        # the 1 GB case
 *   FILES_FORMATS=csv,jsonl npm run bench:files
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readFileRecords } from '../src/sources/files/read.ts';
import { generateOpportunitiesFileOfSize, type GeneratedFormat } from '../tools/generator/files.ts';

const megabytes = Number(process.env.FILES_MB ?? '200');
const maxGrowthMb = Number(process.env.MAX_GROWTH_MB ?? '100');
const formats = (process.env.FILES_FORMATS ?? 'csv,jsonl,json').split(',') as GeneratedFormat[];

const dir = await mkdtemp(path.join(os.tmpdir(), 'airlift-files-bench-'));
let failed = false;
try {
  for (const format of formats) {
    const file = await generateOpportunitiesFileOfSize({ out: path.join(dir, `opportunities.${format}`), bytes: megabytes * 1024 * 1024, seed: 7 });
    const before = process.memoryUsage().rss;
    let peak = before;
    let records = 0;
    let rejects = 0;
    const started = performance.now();
    const cpu = process.cpuUsage();
    for await (const batch of readFileRecords({ file: file.path, key: 'id' }, { batchSize: 1000 })) {
      records += batch.records.length;
      rejects += batch.rejects.length;
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const growth = (peak - before) / 1024 / 1024;
    const mb = file.bytes / 1024 / 1024;
    process.stdout.write(
      `${format.padEnd(5)} ${mb.toFixed(0)} MB, ${records} records, ${rejects} rejects: ${seconds.toFixed(1)} s wall (${(mb / seconds).toFixed(1)} MB/s), ` +
        `${((used.user + used.system) / 1e6).toFixed(1)} s CPU, rss ${(before / 1048576).toFixed(0)} MB before, peak growth ${growth.toFixed(1)} MB\n`,
    );
    if (growth >= maxGrowthMb || rejects !== 0 || records !== file.rows) {
      process.stdout.write(`  FAILED: growth must stay under ${maxGrowthMb} MB and every one of ${file.rows} rows be read\n`);
      failed = true;
    }
    await rm(file.path);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
