/**
 * A sync test bed: a fresh clone of the migrated database, an emulated
 * Airtable base from the generator, the shipped mapping, and a pull bound
 * to both, as the worker would run it (airlift_sync role, actor set).
 */
import pino from 'pino';
import { AirtableClient } from '../../src/sources/airtable/client.ts';
import { AirtableSource } from '../../src/sources/airtable/source.ts';
import { connect } from '../../src/db/database.ts';
import { loadMapping } from '../../src/mapping.ts';
import { urlWithSession } from '../../src/pipeline/context.ts';
import { runPull, type PullOptions } from '../../src/pipeline/pull.ts';
import { runPush, type PushOptions } from '../../src/pipeline/push.ts';
import { startEmulator, type EmulatorOptions } from '../../tools/emulator/emulator.ts';
import { baseIdForSeed, generateDeltaBase } from '../../tools/generator/generator.ts';
import { cloneTestDatabase } from './db.ts';

export const silentLog = pino({ level: 'silent' });

export async function syncBed(options: { seed?: number; registrations?: number; messiness?: number; emulator?: Partial<EmulatorOptions>; client?: { requestsPerSecond?: number; rateLimitPenaltyMs?: number; maxAttempts?: number } } = {}) {
  const seed = options.seed ?? 11;
  const base = generateDeltaBase({ seed, registrations: options.registrations ?? 300, messiness: options.messiness ?? 0.02 });
  const baseId = baseIdForSeed(seed);
  const emulator = await startEmulator({ bases: { [baseId]: base }, rateLimit: false, ...options.emulator });
  const db = await cloneTestDatabase();
  const mapping = await loadMapping();
  const sql = connect(urlWithSession(db.url, 'airlift_sync', { 'airlift.actor': 'test' }), { max: 4 });
  const admin = connect(db.url, { max: 2 });
  const client = new AirtableClient({
    token: emulator.token,
    baseId,
    endpointUrl: emulator.url,
    requestsPerSecond: options.client?.requestsPerSecond ?? 500,
    rateLimitPenaltyMs: options.client?.rateLimitPenaltyMs ?? 200,
    maxAttempts: options.client?.maxAttempts ?? 4,
    backoffMs: 5,
  });
  /** A pull of the base; `client` pulls through another client of the base (a broken one, a watched one). */
  const pull = (mode: 'full' | 'incremental', { client: through, ...extra }: Partial<PullOptions> & { client?: AirtableClient } = {}) =>
    runPull({ sql, source: new AirtableSource(through ?? client), mapping, mode, actor: 'test', overlapSeconds: 60, log: silentLog, ...extra });
  const push = (extra: Partial<PushOptions> = {}) => runPush({ sql, source: new AirtableSource(client), mapping, actor: 'test', log: silentLog, ...extra });
  const tableCounts = () =>
    Object.fromEntries(base.tables.map((t) => [t.name, emulator.base(baseId).table(t.id).list().length])) as Record<string, number>;
  return {
    seed,
    base,
    baseId,
    emulator,
    db,
    mapping,
    sql,
    admin,
    client,
    pull,
    push,
    tableCounts,
    close: async () => {
      await sql.end();
      await admin.end();
      await emulator.stop();
      await db.drop();
    },
  };
}
export type SyncBed = Awaited<ReturnType<typeof syncBed>>;
