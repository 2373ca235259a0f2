/** `airlift demo`: the whole two-way sync on an emulated base, nothing to set up. */

import type { Command } from 'commander';
import { log, positiveNumber, wholeNumber } from '../shared.ts';

/** demo. */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'Run the whole two-way sync on an emulated Delta base of ~50,000 registrations, with nothing to set up: pulls, verification, a differential, ' +
        'changes made in PostgreSQL pushed to Airtable and conflicts decided by policy. Exits 1 when a check does not hold.',
    )
    .option('--registrations <n>', 'registrations in the generated base', wholeNumber(1), 50_000)
    .option('--seed <n>', 'generator seed', wholeNumber(0), 1)
    .option('--rps <n>', "the emulator's (raised) rate limit, requests per second", positiveNumber, 100)
    .option('--latency <ms>', 'emulated request latency', wholeNumber(0), 10)
    .option('--keep', 'keep the database in .airlift-demo instead of a throwaway folder')
    .action(async (options: { registrations: number; seed: number; rps: number; latency: number; keep?: boolean }) => {
      const { runDemo } = await import('../../../tools/demo/demo.ts');
      await runDemo({ registrations: options.registrations, seed: options.seed, requestsPerSecond: options.rps, latencyMs: options.latency, keep: Boolean(options.keep), log });
    });
}
