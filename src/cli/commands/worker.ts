/** `airlift worker`: the scheduled two-way sync (graphile-worker). */

import type { Command } from 'commander';
import { runWorker } from '../../worker/worker.ts';
import { log } from '../shared.ts';

/** worker. */
export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description(
      'Run the scheduled two-way sync (graphile-worker, times in UTC): incremental pulls (AIRLIFT_CRON_INCREMENTAL, every 5 minutes by default), ' +
        'a full pull (AIRLIFT_CRON_FULL, nightly at 03:00) and a push of the outbox to Airtable (AIRLIFT_CRON_PUSH, every minute). ' +
        'A one-way source (a directory of exports) gets its pulls only. Stops gracefully on SIGTERM.',
    )
    .option('--once', 'queue each scheduled job once, run what is queued, and stop (exit 1 when a job failed)')
    .action(async (options: { once?: boolean }) => {
      await runWorker({ log, once: Boolean(options.once) });
    });
}
