/**
 * Large exports for the files source's benchmarks and memory tests: N rows
 * with the shape of the wallet app's opportunities (id, title, owner wallet,
 * amount as a decimal string, currency, status, opens_on, closes_on, tags
 * separated by ';'), written as CSV, JSON Lines or a JSON array.
 *
 * Deterministic: same rows, seed and format -> byte-identical file (seeded
 * mulberry32). Fast: rows are built as text a few thousand at a time and
 * written with backpressure (await 'drain' when write() says so), so memory
 * stays flat however many rows are asked for.
 *
 *   tsx tools/generator/files.ts --rows 1000000 --out /tmp/x.csv [--format csv|jsonl|json] [--seed 1] [--users-out /tmp/users.json]
 *
 * Owners are drawn from a pool of 4,096 wallet addresses that no users
 * export holds, unless --users-out writes one holding them all (a JSON
 * object keyed by address, as the wallet app's users.json): without it, a
 * pull of the rows lands every owner as a dangling link (a field problem).
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export type GeneratedFormat = 'csv' | 'jsonl' | 'json';

export interface GenerateOptions {
  rows: number;
  out: string;
  /** Default from the extension of `out` (.csv, .jsonl/.ndjson, .json). */
  format?: GeneratedFormat;
  seed?: number;
}

export interface GeneratedFile {
  path: string;
  format: GeneratedFormat;
  rows: number;
  bytes: number;
}

export const OPPORTUNITY_COLUMNS = ['id', 'title', 'owner', 'amount', 'currency', 'status', 'opens_on', 'closes_on', 'tags'] as const;

const ADJECTIVES = ['Seed', 'Bridge', 'Growth', 'Community', 'Green', 'Solar', 'Urban', 'Coastal', 'Artisan', 'Open-source', 'Rural', 'Student'];
const NOUNS = ['grant', 'loan', 'round', 'bounty', 'pool', 'fund', 'residency', 'challenge', 'fellowship', 'pilot'];
const CURRENCIES = ['USD', 'EUR', 'USDC', 'ETH', 'GBP'];
const STATUSES = ['draft', 'open', 'open', 'open', 'funded', 'closed', 'cancelled'];
const TAGS = ['climate', 'defi', 'education', 'health', 'art', 'infra', 'dao', 'mobile', 'food', 'energy', 'water', 'housing'];
const HEX = '0123456789abcdef';

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function formatFromPath(out: string): GeneratedFormat {
  const ext = path.extname(out).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.json') return 'json';
  throw new Error(`cannot tell the format from ${JSON.stringify(out)}: use .csv, .jsonl or .json, or --format`);
}

function csvCell(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Cents as a decimal string with two places (toFixed is several times slower). */
function money(cents: number): string {
  const rest = cents % 100;
  return `${(cents - rest) / 100}.${rest < 10 ? '0' : ''}${rest}`;
}

/** A pool of owners (wallet addresses), so that owners repeat like real data: the first draws of the seed's stream. */
function ownerPool(random: () => number): string[] {
  return Array.from({ length: 4096 }, () => {
    let hex = '0x';
    for (let i = 0; i < 40; i++) hex += HEX[Math.floor(random() * 16)];
    return hex;
  });
}

/** The wallet addresses the rows of a seed take their owners from (4,096, lowercase hex). */
export function opportunityOwners(seed = 1): string[] {
  return ownerPool(mulberry32(seed));
}

/**
 * A users export (a JSON object keyed by wallet address, as the wallet
 * app's users.json) holding every owner of a seed's rows, so that the
 * rows' owner links resolve instead of landing as dangling links.
 */
export async function writeOwnersUsersFile(out: string, seed = 1): Promise<number> {
  const owners = opportunityOwners(seed);
  const users = Object.fromEntries(owners.map((address, i) => [address, { name: `Owner ${i + 1}`, email: `owner${i + 1}@example.org`, role: 'creator' }]));
  const stream = createWriteStream(out);
  stream.end(JSON.stringify(users, null, 1) + '\n');
  await once(stream, 'finish');
  return owners.length;
}

/** A row generator: deterministic for its seed. */
export function opportunityRows(seed = 1) {
  const random = mulberry32(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)];
  const owners = ownerPool(random);
  // Dates as text, computed once: opening within two years of 2024-01-01, closing 7 to 126 days later.
  const day0 = Date.UTC(2024, 0, 1);
  const days = Array.from({ length: 730 + 127 }, (_, i) => new Date(day0 + i * 86_400_000).toISOString().slice(0, 10));
  return (index: number) => {
    const opens = Math.floor(random() * 730);
    const closes = opens + 7 + Math.floor(random() * 120);
    const tagCount = Math.floor(random() * 4);
    let tags = '';
    for (let i = 0; i < tagCount; i++) {
      const tag = pick(TAGS);
      if (!tags.split(';').includes(tag)) tags = tags === '' ? tag : `${tags};${tag}`;
    }
    const adjective = pick(ADJECTIVES);
    return {
      id: `opp-${String(index + 1).padStart(8, '0')}`,
      title: random() < 0.05 ? `${adjective} ${pick(NOUNS)}, "phase ${1 + Math.floor(random() * 3)}"` : `${adjective} ${pick(NOUNS)} #${index + 1}`,
      owner: owners[Math.floor(random() * owners.length)],
      amount: money(Math.floor(random() * 50_000_000)),
      currency: pick(CURRENCIES),
      status: pick(STATUSES),
      opens_on: days[opens],
      closes_on: days[closes],
      tags,
    };
  };
}
/** Streams `rows` opportunity rows to `out`. */
export async function generateOpportunitiesFile(options: GenerateOptions): Promise<GeneratedFile> {
  const format = options.format ?? formatFromPath(options.out);
  const row = opportunityRows(options.seed ?? 1);
  const stream = createWriteStream(options.out);
  let failure: Error | null = null;
  stream.on('error', (error) => (failure ??= error));
  // events.once rejects when 'error' comes first; an error already emitted is rethrown here.
  const write = async (text: string) => {
    if (failure) throw failure;
    if (!stream.write(text)) await once(stream, 'drain');
  };

  if (format === 'csv') await write(OPPORTUNITY_COLUMNS.join(',') + '\n');
  if (format === 'json') await write('[\n');
  const BLOCK = 2000;
  for (let start = 0; start < options.rows; start += BLOCK) {
    let text = '';
    const end = Math.min(options.rows, start + BLOCK);
    for (let i = start; i < end; i++) {
      const r = row(i);
      if (format === 'csv') {
        text += `${r.id},${csvCell(r.title)},${r.owner},${r.amount},${r.currency},${r.status},${r.opens_on},${r.closes_on},${r.tags}\n`;
      } else {
        const line = JSON.stringify(r);
        text += format === 'jsonl' ? line + '\n' : (i === 0 ? '' : ',\n') + line;
      }
    }
    await write(text);
  }
  if (format === 'json') await write('\n]\n');
  if (failure) throw failure;
  stream.end();
  await once(stream, 'finish');
  return { path: options.out, format, rows: options.rows, bytes: stream.bytesWritten };
}

/** Writes rows until the file is at least `bytes` long (for memory tests sized in MB). */
export async function generateOpportunitiesFileOfSize(options: Omit<GenerateOptions, 'rows'> & { bytes: number }): Promise<GeneratedFile> {
  // About 150 bytes a row in every format; one pass, then top up if short.
  const format = options.format ?? formatFromPath(options.out);
  const perRow = format === 'csv' ? 140 : 230;
  let rows = Math.ceil(options.bytes / perRow);
  for (;;) {
    const file = await generateOpportunitiesFile({ ...options, format, rows });
    if (file.bytes >= options.bytes) return file;
    rows = Math.ceil(rows * (options.bytes / file.bytes) * 1.02);
  }
}

async function main(argv: string[]) {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${JSON.stringify(arg)}`);
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${arg} needs a value`);
    args.set(arg.slice(2), value);
    i++;
  }
  const rows = Number(args.get('rows') ?? '1000');
  const out = args.get('out');
  if (!out || !Number.isInteger(rows) || rows < 0) {
    throw new Error('usage: tsx tools/generator/files.ts --rows N --out FILE [--format csv|jsonl|json] [--seed N] [--users-out FILE]');
  }
  const format = args.get('format') as GeneratedFormat | undefined;
  if (format && !['csv', 'jsonl', 'json'].includes(format)) throw new Error(`unknown format ${JSON.stringify(format)}`);
  const started = performance.now();
  const seed = Number(args.get('seed') ?? '1');
  const file = await generateOpportunitiesFile({ rows, out, format, seed });
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`${file.path}: ${file.rows} rows, ${file.format}, ${(file.bytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(2)} s\n`);
  const usersOut = args.get('users-out');
  if (usersOut) process.stdout.write(`${usersOut}: ${await writeOwnersUsersFile(usersOut, seed)} users, every owner of the rows\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((error: Error) => {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  });
}
