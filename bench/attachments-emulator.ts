/**
 * The Airtable emulator of bench/attachments.ts, in a process of its own,
 * as Airtable and its content host are remote: the CPU spent serving files
 * must not be the pull's. Started with one JSON argument; answers over IPC.
 *
 *   {seed, registrations, requestsPerSecond, latencyMs, contentLatencyMs,
 *    files?: {count, minBytes, maxBytes}, big?: {count, bytes}}
 *
 * The base is generateDeltaBase's. With `files`, every attachment cell is
 * emptied and the registrations' Documents cells are given exactly `count`
 * attachments whose sizes are spread log-uniformly over [minBytes, maxBytes]
 * (seeded, so repeatable). With `big`, the first Documents attachment of
 * the first `count` registrations that have one is declared `bytes` long.
 * The content host serves synthetic bytes of exactly the declared size.
 *
 * Messages in: {id, op: 'stats' | 'resetStats' | 'window' | 'cpu' | 'stop'}.
 * Messages out: {ready: {url, token, baseId, files, bytes, big: [{id, size}]}}
 * once, then {id, result} or {id, error}. 'window' answers when the content
 * host served its first and last bytes since the last 'resetStats' (epoch
 * ms, sampled every 10 ms): the download phase seen from the server.
 */
import { startEmulator } from '../tools/emulator/emulator.ts';
import { baseIdForSeed, generateDeltaBase } from '../tools/generator/generator.ts';

interface Config {
  seed: number;
  registrations: number;
  requestsPerSecond: number;
  latencyMs: number;
  contentLatencyMs: number;
  files?: { count: number; minBytes: number; maxBytes: number };
  big?: { count: number; bytes: number };
}
const config = JSON.parse(process.argv[2] ?? '{}') as Config;

/** mulberry32: a small seeded generator. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const baseId = baseIdForSeed(config.seed);
const base = generateDeltaBase({ seed: config.seed, registrations: config.registrations });
const registrations = base.tables.find((t) => t.name === 'Registrations')!;
const documents = registrations.fields.find((f) => f.type === 'multipleAttachments')!;
type Cell = Array<{ id: string; url: string; filename: string; size: number; type: string }>;
const cellOf = (fields: Record<string, unknown>, name: string, id: string) => (fields[name] ?? fields[id]) as Cell | undefined;

if (config.files) {
  const random = seededRandom(config.seed * 7919 + 1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const ids = new Set<string>();
  const newId = () => {
    for (;;) {
      let id = 'att';
      for (let i = 0; i < 14; i++) id += alphabet[Math.floor(random() * alphabet.length)];
      if (!ids.has(id)) {
        ids.add(id);
        return id;
      }
    }
  };
  for (const table of base.tables) {
    for (const f of table.fields.filter((x) => x.type === 'multipleAttachments')) {
      for (const r of table.records) {
        delete r.fields[f.name];
        delete r.fields[f.id];
      }
    }
  }
  const { count, minBytes, maxBytes } = config.files;
  const perRecord = Math.ceil(count / Math.max(1, registrations.records.length));
  let made = 0;
  for (const r of registrations.records) {
    if (made >= count) break;
    const cell: Cell = [];
    for (let k = 0; k < perRecord && made < count; k++, made++) {
      const size = Math.round(Math.exp(Math.log(minBytes) + random() * (Math.log(maxBytes) - Math.log(minBytes))));
      cell.push({ id: newId(), url: 'https://v5.airtableusercontent.com/placeholder', filename: `document-${made + 1}.pdf`, size, type: 'application/pdf' });
    }
    r.fields[documents.name] = cell;
  }
  if (made < count) throw new Error(`only ${made} of ${count} attachments placed: too few registrations`);
}

const big: Array<{ id: string; size: number }> = [];
if (config.big) {
  for (const r of registrations.records) {
    if (big.length >= config.big.count) break;
    const cell = cellOf(r.fields, documents.name, documents.id);
    if (!cell?.length) continue;
    cell[0] = { ...cell[0]!, size: config.big.bytes, filename: `big-${big.length + 1}.pdf` };
    big.push({ id: cell[0].id, size: config.big.bytes });
  }
}

let files = 0;
let bytes = 0;
for (const table of base.tables) {
  for (const f of table.fields.filter((x) => x.type === 'multipleAttachments')) {
    for (const r of table.records) {
      for (const a of cellOf(r.fields, f.name, f.id) ?? []) {
        files++;
        bytes += a.size;
      }
    }
  }
}

const emulator = await startEmulator({
  bases: { [baseId]: base },
  rateLimit: config.requestsPerSecond > 0 ? { requestsPerSecond: config.requestsPerSecond, penaltyMs: 30_000 } : false,
  latencyMs: config.latencyMs,
  attachmentContent: true,
  contentLatencyMs: config.contentLatencyMs,
});

// the content host's busy window, sampled
let first: number | null = null;
let last: number | null = null;
let lastBytes = 0;
const sampler = setInterval(() => {
  const s = emulator.stats;
  if (s.contentRequests > 0 && first === null) first = Date.now();
  if (s.contentBytes !== lastBytes) {
    lastBytes = s.contentBytes;
    last = Date.now();
  }
}, 10);

type Message = { id: number; op: string };
process.on('message', async (m: Message) => {
  try {
    let result: unknown;
    if (m.op === 'stats') result = emulator.stats;
    else if (m.op === 'resetStats') {
      emulator.resetStats();
      first = last = null;
      lastBytes = 0;
    } else if (m.op === 'window') result = { first, last };
    else if (m.op === 'cpu') result = process.cpuUsage();
    else if (m.op === 'stop') {
      clearInterval(sampler);
      await emulator.stop();
      process.send!({ id: m.id, result: null }, () => process.exit(0));
      return;
    } else throw new Error(`unknown operation ${m.op}`);
    process.send!({ id: m.id, result });
  } catch (error) {
    process.send!({ id: m.id, error: (error as Error).message });
  }
});
// the benchmark gone (killed, crashed): nothing to serve
process.on('disconnect', () => process.exit(0));
process.send!({ ready: { url: emulator.url, token: emulator.token, baseId, files, bytes, big } });
