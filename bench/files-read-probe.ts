/**
 * Reads one export with readFileRecords in a fresh process and prints, as
 * one line of JSON, the records and rejects read, the wall time and the
 * resident set before reading and at its peak (sampled on every batch).
 * With --expose-gc it also collects garbage every 50 batches and reports
 * the live heap (heapUsed right after a full collection) before reading and
 * at its peak: what the reader really holds, apart from how far V8 lets its
 * heap grow before collecting.
 * Run in a child process by bench/files-read.ts and test/files-read.test.ts,
 * so that the measure is not muddied by whatever the parent allocated.
 *
 *   node --expose-gc --import tsx bench/files-read-probe.ts FILE KEY
 */
import { readFileRecords } from '../src/sources/files/read.ts';

const [file, key = 'id'] = process.argv.slice(2);
if (!file) throw new Error('usage: node --import tsx bench/files-read-probe.ts FILE [KEY]');
const gc = (globalThis as { gc?: () => void }).gc;
const liveHeap = () => {
  gc?.();
  return process.memoryUsage().heapUsed;
};
const liveBefore = gc ? liveHeap() : null;
let livePeak = liveBefore;
const rssBefore = process.memoryUsage().rss;
let rssPeak = rssBefore;
let batches = 0;
let records = 0;
let rejects = 0;
const started = performance.now();
const cpu = process.cpuUsage();
for await (const batch of readFileRecords({ file, key })) {
  records += batch.records.length;
  rejects += batch.rejects.length;
  rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  if (gc && ++batches % 50 === 0) livePeak = Math.max(livePeak!, liveHeap());
}
const used = process.cpuUsage(cpu);
process.stdout.write(JSON.stringify({ records, rejects, seconds: (performance.now() - started) / 1000, cpuSeconds: (used.user + used.system) / 1e6, rssBefore, rssPeak, liveBefore, livePeak }) + '\n');
