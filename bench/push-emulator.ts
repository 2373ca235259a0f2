/**
 * The Airtable emulator of bench/push.ts, in a process of its own, as
 * Airtable is remote: its work (a RECORD_ID() formula over a few thousand
 * records takes about 0.1 s of CPU) must not stall the event loop of the
 * process that paces the requests. Started by the benchmark with one JSON
 * argument; answers over IPC.
 *
 *   {seed, registrations, requestsPerSecond, penaltyMs, latencyMin, latencyMax, latencySeed}
 *
 * Messages in: {id, op: 'stats' | 'resetStats' | 'count' | 'get' | 'stop', tableId?, ids?}.
 * Messages out: {ready: {url, token, baseId}} once, then {id, result} or {id, error}.
 * 'get' answers {record id: fields keyed by field name, or null when absent}.
 */
import { startEmulator } from '../tools/emulator/emulator.ts';
import { baseIdForSeed, generateDeltaBase } from '../tools/generator/generator.ts';

interface Config {
  seed: number;
  registrations: number;
  requestsPerSecond: number;
  penaltyMs: number;
  latencyMin: number;
  latencyMax: number;
  latencySeed: number;
}
const config = JSON.parse(process.argv[2] ?? '{}') as Config;

/** mulberry32: a small seeded generator, so latencies are repeatable. */
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
const random = seededRandom(config.latencySeed);
const baseId = baseIdForSeed(config.seed);
const emulator = await startEmulator({
  bases: { [baseId]: generateDeltaBase({ seed: config.seed, registrations: config.registrations }) },
  rateLimit: { requestsPerSecond: config.requestsPerSecond, penaltyMs: config.penaltyMs },
  latencyMs: () => config.latencyMin + random() * (config.latencyMax - config.latencyMin),
});

type Message = { id: number; op: string; tableId?: string; ids?: string[] };
process.on('message', async (m: Message) => {
  try {
    let result: unknown;
    if (m.op === 'stats') result = emulator.stats;
    else if (m.op === 'resetStats') emulator.resetStats();
    else if (m.op === 'count') result = emulator.base(baseId).table(m.tableId!).list().length;
    else if (m.op === 'get') {
      const table = emulator.base(baseId).table(m.tableId!);
      result = Object.fromEntries(m.ids!.map((id) => [id, table.get(id)?.fields ?? null]));
    } else if (m.op === 'stop') {
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
process.send!({ ready: { url: emulator.url, token: emulator.token, baseId } });
