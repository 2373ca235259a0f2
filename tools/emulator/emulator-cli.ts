/**
 * Runs the Airtable emulator on generated Delta data until SIGTERM/SIGINT.
 *
 *   npx tsx tools/emulator/emulator-cli.ts --registrations 50000 --seed 1 --port 0 --rps 5
 *
 * Prints one JSON line on stdout: {"url","baseId","token"}; a summary goes to stderr.
 *
 * Options: --registrations N (default 3000), --seed N (1), --port N (0 = any),
 * --rps N (5; 0 disables rate limiting), --penalty-ms N (30000),
 * --messiness X (0.02), --token T, --base-id appXXXXXXXXXXXXXX,
 * --latency-ms N (0), --offset-ttl-ms N (300000), --now ISO (generator clock;
 * default fixed 2026-11-01T00:00:00.000Z, 'real' for the current time),
 * --attachment-content (serve attachment files at signed, expiring URLs on
 * the emulator; generated files get synthetic bytes of their declared size),
 * --attachment-url-ttl-ms N (7200000: how long those URLs stay valid),
 * --content-latency-ms N (0: added to each download).
 */
import { parseArgs } from 'node:util';
import { startEmulator } from './emulator.ts';
import { baseIdForSeed, DEFAULT_NOW, generateDeltaBase } from '../generator/generator.ts';

function num(name: string, v: string | undefined, def: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) {
    process.stderr.write(`emulator: --${name} must be a non-negative number, got "${v}"\n`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      registrations: { type: 'string' },
      seed: { type: 'string' },
      port: { type: 'string' },
      rps: { type: 'string' },
      'penalty-ms': { type: 'string' },
      messiness: { type: 'string' },
      token: { type: 'string' },
      'base-id': { type: 'string' },
      'latency-ms': { type: 'string' },
      'offset-ttl-ms': { type: 'string' },
      now: { type: 'string' },
      'attachment-content': { type: 'boolean' },
      'attachment-url-ttl-ms': { type: 'string' },
      'content-latency-ms': { type: 'string' },
    },
    strict: true,
  });
  const registrations = Math.floor(num('registrations', values.registrations, 3000));
  const seed = Math.floor(num('seed', values.seed, 1));
  const port = Math.floor(num('port', values.port, 0));
  const rps = num('rps', values.rps, 5);
  const penaltyMs = num('penalty-ms', values['penalty-ms'], 30_000);
  const messiness = num('messiness', values.messiness, 0.02);
  const latencyMs = num('latency-ms', values['latency-ms'], 0);
  const offsetTtlMs = num('offset-ttl-ms', values['offset-ttl-ms'], 5 * 60_000);
  const attachmentUrlTtlMs = num('attachment-url-ttl-ms', values['attachment-url-ttl-ms'], 2 * 3600_000);
  const contentLatencyMs = num('content-latency-ms', values['content-latency-ms'], 0);
  let now: Date;
  if (values.now === 'real') now = new Date();
  else {
    now = new Date(values.now ?? DEFAULT_NOW);
    if (Number.isNaN(now.getTime())) {
      process.stderr.write(`emulator: --now must be an ISO timestamp or 'real', got "${values.now}"\n`);
      process.exit(2);
    }
  }
  const baseId = values['base-id'] ?? baseIdForSeed(seed);

  const started = performance.now();
  const data = generateDeltaBase({ seed, registrations, messiness, now });
  const emulator = await startEmulator({
    port,
    token: values.token,
    bases: { [baseId]: data },
    rateLimit: rps > 0 ? { requestsPerSecond: rps, penaltyMs } : false,
    latencyMs,
    offsetTtlMs,
    attachmentContent: values['attachment-content'] === true,
    attachmentUrlTtlMs,
    contentLatencyMs,
  });
  process.stdout.write(JSON.stringify({ url: emulator.url, baseId, token: emulator.token }) + '\n');
  const counts = data.tables.map((t) => `${t.name}: ${t.records.length}`).join(', ');
  process.stderr.write(
    `emulator: ${emulator.url} base ${baseId} (${counts}; ${data.planted.length} planted problems)` +
      `${values['attachment-content'] ? `, attachment content served (URLs valid ${attachmentUrlTtlMs} ms)` : ''} ready in ${Math.round(performance.now() - started)} ms\n`,
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    const s = emulator.stats;
    const downloads = s.contentRequests ? ` and ${s.contentRequests} downloads (${s.contentBytes} bytes)` : '';
    process.stderr.write(`emulator: ${signal}, stopping after ${s.requests} requests${downloads}\n`);
    emulator.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((e: unknown) => {
  process.stderr.write(`emulator: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
